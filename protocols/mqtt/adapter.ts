/**
 * The MQTT push adapter over mqtt.js v5: one persistent-session client that subscribes to
 * every terminal's telemetry, status and events and hands parsed batches to a PushSink.
 *
 * Acknowledge only what is safe: a QoS 1 message is acknowledged (PUBACK, MQTT 3.1.1
 * §4.3.2) only once the sink settled, i.e. once its readings are committed to the store.
 * mqtt.js hands each PUBLISH to `handleMessage(packet, done)` and neither parses the next
 * packet nor sends the PUBACK until `done` is called; `done(error)` goes on to the next
 * packet without a PUBACK (node_modules/mqtt/build/lib/handlers/publish.js, and the
 * `work`/`nextTickWork` loop in client.js `connect()`). Waiting there for the commit would
 * leave one message in flight and one store transaction per message, so instead we hand
 * the message to the sink, call `done(error)` at once, and send the PUBACKs ourselves,
 * in order and several per write, as commits complete (acks.ts). Many messages in flight
 * is what lets the store commit them in one transaction.
 *
 * Backpressure: at most `maxInflightMessages` await their PUBACK; beyond that `done` waits,
 * mqtt.js stops reading the socket, and the broker keeps the backlog, not us. The broker
 * sends a v3.1.1 client only as many unacknowledged messages as its own in-flight limit
 * (Mosquitto `max_inflight_messages`, default 20) allows: config/mosquitto.conf raises it.
 */
import type { IPublishPacket } from 'mqtt';
import type { PushSink, TerminalRef, TerminalSession, TransportAdapter } from '../adapter.js';
import { DeadLetterPublisher } from './deadLetterPublisher.js';
import { MqttCommandChannel } from './commandChannel.js';
import { connectMqtt, DEFAULT_KEEPALIVE_SEC, roleClientId, type MqttConnection } from './connection.js';
import { disconnect, withDeadline } from './disconnect.js';
import { AckWindow, encodePubacks } from './acks.js';
import { BusyStretch } from './busyStretch.js';
import { checkHoldWithinKeepalive, handOverOptions } from './handOver.js';
import { MessageDelivery, type DeliveryCounters, type MqttProblem } from './delivery.js';
import { AdapterStateError, MqttOptionsError, SubscribeRefusedError, UnsupportedOperationError } from './errors.js';
import { DEFAULT_MAX_EVENTS_PER_MESSAGE } from './events.js';
import { DEFAULT_MAX_FUTURE_SKEW_MS } from './payload.js';
import { groupFilters, matchesSubscription, prefixProblem, shareGroupProblem, subscriptionFilters } from './topics.js';

export type { MqttProblem } from './delivery.js';

export interface MqttAdapterOptions extends MqttConnection {
  /** Fixed, so the broker keeps the session (and queues QoS 1 messages) while we are away. */
  readonly clientId: string;
  /**
   * Subscribe through this shared subscription group (`$share/<group>/<filter>`, topics.ts
   * `sharedFilter`): each message goes to one of the group's sessions, so several head-ends,
   * each with its own `clientId`, share the telemetry. Default: plain filters, every message to us.
   */
  readonly shareGroup?: string;
  /**
   * The command channel's client id. Default `<first 19 characters of clientId>-cmd`, within
   * the 23 characters every MQTT 3.1.1 server must accept (§3.1.3.1); ids that differ only
   * after the 19th character need their own.
   */
  readonly commandClientId?: string;
  readonly topicPrefix: string;
  readonly deadLetterTopic: string;
  readonly maxPayloadBytes: number;
  readonly maxReadingsPerMessage: number;
  /** Events in one events message, at most. Default 1000. */
  readonly maxEventsPerMessage?: number;
  readonly acceptQuantity: (name: string) => boolean;
  /** Every refused message and failure, one call each; the caller rate-limits its logging. */
  readonly onProblem?: (problem: MqttProblem) => void;
  /** Station clock, ms epoch. Default `Date.now`. */
  readonly clock?: () => number;
  /** How far ahead of the station clock a device timestamp may be. Default one day. */
  readonly maxFutureSkewMs?: number;
  /** Messages received and not yet acknowledged, at most; beyond this the socket is not read. Default 1000. */
  readonly maxInflightMessages?: number;
  /** Longest stretch of back-to-back messages before reading pauses for one event-loop turn. Default 20 ms. */
  readonly maxBusyMs?: number;
  /** Longest wait for the sink to settle (commit) one batch. Default 10 s. */
  readonly sinkTimeoutMs?: number;
  /** Hand-overs of one batch to a rejecting sink before it is dead-lettered. Default 3. */
  readonly sinkMaxAttempts?: number;
  /** First retry delay after a rejection, doubled each time. Default 200 ms. */
  readonly sinkRetryDelayMs?: number;
  /** Dead-letter copies awaiting the broker's PUBACK; beyond this they are dropped and counted. Default 1000. */
  readonly maxPendingDeadLetters?: number;
  /** Longest wait for a terminal's command response. Default 10 s. */
  readonly commandTimeoutMs?: number;
  /** Commands awaiting a response at once, at most. Default 1000. */
  readonly maxPendingCommands?: number;
}

