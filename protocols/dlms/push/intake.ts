/**
 * The DLMS push intake behind `DlmsAdapter.subscribe`: the receiver (receiver.ts), its scaler
 * cache and push-list learner (both reading the meter through the terminal's collection lane,
 * which the sink lends: never a second association beside the poller's), the dead letters
 * (the station's store for TCP, the MQTT dead-letter topic for MQTT), the TCP wrapper
 * listener and the MQTT subscription, each enabled by its settings.
 *
 * What it needs of the station comes in as interfaces (senders, list store, dead-letter
 * store, security); what it did goes out as plain counters, which the station turns into metrics.
 */
import { ProtocolError, type PushSink, type TerminalSession } from '../../adapter.js';
import type { MqttConnection } from '../../mqtt/connection.js';
import type { DlmsPushSettings } from '../config.js';
import type { ScalerUnit } from '../cosem/units.js';
import { startPushListener, type PushListener } from '../net/pushListener.js';
import { DlmsPushMqttSubscriber, dlmsNotifyTopic, type DlmsPushMqttStats } from '../net/pushMqtt.js';
import type { SecurityEvent } from '../security/settings.js';
import type { PushKeyLookup } from './notification.js';
import { PushListLearner, PushListUnreadableError, type PushListLearnerCounters, type PushListStore } from './pushLists.js';
import { canReadPushLists } from './pushObjects.js';
import { DlmsPushReceiver, type DlmsPushCounters, type PushDeadLetter } from './receiver.js';
import { PushScalerCache } from './scalers.js';
import type { PushSenderLookup } from './senders.js';

/**
 * Where TCP pushes that yielded nothing go to be kept (MQTT ones go to the dead-letter topic).
 * Synchronous: the receiver dead-letters from its synchronous checks, and a push that failed
 * must not hold its connection for a diagnostic write; the station's side queues the write
 * (bounded) behind the call.
 */
export interface PushDeadLetterSink {
  /** Takes one dead letter to be kept; false when it cannot (the sink counts it). */
  add(letter: PushDeadLetter): boolean;
}

export type DlmsPushProblemSource = 'receiver' | 'tcp' | 'mqtt';

export interface DlmsPushOptions {
  readonly settings: DlmsPushSettings;
  /** Who may send: the station's terminals and meters. */
  readonly senders: PushSenderLookup;
  /** Push object lists learnt from the meters, kept across restarts. */
  readonly listStore: PushListStore;
  readonly deadLetters: PushDeadLetterSink;
  /** The station's broker connection (login and TLS included) and its MQTT conventions. */
  readonly mqtt?: MqttConnection & { readonly clientId: string; readonly topicPrefix: string; readonly deadLetterTopic: string; readonly shareGroup?: string };
  readonly security?: PushKeyLookup;
  readonly onSecurityEvent?: (event: SecurityEvent & { readonly meterId?: string; readonly terminalId?: string }) => void;
  /** Every push problem; the station rate-limits its log line. */
  readonly onProblem: (source: DlmsPushProblemSource, code: string, sender: string, detail: string) => void;
}

/** What the adapter adds of its own: its catalogue, its scaler cache and its request timeout. */
export interface DlmsPushIntakeOptions extends DlmsPushOptions {
  readonly catalogue: Readonly<Record<string, { readonly obis: string; readonly unit: string }>>;
  /** scaler_unit already known (polling fills the adapter's cache; so do the reads below). */
  readonly knownScaler: (meterKey: string, obis: string) => ScalerUnit | undefined;
  /** DLMS request timeout; a read on the lane may first have to associate and read the object list, so it gets four. */
  readonly requestTimeoutMs: number;
}

export interface DlmsPushCountersSnapshot {
  readonly receiver: Readonly<DlmsPushCounters>;
  readonly listReads: Readonly<PushListLearnerCounters>;
  /** Pushes waiting for their meter's push object lists now. */
  readonly listWaiting: number;
  readonly mqtt: DlmsPushMqttStats;
}

export interface DlmsPushIntake {
  readonly receiver: DlmsPushReceiver;
  readonly learner: PushListLearner;
  /** Settles once the listener listens and the MQTT subscription was granted (or its failure reported: mqtt.js keeps trying). */
  readonly ready: Promise<{ readonly tcpPort: number | undefined }>;
  counters(): DlmsPushCountersSnapshot;
  close(): Promise<void>;
}

/** `subscribe` without push options, twice, or after close. */
export class DlmsPushStateError extends ProtocolError {
  readonly code = 'DLMS_PUSH_STATE';
}

/** How long start-up waits for the broker to grant the MQTT subscription before going on without it. */
const MQTT_SUBSCRIBE_WAIT_MS = 15_000;

