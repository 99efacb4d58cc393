/**
 * The notifiers of alarm changes, built from the `alarms` configuration: MQTT (when
 * enabled) and one webhook notifier per configured receiver. `notify` only enqueues, so a
 * slow or dead receiver never delays alarm handling.
 */
import type { AlarmsConfig } from '../../config/schema.js';
import type { Logger } from '../../observe/logger.js';
import { LogThrottle } from '../../observe/logger.js';
import type { AlarmChange } from '../service.js';
import { alarmView } from '../view.js';
import { MqttAlarmNotifier, type MqttAlarmNotifierOptions } from './mqtt.js';
import { WebhookNotifier } from './webhook.js';

export interface AlarmNotifiers {
  notify(change: AlarmChange): void;
  readonly mqtt: MqttAlarmNotifier | undefined;
  readonly webhooks: readonly WebhookNotifier[];
  close(): Promise<void>;
}

export function startAlarmNotifiers(
  config: AlarmsConfig,
  broker: Omit<MqttAlarmNotifierOptions, 'topicPrefix' | 'onProblem'>,
  logger: Logger,
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
  mqtt?.start();
  const webhooks = config.webhooks.map((w) => new WebhookNotifier(w, {
    onProblem: (p) => {
      const suppressed = throttle.pass(`webhook:${p.url}:${p.code}`);
      // The URL may carry a token in its query: log the origin and path only.
      if (suppressed >= 0) logger.warn({ webhook: redact(p.url), code: p.code, reason: p.message, suppressed }, 'alarm webhook problem');
    },
  }));
  return {
    mqtt,
    webhooks,
    notify(change) {
      const notice = { change: change.kind, alarm: alarmView(change.alarm) };
      mqtt?.notify(notice);
      for (const w of webhooks) w.notify(notice);
    },
    async close() {
      await Promise.allSettled([mqtt?.close(), ...webhooks.map((w) => w.close())]);
    },
  };
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}
