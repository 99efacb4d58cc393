/**
 * The notifiers of alarm changes, built from the `alarms` configuration: MQTT (when
 * enabled) and one webhook notifier per configured receiver. `notify` only enqueues, so a
 * slow or dead receiver never delays alarm handling. Under a leader lease (`fencing`) a
 * change reaches them only once the leader marked it under its token (fencing.ts).
 *
 * They deliver between `start` and `stop`, which the leader's duty roster calls: with several
 * nodes only the leader connects its notifier client to the broker and posts to the webhooks.
 * What is marked while they are stopped (the moments between gaining the lease and the
 * roster's start) waits in their bounded queues until they start.
 */
import type { AlarmsConfig } from '../../config/schema.js';
import type { Logger } from '../../observe/logger.js';
import { LogThrottle } from '../../observe/logger.js';
import type { AlarmChange } from '../service.js';
import { alarmView } from '../view.js';
import { FencedNotices, type AlarmNotificationLog, type FencedNoticeStats } from './fencing.js';
import type { Leadership } from '../../cluster/fencing.js';
import { MqttAlarmNotifier, type MqttAlarmNotifierOptions } from './mqtt.js';
import { WebhookNotifier } from './webhook.js';

export interface AlarmNotifiers {
  notify(change: AlarmChange): void;
  /** Begins delivering (the MQTT client connects); a start while started does nothing. */
  start(): void;
  /** Stops delivering, once the changes offered so far went through the leader gate; `start` may follow. */
  stop(): Promise<void>;
  readonly mqtt: MqttAlarmNotifier | undefined;
  readonly webhooks: readonly WebhookNotifier[];
  /** What the leader gate let through or held back; undefined without a leader lease. */
  fencing(): FencedNoticeStats | undefined;
  close(): Promise<void>;
}

/** The leader lease the node runs under and where the leader marks what it notifies. */
export interface NotifierFencing {
  readonly leadership: Leadership;
  readonly log: AlarmNotificationLog;
}

export function createAlarmNotifiers(
  config: AlarmsConfig,
  broker: Omit<MqttAlarmNotifierOptions, 'topicPrefix' | 'onProblem'>,
  logger: Logger,
  fencing?: NotifierFencing,
): AlarmNotifiers {
  const throttle = new LogThrottle(60_000);
  const mqtt = config.mqtt.enabled
    ? new MqttAlarmNotifier({
        ...broker,
        topicPrefix: config.mqtt.topicPrefix,
        onProblem: (p) => {
          const suppressed = throttle.pass(`mqtt:${p.code}`);
          if (suppressed >= 0) logger.warn({ code: p.code, reason: p.message, suppressed }, 'alarm MQTT notification problem');
        },
      })
    : undefined;
  const webhooks = config.webhooks.map((w) => new WebhookNotifier(w, {
    onProblem: (p) => {
      const suppressed = throttle.pass(`webhook:${p.url}:${p.code}`);
      // The URL may carry a token in its query: log the origin and path only.
      if (suppressed >= 0) logger.warn({ webhook: redact(p.url), code: p.code, reason: p.message, suppressed }, 'alarm webhook problem');
    },
  }));
  const send = (change: AlarmChange): void => {
    const notice = { change: change.kind, alarm: alarmView(change.alarm) };
    mqtt?.notify(notice);
    for (const w of webhooks) w.notify(notice);
  };
  const gate = fencing === undefined || (mqtt === undefined && webhooks.length === 0) ? undefined : new FencedNotices({
    ...fencing, capacity: config.storeQueueMax, send,
    onProblem: (p) => {
      // Once a minute at most per kind: an old leader that woke up refuses every change until it stops.
      const suppressed = throttle.pass(`fencing:${p.code}`);
      if (suppressed >= 0) logger.warn({ code: p.code, reason: p.message, err: p.err, suppressed }, 'alarm notification held back');
    },
  });
  return {
    mqtt,
    webhooks,
    notify(change) {
      if (gate === undefined) send(change);
      else gate.offer(change);
    },
    fencing: () => gate?.stats(),
    start() {
      mqtt?.start();
      for (const w of webhooks) w.start();
    },
    stop,
    close: stop,
  };
  async function stop(): Promise<void> {
    await gate?.idle();
    await Promise.allSettled([mqtt?.close(), ...webhooks.map((w) => w.close())]);
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}
