/**
 * DLMS pushes over MQTT: a meter (or its gateway) publishes each raw APDU, exactly the bytes
 * it would put behind a TCP wrapper header, as a binary payload to
 * `<prefix>/<terminalId>/dlms/notify` with QoS 1.
 *
 * This is its own mqtt.js client rather than a route through the MQTT adapter: the adapter
 * owns the JSON telemetry convention (its filters are `<prefix>/+/telemetry|status`, so the
 * two never see each other's messages) and dead-letters anything else; binary APDUs need
 * none of that and must not depend on it. It connects like every station client
 * (protocols/mqtt/connection.ts: same login, TLS, keepalive) with a persistent session, and
 * acknowledges by the station's one rule (protocols/mqtt/handOver.ts): the PUBACK waits
 * until the handler settled; a failing handler is retried with backoff, then the push is
 * dead-lettered and acknowledged; a push interrupted by shutdown is not acknowledged, so the
 * broker redelivers it. A head-end restart or a slow pipeline loses nothing and buffers
 * nothing beyond what the broker holds.
 *
 * A push the receiver cannot use is published, as every refused MQTT message is, to the
 * dead-letter topic (protocols/mqtt/deadLetter.ts records, QoS 1); at most
 * `maxPendingDeadLetters` wait for their PUBACK, more are counted and dropped.
 */
import type { IPublishPacket, MqttClient } from 'mqtt';
import { connectMqtt, DEFAULT_KEEPALIVE_SEC, type MqttConnection } from '../../mqtt/connection.js';
import type { DeadLetterInput } from '../../mqtt/deadLetter.js';
import { DeadLetterPublisher } from '../../mqtt/deadLetterPublisher.js';
import { disconnect } from '../../mqtt/disconnect.js';
import { checkHoldWithinKeepalive, handOverOptions, SinkHandOver, type HandOverOptions } from '../../mqtt/handOver.js';
import { groupFilters } from '../../mqtt/topics.js';

export interface MqttPushOrigin {
  readonly kind: 'mqtt';
  /** The terminal id from the topic; the receiver checks it against the sender's identity. */
  readonly terminalId: string;
}

export interface DlmsPushMqttOptions extends MqttConnection, Partial<HandOverOptions> {
  readonly clientId: string;
  /** e.g. 'gridhead/v1'. */
  readonly topicPrefix: string;
  /**
   * Subscribe through this shared subscription group (protocols/mqtt/topics.ts `sharedFilter`):
   * each push goes to one of the group's sessions. Default: a plain filter.
   */
  readonly shareGroup?: string;
  /** Larger payloads are acknowledged and dropped (reported); default 4,096. */
  readonly maxPayloadBytes?: number;
  /**
   * Handles one push; a rejection is retried by the acknowledgement rule. Every attempt for
   * one message gets the same `apdu` object, so a handler can keep what it decoded for the
   * retry (a ciphered push's invocation counter is spent once deciphered).
   */
  readonly onApdu: (apdu: Uint8Array, origin: MqttPushOrigin) => void | Promise<void>;
  /** Where `deadLetter` publishes; without it dead letters are counted as dropped. */
  readonly deadLetterTopic?: string;
  /** Dead letters waiting for their PUBACK at most (default 1,000). */
  readonly maxPendingDeadLetters?: number;
  /** Problems; `handler-error` once per failed attempt. */
  readonly onProblem?: (code: DlmsPushMqttProblem, detail: string) => void;
}

export type DlmsPushMqttProblem = 'bad-topic' | 'too-large' | 'handler-error' | 'broker-error';

export function dlmsNotifyTopic(prefix: string, terminalId: string): string {
  return `${prefix}/${terminalId}/dlms/notify`;
}

function dlmsNotifyFilter(prefix: string): string {
  return `${prefix}/+/dlms/notify`;
}

const TERMINAL_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export interface DlmsPushMqttStats {
  readonly deadLettered: number;
  /** Dead letters not published: no topic, no connection, or too many waiting. */
  readonly deadLetterDropped: number;
}

export class DlmsPushMqttSubscriber {
  private client: MqttClient | undefined;
  private readonly stopping = new AbortController();
  private readonly deadLetters: DeadLetterPublisher;
  private readonly handOvers: SinkHandOver;