export interface MqttAdapterStats {
  /** Messages received (telemetry and status, good or not). */
  readonly messages: number;
  /** Readings the sink committed. */
  readonly readings: number;
  /** Readings the sink refused (their messages are dead-lettered with the reasons). */
  readonly refusedReadings: number;
  /** Messages received and not yet acknowledged right now. */
  readonly inflight: number;
  readonly statusMessages: number;
  /** Device events the sink accepted. */
  readonly events: number;
  /** Messages refused for their topic or payload. */
  readonly malformed: number;
  /** Copies handed to the client for the dead-letter topic. */
  readonly deadLettered: number;
  /** Copies dropped because `maxPendingDeadLetters` were already waiting. */
  readonly deadLetterDropped: number;
  /** Sink rejections and timeouts (each attempt counts). */
  readonly sinkErrors: number;
  readonly reconnects: number;
}

export class MqttAdapter implements TransportAdapter<Record<string, never>> {
  readonly protocol = 'mqtt';
  /** Terminals publish; nothing is polled, and a command is a message on the terminal's command topic. */
  readonly capabilities = { pollable: false, commandsOverPush: true } as const;
  private readonly counters: DeliveryCounters = { messages: 0, readings: 0, statusMessages: 0, events: 0, malformed: 0, refusedReadings: 0, sinkErrors: 0 };
  private readonly deadLetters: DeadLetterPublisher;
  private reconnects = 0;
  private session: Session | undefined;
  private commands: MqttCommandChannel | undefined;
  private closed = false;

