/**
 * The cluster feed's MQTT client: publishes the readings this node committed and hands the
 * other nodes' to `apply`. One client per node with its own persistent session (clean=0,
 * MQTT 3.1.1 §3.1.2.4), so the broker keeps what the others publish while this node's
 * connection is down, and QoS 1 both ways.
 *
 * The feed is a view, the store is the record: a batch is never retried or spooled here.
 * At most `maxPendingMessages` feed messages await their PUBACK (mqtt.js holds them, and
 * queues them while the broker is away); a batch beyond that, or before the client started,
 * is dropped and counted in `dropped`. The other nodes' live state then misses those
 * values until the meter's next reading; nothing stored is affected.
 *
 * What comes in is decoded (codec.ts) and applied one message at a time: the PUBACK goes
 * out once `apply` settled. A message that does not decode is counted, reported and
 * acknowledged (a retry would fail the same way); a message of this node's own is skipped.
 */
import type { IPublishPacket, MqttClient } from 'mqtt';
import { connectMqtt, type MqttConnection } from '../../../protocols/mqtt/connection.js';
import { disconnect } from '../../../protocols/mqtt/disconnect.js';
import type { Reading } from '../../domain/index.js';
import { decodeFeed, encodeFeed, feedFilter, feedTopic, parseFeedTopic, type FeedErrorCode } from './codec.js';

export interface ClusterFeedOptions {
  readonly connection: MqttConnection;
  /** This node's feed session (src/cluster/mqttClients.ts). */
  readonly clientId: string;
  readonly topicPrefix: string;
  /** This node's id: written into what it publishes, and how it recognises its own messages. */
  readonly node: string;
  /** Readings in one message, at most (`cluster.feed.maxReadingsPerMessage`); the decoder's limit too. */
  readonly maxReadingsPerMessage: number;
  /** Messages awaiting the broker's PUBACK, at most (`cluster.feed.maxPendingMessages`). */
  readonly maxPendingMessages: number;
  /** The transformer area a terminal's readings are published under; null: none. */
  readonly areaOf: (terminalId: string) => string | null;
  /** Readings another node committed. A rejection is counted as `applyFailed` and the message still acknowledged. */
  readonly apply: (readings: readonly Reading[], from: string) => void | Promise<void>;
  readonly onProblem: (problem: FeedProblem) => void;
}

export type FeedProblemCode = FeedErrorCode | 'DROPPED' | 'PUBLISH_FAILED' | 'APPLY_FAILED' | 'BROKER_ERROR' | 'SUBSCRIBE_REFUSED';

export interface FeedProblem {
  readonly code: FeedProblemCode;
  readonly detail: string;
}

export interface ClusterFeedStats {
  /** Readings handed to the broker. */
  readonly published: number;
  readonly publishedMessages: number;
  /** Readings not published: `maxPendingMessages` already waiting, or no client yet. */
  readonly dropped: number;
  /** Messages the broker or the connection failed after they were handed over. */
  readonly publishFailed: number;
  /** Messages awaiting their PUBACK now. */
  readonly pending: number;
  /** Readings of other nodes applied. */
  readonly applied: number;
  /** Messages of other nodes received (good or not), and of this node's own, skipped. */
  readonly received: number;
  readonly own: number;
  /** Messages that did not decode. */
  readonly bad: number;
  readonly applyFailed: number;
}

export class ClusterFeed {
  #client: MqttClient | undefined;
  #pending = 0;
  readonly #stats = { published: 0, publishedMessages: 0, dropped: 0, publishFailed: 0, applied: 0, received: 0, own: 0, bad: 0, applyFailed: 0 };
  readonly #stopping = new AbortController();

  constructor(private readonly o: ClusterFeedOptions) {}

