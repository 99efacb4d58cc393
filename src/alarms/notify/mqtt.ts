/**
 * Alarm notifications over MQTT: every change is published at QoS 1 to
 * `<topicPrefix>/<severity>/<subject-kind>/<subject-id>` (default prefix
 * `gridhead/v1/_alarms`), payload `{ "change": …, "alarm": {…} }` (protocols/mqtt/README.md).
 *
 * Its own client (not the telemetry session: that one holds messages for backpressure, and
 * an alarm must not wait behind telemetry). Bounded: messages wait in our queue only while
 * the broker is unreachable or `maxInflight` PUBACKs are outstanding; beyond
 * `queueCapacity` the oldest is dropped, counted and reported. Nothing is handed to mqtt.js
 * while disconnected, so its offline queue never grows.
 */
import type { MqttClient } from 'mqtt';
import { connectMqtt, type MqttConnection } from '../../../protocols/mqtt/connection.js';
import { disconnect } from '../../../protocols/mqtt/disconnect.js';
import type { AlarmNotice } from '../view.js';

export interface MqttAlarmNotifierOptions extends MqttConnection {
  readonly clientId: string;
  readonly topicPrefix: string;
  /** Default 10,000. */
  readonly queueCapacity?: number;
  /** PUBACKs awaited at once. Default 100. */
  readonly maxInflight?: number;
  readonly onProblem?: (problem: { readonly code: 'QUEUE_FULL' | 'PUBLISH_FAILED' | 'BROKER_ERROR'; readonly message: string }) => void;
}

export interface MqttAlarmNotifierStats {
  readonly queued: number;
  readonly published: number;
  readonly dropped: number;
  readonly failed: number;
}

/** `<prefix>/<severity>/<kind>/<id>`; characters MQTT reserves in topic levels are replaced by `_`. */
export function alarmTopic(prefix: string, notice: AlarmNotice): string {
  const level = (s: string) => s.replace(/[/+#]/g, '_').replaceAll(String.fromCharCode(0), '_');
  const { severity, subject } = notice.alarm;
  return `${prefix}/${level(severity)}/${level(subject.kind)}/${level(subject.id)}`;
}

export class MqttAlarmNotifier {
  private readonly queue: { topic: string; payload: string }[] = [];
  private client: MqttClient | undefined;
  private inflight = 0;
  private counts = { published: 0, dropped: 0, failed: 0 };
  private readonly capacity: number;
  private readonly maxInflight: number;

  constructor(private readonly options: MqttAlarmNotifierOptions) {
    this.capacity = options.queueCapacity ?? 10_000;
    this.maxInflight = options.maxInflight ?? 100;
  }

  /** Connects in the background; publishing starts once connected and resumes after every reconnect. `close` then `start` again is fine. */
  start(): void {
    if (this.client !== undefined) return;
    // A closed client's unanswered publishes are its own: they no longer hold this one's window.
    this.inflight = 0;
    // Only publishes: nothing for the broker to keep between connections.
    const client = connectMqtt(this.options, { clientId: this.options.clientId, persistentSession: false });
    client.on('connect', () => { this.pump(); });
    client.on('error', (err) => { this.report('BROKER_ERROR', err.message); });
    this.client = client;
  }

  notify(notice: AlarmNotice): void {
    this.publish(alarmTopic(this.options.topicPrefix, notice), notice);
  }

  /** Queues any JSON payload for a topic of the caller's: fee-control notices ride the same bounded QoS 1 client. */
  publish(topic: string, payload: unknown): void {
    if (this.queue.length >= this.capacity) {
      this.queue.shift();
      this.counts.dropped += 1;
      this.report('QUEUE_FULL', `${this.capacity} messages waiting for the broker; dropped the oldest`);
    }
    this.queue.push({ topic, payload: JSON.stringify(payload) });
    this.pump();
  }

  stats(): MqttAlarmNotifierStats {
    return { queued: this.queue.length, ...this.counts };
  }

  isConnected(): boolean {
    return this.client?.connected ?? false;
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) await disconnect(client);
  }

  private pump(): void {
    const client = this.client;
    if (client === undefined) return;
    while (client.connected && this.inflight < this.maxInflight) {
      const next = this.queue.shift();
      if (next === undefined) return;
      this.inflight += 1;
      client.publish(next.topic, next.payload, { qos: 1 }, (err) => {
        if (client === this.client) this.inflight -= 1;
        if (err) {
          this.counts.failed += 1;
          this.report('PUBLISH_FAILED', err.message);
        } else {
          this.counts.published += 1;
        }
        this.pump();
      });
    }
  }

  private report(code: 'QUEUE_FULL' | 'PUBLISH_FAILED' | 'BROKER_ERROR', message: string): void {
    try {
      this.options.onProblem?.({ code, message });
    } catch (err) {
      process.emitWarning(`MQTT alarm notifier onProblem threw while reporting ${code}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