  constructor(private readonly options: MqttAdapterOptions) {
    const problem = prefixProblem(options.topicPrefix) ?? (options.shareGroup === undefined ? null : shareGroupProblem(options.shareGroup));
    if (problem !== null) throw new MqttOptionsError(problem, undefined);
    // A dead-letter topic under our own filters would feed refused messages back to us.
    if (/[+#]/.test(options.deadLetterTopic) || matchesSubscription(options.topicPrefix, options.deadLetterTopic)) {
      throw new MqttOptionsError(`dead-letter topic "${options.deadLetterTopic}" must be a plain topic outside ${subscriptionFilters(options.topicPrefix).join(' and ')}`, undefined);
    }
    // While a full in-flight window waits for its oldest message, mqtt.js does not read the PINGRESP either.
    checkHoldWithinKeepalive(handOverOptions(options), options.keepaliveSec ?? DEFAULT_KEEPALIVE_SEC);
    this.deadLetters = new DeadLetterPublisher({
      topic: options.deadLetterTopic,
      maxPending: options.maxPendingDeadLetters ?? 1000,
      onDropped: (input, reason) => { this.report({ terminalId: input.terminalId, code: 'DEAD_LETTER_DROPPED', reason }); },
      onFailed: (input, err) => { this.report({ terminalId: input.terminalId, code: 'DEAD_LETTER_FAILED', reason: err.message }); },
    });
  }

  /**
   * A session that sends commands over the command convention (commandChannel.ts); MQTT
   * terminals push their readings, so `read` answers every item with UnsupportedOperation.
   */
  open(terminal: TerminalRef<Record<string, never>>, _signal: AbortSignal): Promise<TerminalSession> {
    if (this.closed) return Promise.reject(new AdapterStateError('adapter is closed', terminal.id));
    const channel = this.commandChannel();
    return Promise.resolve({
      read: (items) => Promise.resolve(items.map((item) => ({
        ok: false as const, item, error: new UnsupportedOperationError('MQTT terminals push their readings; they are not read on demand', terminal.id),
      }))),
      execute: (command, signal) => channel.execute(terminal.id, command, signal),
      close: () => Promise.resolve(),
    });
  }

  private commandChannel(): MqttCommandChannel {
    if (this.commands === undefined) {
      const o = this.options;
      this.commands = new MqttCommandChannel({
        connection: o,
        clientId: o.commandClientId ?? roleClientId(o.clientId, 'cmd'),
        topicPrefix: o.topicPrefix,
        timeoutMs: o.commandTimeoutMs ?? 10_000,
        ...(o.maxPendingCommands === undefined ? {} : { maxPending: o.maxPendingCommands }),
        onStray: (reason) => { o.onProblem?.({ terminalId: null, code: 'COMMAND_RESPONSE', reason }); },
      });
    }
    return this.commands;
  }

  /**
   * Connects and subscribes; `sink` receives every batch from then on. The returned stop
   * function disconnects without unsubscribing, so the broker keeps queuing for our
   * session; with a `shareGroup` it leaves the group first, so the broker deals the stream to
   * the members still there. One subscription at a time.
   */
  subscribe(sink: PushSink): () => Promise<void> {
    if (this.closed) throw new AdapterStateError('adapter is closed', undefined);
    if (this.session !== undefined) throw new AdapterStateError('adapter already has a subscription', undefined);
    const session = this.startSession(sink);
    this.session = session;
    return async () => {
      if (this.session === session) this.session = undefined;
      await session.stop();
    };
  }

  /** Resolves once the broker granted both subscriptions; rejects if refused or stopped first. */
  whenSubscribed(signal?: AbortSignal): Promise<void> {
    if (this.session === undefined) return Promise.reject(new AdapterStateError('not subscribed', undefined));
    const subscribed = this.session.subscribed;
    if (signal === undefined) return subscribed;
    return Promise.race([
      subscribed,
      new Promise<never>((_resolve, reject) => {
        const onAbort = () => {
          reject(new AdapterStateError('gave up waiting for the subscription', undefined, { cause: signal.reason }));
        };
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  }

  stats(): MqttAdapterStats {
    return {
      ...this.counters,
      deadLettered: this.deadLetters.deadLettered,
      deadLetterDropped: this.deadLetters.dropped,
      reconnects: this.reconnects,
      inflight: this.session?.inflight() ?? 0,
    };
  }

  /** Whether the client holds a connection to the broker right now. */
  isConnected(): boolean {
    return this.session?.connected() ?? false;
  }

  async close(): Promise<void> {
    this.closed = true;
    const session = this.session;
    this.session = undefined;
    await session?.stop();
    await this.commands?.close();
  }

  private startSession(sink: PushSink): Session {
    const o = this.options;
    const report = (problem: MqttProblem) => { this.report(problem); };
    const stopping = new AbortController();
    // A persistent session: the broker queues QoS 1 telemetry while the head-end is away.
    const client = connectMqtt(o, { clientId: o.clientId, persistentSession: true, manualConnect: true });
    const delivery = new MessageDelivery(
      sink,
      {
        topicPrefix: o.topicPrefix,
        maxPayloadBytes: o.maxPayloadBytes,
        maxReadingsPerMessage: o.maxReadingsPerMessage,
        maxEventsPerMessage: o.maxEventsPerMessage ?? DEFAULT_MAX_EVENTS_PER_MESSAGE,
        maxFutureSkewMs: o.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS,
        acceptQuantity: o.acceptQuantity,
        ...handOverOptions(o),
        clock: o.clock ?? Date.now,
        report,
        deadLetter: (input) => { this.deadLetters.publish(client, input); },
      },
      this.counters,
    );
    // One window per connection: a packet identifier means nothing on the next connection,
    // where the broker redelivers whatever this one left unacknowledged (MQTT 3.1.1 §4.4).
    const openWindow = () => {
      const window: AckWindow = new AckWindow(o.maxInflightMessages ?? 1000, (ids) => {
        if (window === acks && client.connected) client.stream.write(encodePubacks(ids));
      });
      return window;
    };
    let acks = openWindow();
    const busy = new BusyStretch(o.maxBusyMs ?? 20);
    client.on('close', () => {
      acks.holdAll();
      acks = openWindow();
    });
    stopping.signal.addEventListener('abort', () => { acks.holdAll(); }, { once: true });
    client.handleMessage = (packet: IPublishPacket, done: (error?: Error) => void) => {
      // Not acknowledging is the point: the broker redelivers it in our next session.
      if (stopping.signal.aborted) {
        done(NO_PUBACK_HERE);
        return;
      }
      const window = acks;
      const settle = window.take(packet.qos > 0 ? packet.messageId : undefined);
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      delivery.handle(packet.topic, payload, stopping.signal).then(settle, (err: unknown) => {
        // A bug of ours must not stall the session by leaving the message unacknowledged.
        report({ terminalId: null, code: 'INTERNAL', reason: err instanceof Error ? err.message : String(err) });
        settle('ack');
      });
      // The hand-over to the sink has started (in order); the PUBACK is ours to send later.
      const readOn = () => { busy.readOn(() => { done(NO_PUBACK_HERE); }); };
      if (window.hasRoom()) readOn();
      else void window.whenRoom().then(readOn);
    };
    client.on('error', (err) => {
      report({ terminalId: null, code: 'BROKER_ERROR', reason: err.message });
    });
    client.on('reconnect', () => {
      this.reconnects += 1;
    });
    const filters = groupFilters(subscriptionFilters(o.topicPrefix), o.shareGroup);
    const subscribed = new Promise<void>((resolve, reject) => {
      client.once('connect', () => {
        client.subscribe([...filters], { qos: 1 }, (err) => {
          if (err === null) resolve();
          else {
            report({ terminalId: null, code: 'SUBSCRIBE_REFUSED', reason: err.message });
            reject(new SubscribeRefusedError(`broker refused ${filters.join(', ')}: ${err.message}`, undefined, { cause: err }));
          }
        });
      });
      stopping.signal.addEventListener('abort', () => {
        reject(new AdapterStateError('subscription stopped before the broker granted it', undefined));
      }, { once: true });
    });
    subscribed.catch(() => undefined); // observed through whenSubscribed(); unobserved is fine
    client.connect();
    return {
      subscribed,
      connected: () => client.connected,
      inflight: () => acks.size,
      stop: async () => {
        if (stopping.signal.aborted) return;
        stopping.abort();
        // A shared group's member that leaves on purpose says so: Mosquitto and EMQX go on dealing
        // an offline persistent member its share of the stream, to wait in its session until it
        // is back (MQTT 5.0 §4.8.2 leaves the choice to the server). What it holds unacknowledged
        // stays in its session all the same and comes back to it (§4.4).
        if (o.shareGroup !== undefined && client.connected) await withDeadline(client.unsubscribeAsync([...filters]).catch(() => undefined), LEAVE_GROUP_WAIT_MS);
        await disconnect(client);
      },
    };
  }

  private report(problem: MqttProblem): void {
    try {
      this.options.onProblem?.(problem);
    } catch (err) {
      // The reporting channel itself failed; there is nothing further to report to.
      process.emitWarning(`MQTT onProblem threw while reporting ${problem.code}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** Longest wait for the broker to confirm a shared group's member left it, at a stop. */
const LEAVE_GROUP_WAIT_MS = 2_000;

/**
 * Passed to mqtt.js's `handleMessage` callback: go on to the next packet without sending a
 * PUBACK (we send it after the commit, or never, when stopping).
 */
const NO_PUBACK_HERE = new Error('PUBACK deferred to the commit');

interface Session {
  readonly subscribed: Promise<void>;
  connected(): boolean;
  inflight(): number;
  stop(): Promise<void>;
}