  constructor(private readonly o: DlmsPushMqttOptions) {
    const rule = handOverOptions(o);
    // Each push is held until handled: mqtt.js reads nothing else meanwhile, not even the PINGRESP.
    checkHoldWithinKeepalive(rule, o.keepaliveSec ?? DEFAULT_KEEPALIVE_SEC);
    this.handOvers = new SinkHandOver(rule);
    this.deadLetters = new DeadLetterPublisher({
      topic: o.deadLetterTopic,
      maxPending: o.maxPendingDeadLetters ?? 1_000,
      onFailed: (_input, err) => { this.report('broker-error', `dead letter not published: ${err.message}`); },
    });
  }

  get stats(): DlmsPushMqttStats {
    return { deadLettered: this.deadLetters.deadLettered, deadLetterDropped: this.deadLetters.dropped };
  }

  /** Publishes a refused push's record to the dead-letter topic; false when it was dropped (counted). */
  deadLetter(input: DeadLetterInput): boolean {
    return this.deadLetters.publish(this.client, input);
  }

  /** Connects and subscribes; resolves once the broker granted the subscription. */
  start(signal?: AbortSignal): Promise<void> {
    const o = this.o;
    // A persistent session keeps QoS 1 pushes queued while we are away.
    const client = connectMqtt(o, { clientId: o.clientId, persistentSession: true });
    this.client = client;
    client.handleMessage = (packet: IPublishPacket, done: (error?: Error) => void) => {
      if (this.stopping.signal.aborted) {
        done(NO_PUBACK); // not acknowledged: redelivered to our next session
        return;
      }
      this.handle(packet).then((acknowledge) => { done(acknowledge ? undefined : NO_PUBACK); }, (err: unknown) => {
        // A bug of ours must not stall the session by leaving the push unacknowledged.
        this.report('handler-error', `internal: ${err instanceof Error ? err.message : String(err)}`);
        done();
      });
    };
    client.on('error', (err) => { this.report('broker-error', err.message); });
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => { reject(new Error('MQTT subscription for DLMS pushes aborted')); };
      signal?.addEventListener('abort', onAbort, { once: true });
      const subscribe = () => {
        client.subscribe([...groupFilters([dlmsNotifyFilter(o.topicPrefix)], o.shareGroup)], { qos: 1 }, (err) => {
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
    this.stopping.abort();
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) await disconnect(client);
  }

  /** Whether to acknowledge the push: false only when shutdown interrupted its handling. */
  private async handle(packet: IPublishPacket): Promise<boolean> {
    const levels = packet.topic.split('/');
    const prefixLevels = this.o.topicPrefix.split('/');
    const terminalId = levels[prefixLevels.length];
    if (levels.length !== prefixLevels.length + 3 || terminalId === undefined || !TERMINAL_ID.test(terminalId)) {
      this.report('bad-topic', packet.topic);
      return true;
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const max = this.o.maxPayloadBytes ?? 4_096;
    if (payload.length === 0 || payload.length > max) {
      this.report('too-large', `${payload.length} bytes from ${terminalId} (limit 1..${max})`);
      return true;
    }
    const receivedAt = Date.now();
    const apdu = new Uint8Array(payload.buffer, payload.byteOffset, payload.length);
    const result = await this.handOvers.run(() => this.o.onApdu(apdu, { kind: 'mqtt', terminalId }), this.stopping.signal, (failure, attempt) => {
      this.report('handler-error', `attempt ${attempt}: ${failure.reason}`);
    });
    if (result === 'aborted') return false;
    if (!result.ok) this.deadLetter({ topic: packet.topic, terminalId, code: result.failure.code, reason: result.failure.reason, receivedAt, payload });
    return true;
  }

  private report(code: DlmsPushMqttProblem, detail: string): void {
    try {
      this.o.onProblem?.(code, detail);
    } catch {
      // A failing reporter must not stall the session.
    }
  }
}

/** Passed to mqtt.js's `handleMessage` callback: go on without a PUBACK. */
const NO_PUBACK = new Error('not acknowledged: the broker redelivers it to our next session');
