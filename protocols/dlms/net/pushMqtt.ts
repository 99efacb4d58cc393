/**
 * DLMS pushes over MQTT: a meter (or its gateway) publishes each raw APDU, exactly the bytes
 * it would put behind a TCP wrapper header, as a binary payload to
 * `<prefix>/<terminalId>/dlms/notify` with QoS 1.
 *
 * This is its own mqtt.js client rather than a route through the MQTT adapter: the adapter
 * owns the JSON telemetry convention (its filters are `<prefix>/+/telemetry|status`, so the
 * two never see each other's messages) and dead-letters anything else; binary APDUs need
 * none of that and must not depend on it. Like the adapter it keeps a persistent session and
 * withholds the PUBACK until the APDU was handled, so a head-end restart or a slow pipeline
 * loses nothing and buffers nothing beyond what the broker holds.
 *
 * A push the receiver cannot use is published, as every refused MQTT message is, to the
 * dead-letter topic (protocols/mqtt/deadLetter.ts records, QoS 1); at most
 * `maxPendingDeadLetters` wait for their PUBACK, more are counted and dropped.
 */
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { encodeDeadLetter, type DeadLetterInput } from '../../mqtt/deadLetter.js';

export interface MqttPushOrigin {
  readonly kind: 'mqtt';
  /** The terminal id from the topic; the receiver checks it against the sender's identity. */
  readonly terminalId: string;
}

export interface DlmsPushMqttOptions {
  readonly url: string;
  readonly clientId: string;
  /** e.g. 'gridhead/v1'. */
  readonly topicPrefix: string;
  /** Larger payloads are acknowledged and dropped (reported); default 4,096. */
  readonly maxPayloadBytes?: number;
  /** Extra mqtt.js options (credentials, TLS). */
  readonly clientOptions?: IClientOptions;
  readonly onApdu: (apdu: Uint8Array, origin: MqttPushOrigin) => void | Promise<void>;
  /** Where `deadLetter` publishes; without it dead letters are counted as dropped. */
  readonly deadLetterTopic?: string;
  /** Dead letters waiting for their PUBACK at most (default 1,000). */
  readonly maxPendingDeadLetters?: number;
  readonly onProblem?: (code: 'bad-topic' | 'too-large' | 'handler-error' | 'broker-error', detail: string) => void;
}

export function dlmsNotifyTopic(prefix: string, terminalId: string): string {
  return `${prefix}/${terminalId}/dlms/notify`;
}

export function dlmsNotifyFilter(prefix: string): string {
  return `${prefix}/+/dlms/notify`;
}

const TERMINAL_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export interface DlmsPushMqttStats {
  deadLettered: number;
  /** Dead letters not published: no topic, no connection, or too many waiting. */
  deadLetterDropped: number;
}

export class DlmsPushMqttSubscriber {
  readonly stats: DlmsPushMqttStats = { deadLettered: 0, deadLetterDropped: 0 };
  private client: MqttClient | undefined;
  private stopping = false;
  private pendingDeadLetters = 0;

  constructor(private readonly o: DlmsPushMqttOptions) {}

  /** Publishes a refused push's record to the dead-letter topic; false when it was dropped (counted). */
  deadLetter(input: DeadLetterInput): boolean {
    const client = this.client;
    if (this.o.deadLetterTopic === undefined || client === undefined || this.pendingDeadLetters >= (this.o.maxPendingDeadLetters ?? 1_000)) {
      this.stats.deadLetterDropped += 1;
      return false;
    }
    this.pendingDeadLetters += 1;
    this.stats.deadLettered += 1;
    // mqtt.js queues it while offline; the callback bounds what waits.
    client.publish(this.o.deadLetterTopic, encodeDeadLetter(input), { qos: 1 }, (err) => {
      this.pendingDeadLetters -= 1;
      if (err) this.report('broker-error', `dead letter not published: ${err.message}`);
    });
    return true;
  }

  /** Connects and subscribes; resolves once the broker granted the subscription. */
  start(signal?: AbortSignal): Promise<void> {
    const o = this.o;
    const client = mqtt.connect(o.url, {
      clientId: o.clientId,
      // MQTT 3.1.1 §3.1.2.4: a persistent session keeps QoS 1 pushes queued while we are away.
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 1_000,
      connectTimeout: 30_000,
      ...o.clientOptions,
    });
    this.client = client;
    client.handleMessage = (packet: IPublishPacket, done: (error?: Error) => void) => {
      if (this.stopping) {
        done(new Error('stopping')); // not acknowledged: redelivered to our next session
        return;
      }
      void this.handle(packet).finally(() => { done(); });
    };
    client.on('error', (err) => { this.report('broker-error', err.message); });
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => { reject(new Error('MQTT subscription for DLMS pushes aborted')); };
      signal?.addEventListener('abort', onAbort, { once: true });
      const subscribe = () => {
        client.subscribe(dlmsNotifyFilter(o.topicPrefix), { qos: 1 }, (err) => {
          if (err) this.report('broker-error', `subscribe refused: ${err.message}`);
          else {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          }
        });
      };
      // Subscribe on every connect: a broker that lost our session must learn the filter again.
      client.on('connect', subscribe);
    });
  }

  async close(): Promise<void> {
    this.stopping = true;
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) await client.endAsync(true);
  }

  private async handle(packet: IPublishPacket): Promise<void> {
    const levels = packet.topic.split('/');
    const prefixLevels = this.o.topicPrefix.split('/');
    const terminalId = levels[prefixLevels.length];
    if (levels.length !== prefixLevels.length + 3 || terminalId === undefined || !TERMINAL_ID.test(terminalId)) {
      this.report('bad-topic', packet.topic);
      return;
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const max = this.o.maxPayloadBytes ?? 4_096;
    if (payload.length === 0 || payload.length > max) {
      this.report('too-large', `${payload.length} bytes from ${terminalId} (limit 1..${max})`);
      return;
    }
    try {
      await this.o.onApdu(new Uint8Array(payload.buffer, payload.byteOffset, payload.length), { kind: 'mqtt', terminalId });
    } catch (err) {
      this.report('handler-error', err instanceof Error ? err.message : String(err));
    }
  }

  private report(code: 'bad-topic' | 'too-large' | 'handler-error' | 'broker-error', detail: string): void {
    try {
      this.o.onProblem?.(code, detail);
    } catch {
      // A failing reporter must not stall the session.
    }
  }
}
