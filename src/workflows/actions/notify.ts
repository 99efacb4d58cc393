/**
 * `notify`: a notice from a process to the people and systems that hear the station's alarms,
 * through the alarm notifiers' own delivery (src/alarms/notify): the signed, retried, bounded
 * webhook queues and the QoS 1 MQTT client, as fee-control notices ride them. Like an alarm
 * change it only enqueues: a dead receiver never holds the process up.
 *
 * The notice's `id` is the step's key. Delivery is at least once (a webhook retried after a
 * lost response, the step run again after a restart before its output was recorded), so a
 * receiver drops a notice whose id it has seen.
 *
 * MQTT: `<alarms.mqtt.topicPrefix>/<severity>/workflow/<target>` beside the alarms'
 * `<prefix>/<severity>/<subject-kind>/<subject-id>`, so a subscriber to `<prefix>/#` hears both.
 */
import { SEVERITIES, type Severity } from '../../domain/alarm.js';
import type { AlarmNotifiers } from '../../alarms/notify/index.js';
import type { WorkflowAction } from '../model.js';
import { checkNotAborted, Params } from './params.js';

/** What a receiver gets. */
export interface WorkflowNotice {
  readonly type: 'workflow';
  /** The step's key: the same on every delivery of this step's notice. */
  readonly id: string;
  readonly processKey: string;
  readonly instanceId: string;
  readonly elementId: string;
  readonly severity: Severity;
  /** Who it is for, as the process names them (billing, dispatch, a customer reference…). */
  readonly target: string;
  readonly message: string;
  /** ISO 8601. */
  readonly at: string;
}

/** Where notices go: the alarm notifiers, as `alarmNotifierChannel` wraps them. Answers how many channels took it. */
export interface NoticeChannel {
  post(notice: WorkflowNotice): number;
}

/** The alarm notifiers as a notice channel: every webhook receiver and the MQTT client, when enabled. */
export function alarmNotifierChannel(notifiers: Pick<AlarmNotifiers, 'mqtt' | 'webhooks'>, topicPrefix: string): NoticeChannel {
  return {
    post(notice) {
      notifiers.mqtt?.publish(noticeTopic(topicPrefix, notice), notice);
      for (const hook of notifiers.webhooks) hook.post(notice);
      return notifiers.webhooks.length + (notifiers.mqtt === undefined ? 0 : 1);
    },
  };
}

/** `<prefix>/<severity>/workflow/<target>`; characters MQTT reserves in a topic level become `_`. */
export function noticeTopic(prefix: string, notice: Pick<WorkflowNotice, 'severity' | 'target'>): string {
  const level = (s: string): string => s.replace(/[/+#\0]/g, '_');
  return `${prefix}/${level(notice.severity)}/workflow/${level(notice.target)}`;
}

export function notifyAction(channel: NoticeChannel, now: () => number): WorkflowAction {
  const name = 'notify';
  return {
    name,
    description: 'Posts a notice through the alarm notifiers (webhooks, MQTT); its id is the step\'s key, so receivers drop a repeat.',
    params: [
      { name: 'message', required: true, description: 'The text of the notice.' },
      { name: 'severity', required: false, description: `One of ${SEVERITIES.join(', ')} (default info).` },
      { name: 'target', required: false, description: 'Who it is for, e.g. billing (default: the process key).' },
    ],
    // Nothing to await (the channels only enqueue), yet a bad parameter must be a rejection like
    // every other action's, never a throw out of run().
    run: (context) => new Promise((resolve) => {
      const p = new Params(name, context);
      const message = p.text('message');
      const severity = p.choice('severity', SEVERITIES, 'info');
      const target = p.optionalText('target', 64) ?? context.processKey;
      checkNotAborted(name, context.signal);
      const channels = channel.post({
        type: 'workflow', id: context.stepKey, processKey: context.processKey, instanceId: context.instanceId, elementId: context.elementId,
        severity, target, message, at: new Date(now()).toISOString(),
      });
      resolve({ notified: channels > 0, notifiedChannels: channels });
    }),
  };
}