  stats(): ClusterFeedStats {
    return { ...this.#stats, pending: this.#pending };
  }

  /** Whether the client holds a connection to the broker now. */
  isConnected(): boolean {
    return this.#client?.connected ?? false;
  }

  /**
   * Connects and subscribes to every node's feed; resolves once the broker granted the
   * subscription (rejects when `signal` aborts first: the client keeps trying meanwhile).
   */
  start(signal?: AbortSignal): Promise<void> {
    if (this.#client !== undefined) throw new Error('the cluster feed is already started');
    const client = connectMqtt(this.o.connection, { clientId: this.o.clientId, persistentSession: true, manualConnect: true });
    this.#client = client;
    client.handleMessage = (packet: IPublishPacket, done: (error?: Error) => void) => {
      if (this.#stopping.signal.aborted) {
        done(NO_PUBACK);
        return;
      }
      void this.#receive(packet).then(() => { done(); });
    };
    client.on('error', (err) => { this.#report('BROKER_ERROR', err.message); });
    const filter = feedFilter(this.o.topicPrefix);
    const subscribed = new Promise<void>((resolve, reject) => {
      // Every connect: a broker that lost the session (restarted without persistence) must learn the filter again.
      client.on('connect', (connack) => {
        if (connack.sessionPresent) {
          resolve();
          return;
        }
        client.subscribe(filter, { qos: 1 }, (err) => {
          if (err === null) resolve();
          else this.#report('SUBSCRIBE_REFUSED', `${filter}: ${err.message}`);
        });
      });
      signal?.addEventListener('abort', () => { reject(new Error(`the broker did not grant ${filter} in time`, { cause: signal.reason })); }, { once: true });
    });
    client.connect();
    return subscribed;
  }

  /**
   * Publishes a committed batch, by transformer area, in messages of at most
   * `maxReadingsPerMessage` readings. Never throws and never waits: what cannot be handed
   * to the client now is dropped and counted.
   */
  publish(batch: readonly Reading[]): void {
    const byArea = new Map<string | null, Reading[]>();
    for (const r of batch) {
      const area = this.o.areaOf(r.source.terminalId);
      const list = byArea.get(area);
      if (list === undefined) byArea.set(area, [r]);
      else list.push(r);
    }
    const max = this.o.maxReadingsPerMessage;
    for (const [area, readings] of byArea) {
      for (let i = 0; i < readings.length; i += max) this.#send(area, readings.length <= max ? readings : readings.slice(i, i + max));
    }
  }

  /** Disconnects; what others publish meanwhile waits in this node's session. */
  async close(): Promise<void> {
    this.#stopping.abort();
    const client = this.#client;
    if (client !== undefined) await disconnect(client);
  }

  #send(area: string | null, readings: readonly Reading[]): void {
    const client = this.#client;
    if (client === undefined || this.#stopping.signal.aborted || this.#pending >= this.o.maxPendingMessages) {
      this.#stats.dropped += readings.length;
      this.#report('DROPPED', client === undefined || this.#stopping.signal.aborted
        ? 'the feed client is not running'
        : `${this.o.maxPendingMessages} feed messages already await the broker (cluster.feed.maxPendingMessages)`);
      return;
    }
    this.#pending += 1;
    this.#stats.published += readings.length;
    this.#stats.publishedMessages += 1;
    client.publish(feedTopic(this.o.topicPrefix, area), encodeFeed(this.o.node, readings), { qos: 1 }, (err) => {
      this.#pending -= 1;
      if (err) {
        this.#stats.publishFailed += 1;
        this.#report('PUBLISH_FAILED', err.message);
      }
    });
  }

  async #receive(packet: IPublishPacket): Promise<void> {
    this.#stats.received += 1;
    const topic = parseFeedTopic(this.o.topicPrefix, packet.topic);
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const decoded = topic.ok ? decodeFeed(payload, { maxReadings: this.o.maxReadingsPerMessage }) : topic;
    if (!decoded.ok) {
      this.#stats.bad += 1;
      this.#report(decoded.error.code, `${packet.topic}: ${decoded.error.message}`);
      return;
    }
    const { node, readings } = decoded.message;
    if (node === this.o.node) {
      this.#stats.own += 1;
      return;
    }
    try {
      await this.o.apply(readings, node);
      this.#stats.applied += readings.length;
    } catch (err) {
      this.#stats.applyFailed += 1;
      this.#report('APPLY_FAILED', `from ${node}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  #report(code: FeedProblemCode, detail: string): void {
    try {
      this.o.onProblem({ code, detail });
    } catch {
      // A failing reporter must not stall the feed.
    }
  }
}

/** Passed to mqtt.js's `handleMessage` callback: go on without a PUBACK (the broker redelivers to our next session). */
const NO_PUBACK = new Error('not acknowledged: stopping');