export function startDlmsPushIntake(o: DlmsPushIntakeOptions, sink: PushSink): DlmsPushIntake {
  const c = o.settings;
  const lane = { timeoutMs: o.requestTimeoutMs * 4 };
  const onLane = <T>(terminalId: string, what: string, work: (session: TerminalSession, signal: AbortSignal) => Promise<T>): Promise<T> => {
    if (sink.session === undefined) return Promise.reject(new DlmsPushStateError(`no collection lane lent for ${what}`, terminalId));
    return sink.session(terminalId, what, work, lane);
  };
  const quantityOf = new Map(Object.entries(o.catalogue).map(([q, e]) => [e.obis, q]));
  const scalers = new PushScalerCache({
    known: (terminalId, address, obis) => o.knownScaler(`${terminalId}/${address}`, obis),
    retryAfterMs: c.scalerRetryMs,
    load: async (terminal, address, obis) => {
      // Reading the registers on the lane's session fills the adapter's scaler cache (value and scaler_unit in one GET-with-list).
      const items = obis.flatMap((x) => { const q = quantityOf.get(x); return q === undefined ? [] : [{ address, quantity: q }]; });
      await onLane(terminal.id, `scalers of the meter at ${address}`, (session, signal) => session.read(items, signal));
      const got = new Map<string, ScalerUnit>();
      for (const x of obis) {
        const su = o.knownScaler(`${terminal.id}/${address}`, x);
        if (su !== undefined) got.set(x, su);
      }
      return got;
    },
  });
  const learner = new PushListLearner({
    store: o.listStore,
    maxWaiting: c.lists.maxWaiting,
    maxWaitingPerMeter: c.lists.maxWaitingPerMeter,
    readRetryMs: c.lists.readRetryMs,
    read: (terminalId, address) => onLane(terminalId, `push object lists of the meter at ${address}`, (session, signal) => {
      if (!canReadPushLists(session)) throw new PushListUnreadableError(terminalId);
      return session.readPushObjectLists(address, signal);
    }),
  });
  let subscriber: DlmsPushMqttSubscriber | undefined;
  const deadLetter = (d: PushDeadLetter) => {
    if (d.origin === 'tcp') {
      o.deadLetters.add(d);
      return;
    }
    subscriber?.deadLetter({
      topic: dlmsNotifyTopic(o.mqtt?.topicPrefix ?? '', d.from),
      terminalId: d.terminalId ?? null, code: d.code, reason: d.reason, receivedAt: d.receivedAt, payload: d.apdu,
    });
  };
  const receiver = new DlmsPushReceiver({
    senders: o.senders,
    catalogue: o.catalogue,
    scalers,
    learner,
    maxApduBytes: c.maxApduBytes,
    sink,
    deadLetter,
    onProblem: (code, sender, detail) => { o.onProblem('receiver', code, sender, detail); },
    ...(o.security === undefined ? {} : { security: o.security }),
    ...(o.onSecurityEvent === undefined ? {} : { onSecurityEvent: o.onSecurityEvent }),
  });
  const closers: (() => Promise<void>)[] = [];
  if (c.mqtt.enabled && o.mqtt !== undefined) {
    const m = o.mqtt;
    subscriber = new DlmsPushMqttSubscriber({
      ...m,
      clientId: `${m.clientId}-dlms-push`,
      maxPayloadBytes: c.maxApduBytes,
      onApdu: (apdu, origin) => receiver.handle(apdu, origin),
      onProblem: (code, detail) => { o.onProblem('mqtt', code, '-', detail); },
    });
  }
  const sub = subscriber;
  if (sub !== undefined) closers.push(() => sub.close());
  // Last to be pushed, first to close: pushes waiting for a list read finish, and may still
  // dead-letter, while the listener and the MQTT client are up.
  closers.push(() => learner.close());
  let listener: PushListener | undefined;
  const stop = new AbortController();
  const close = async () => {
    stop.abort();
    for (const f of closers.reverse().splice(0)) await f().catch(() => undefined);
    await listener?.close();
  };
  const listening = c.listen.enabled
    ? startPushListener({
      host: c.listen.host,
      port: c.listen.port,
      maxConnections: c.maxConnections,
      maxApduBytes: c.maxApduBytes,
      maxBytesPerConnection: c.maxBytesPerConnection,
      idleTimeoutMs: c.idleTimeoutMs,
      onApdu: (apdu, origin) => receiver.handle(apdu, origin),
      onProblem: (problem, remote, detail) => { o.onProblem('tcp', problem, remote, detail); },
    })
    : Promise.resolve(undefined);
  const subscribed = sub?.start(AbortSignal.timeout(MQTT_SUBSCRIBE_WAIT_MS)).catch((err: unknown) => {
    // Not fatal: mqtt.js keeps reconnecting and subscribes on connect.
    o.onProblem('mqtt', 'broker-error', '-', `not subscribed yet: ${err instanceof Error ? err.message : String(err)}`);
  });
  const ready = (async () => {
    const l = await listening;
    // Closed while the listener was starting: it is the only part close() could not reach.
    if (stop.signal.aborted) await l?.close();
    else listener = l;
    await subscribed;
    return { tcpPort: l?.port };
  })();
  ready.catch(() => undefined); // observed through the adapter's whenSubscribed(); unobserved is fine
  return {
    receiver, learner, ready, close,
    counters: () => ({
      receiver: receiver.counters,
      listReads: learner.counters,
      listWaiting: learner.waiting,
      mqtt: sub?.stats ?? { deadLettered: 0, deadLetterDropped: 0 },
    }),
  };
}
