/**
 * The head-end's DLMS push intake as one unit for the composition root: the receiver
 * (dlmsPush.ts), its scaler cache and push-list learner (both reading the meter through its
 * terminal's collection lane), the dead letters (embedded store for TCP, the MQTT dead-letter
 * topic for MQTT), the TCP wrapper listener and the MQTT subscription, each enabled by
 * `dlms.push`, and the metrics of it all.
 */
import type { RawDeviceEvent, RawReading, TerminalSession } from '../../protocols/adapter.js';
import type { ScalerUnit } from '../../protocols/dlms/cosem/units.js';
import { startPushListener, type PushListener } from '../../protocols/dlms/net/pushListener.js';
import { DlmsPushMqttSubscriber, dlmsNotifyTopic } from '../../protocols/dlms/net/pushMqtt.js';
import type { MqttConnection } from '../../protocols/mqtt/connection.js';
import type { PushSecurity } from '../../protocols/dlms/push/notification.js';
import { canReadPushLists } from '../../protocols/dlms/push/pushObjects.js';
import type { SecurityEvent } from '../../protocols/dlms/security/settings.js';
import type { GridheadConfig } from '../config/schema.js';
import type { MetricSource } from '../observe/metrics.js';
import type { Db } from '../storage/db.js';
import { DlmsPushReceiver, type PushDirectory } from './dlmsPush.js';
import { SqlitePushDeadLetters, type PushDeadLetter } from './dlmsPushDeadLetters.js';
import { PushListLearner, PushListUnreadableError, SqlitePushListStore } from './dlmsPushLists.js';
import { PushScalerCache } from './dlmsPushScalers.js';

export interface DlmsPushServiceOptions {
  readonly config: GridheadConfig['dlms']['push'];
  readonly directory: PushDirectory;
  readonly catalogue: Readonly<Record<string, { readonly obis: string; readonly unit: string }>>;
  /** The DLMS adapter's scaler cache (filled by polling and by the reads below). */
  readonly adapter: { readonly scalers: { get(meter: string, obis: string): ScalerUnit | undefined } };
  /** The collector: scalers and push object lists are read on the terminal's own session, through its lane. */
  readonly lanes: {
    sessionNow<T>(terminalId: string, what: string, work: (session: TerminalSession, signal: AbortSignal) => Promise<T>, options: { readonly timeoutMs: number }): Promise<T>;
  };
  /** DLMS request timeout; a read on the lane may first have to associate and read the object list, so it gets four. */
  readonly requestTimeoutMs: number;
  /** The embedded store: learnt push object lists and dead letters. */
  readonly db: Db;
  /** The station's broker connection (login and TLS included) and its MQTT conventions. */
  readonly mqtt?: MqttConnection & { readonly clientId: string; readonly topicPrefix: string; readonly deadLetterTopic: string };
  readonly security?: PushSecurity;
  readonly readings: (batch: readonly RawReading[]) => void | Promise<void>;
  readonly events: (batch: readonly RawDeviceEvent[]) => void | Promise<void>;
  readonly onSecurityEvent?: (event: SecurityEvent & { readonly meterId?: string; readonly terminalId?: string }) => void;
  readonly onProblem: (source: 'receiver' | 'tcp' | 'mqtt', code: string, sender: string, detail: string) => void;
}

export interface DlmsPushService {
  readonly receiver: DlmsPushReceiver;
  readonly learner: PushListLearner;
  readonly deadLetters: SqlitePushDeadLetters;
  /** The TCP listener's port, when it listens. */
  readonly tcpPort: number | undefined;
  readonly listener: PushListener | undefined;
  metricSources(): MetricSource[];
  close(): Promise<void>;
}

export async function startDlmsPushService(o: DlmsPushServiceOptions): Promise<DlmsPushService> {
  const c = o.config;
  const lane = { timeoutMs: o.requestTimeoutMs * 4 };
  const quantityOf = new Map(Object.entries(o.catalogue).map(([q, e]) => [e.obis, q]));
  const scalers = new PushScalerCache({
    known: (terminalId, address, obis) => o.adapter.scalers.get(`${terminalId}/${address}`, obis),
    retryAfterMs: c.scalerRetryMs,
    load: async (terminal, address, obis) => {
      // Reading the registers on the lane's session fills the adapter's scaler cache (value and scaler_unit in one GET-with-list).
      const items = obis.flatMap((x) => { const q = quantityOf.get(x); return q === undefined ? [] : [{ address, quantity: q }]; });
      await o.lanes.sessionNow(terminal.id, `scalers of the meter at ${address}`, (session, signal) => session.read(items, signal), lane);
      const got = new Map<string, ScalerUnit>();
      for (const x of obis) {
        const su = o.adapter.scalers.get(`${terminal.id}/${address}`, x);
        if (su !== undefined) got.set(x, su);
      }
      return got;
    },
  });
  const learner = new PushListLearner({
    store: new SqlitePushListStore(o.db, { maxMeters: c.lists.maxMeters }),
    maxWaiting: c.lists.maxWaiting,
    maxWaitingPerMeter: c.lists.maxWaitingPerMeter,
    readRetryMs: c.lists.readRetryMs,
    read: (terminalId, address) => o.lanes.sessionNow(terminalId, `push object lists of the meter at ${address}`, (session, signal) => {
      if (!canReadPushLists(session)) throw new PushListUnreadableError(terminalId);
      return session.readPushObjectLists(address, signal);
    }, lane),
  });
  const deadLetters = new SqlitePushDeadLetters(o.db, c.deadLetters.maxRows);
  let subscriber: DlmsPushMqttSubscriber | undefined;
  const deadLetter = (d: PushDeadLetter) => {
    if (d.origin === 'tcp') {
      deadLetters.add(d);
      return;
    }
    subscriber?.deadLetter({
      topic: dlmsNotifyTopic(o.mqtt?.topicPrefix ?? '', d.from),
      terminalId: d.terminalId ?? null, code: d.code, reason: d.reason, receivedAt: d.receivedAt, payload: d.apdu,
    });
  };
  const receiver = new DlmsPushReceiver({
    directory: o.directory,
    catalogue: o.catalogue,
    scalers,
    learner,
    maxApduBytes: c.maxApduBytes,
    readings: o.readings,
    events: o.events,
    deadLetter,
    onProblem: (code, sender, detail) => { o.onProblem('receiver', code, sender, detail); },
    ...(o.security === undefined ? {} : { security: o.security }),
    ...(o.onSecurityEvent === undefined ? {} : { onSecurityEvent: o.onSecurityEvent }),
  });
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const f of closers.reverse().splice(0)) await f().catch(() => undefined);
  };
  try {
    let listener: PushListener | undefined;
    if (c.listen.enabled) {
      listener = await startPushListener({
        host: c.listen.host,
        port: c.listen.port,
        maxConnections: c.maxConnections,
        maxApduBytes: c.maxApduBytes,
        maxBytesPerConnection: c.maxBytesPerConnection,
        idleTimeoutMs: c.idleTimeoutMs,
        onApdu: (apdu, origin) => receiver.handle(apdu, origin),
        onProblem: (problem, remote, detail) => { o.onProblem('tcp', problem, remote, detail); },
      });
      const l = listener;
      closers.push(() => l.close());
    }
    if (c.mqtt.enabled && o.mqtt !== undefined) {
      const m = o.mqtt;
      const sub = new DlmsPushMqttSubscriber({
        ...m,
        clientId: `${m.clientId}-dlms-push`,
        maxPayloadBytes: c.maxApduBytes,
        onApdu: (apdu, origin) => receiver.handle(apdu, origin),
        onProblem: (code, detail) => { o.onProblem('mqtt', code, '-', detail); },
      });
      subscriber = sub;
      closers.push(() => sub.close());
      await sub.start(AbortSignal.timeout(15_000)).catch((err: unknown) => {
        // Not fatal: mqtt.js keeps reconnecting and subscribes on connect.
        o.onProblem('mqtt', 'broker-error', '-', `not subscribed yet: ${err instanceof Error ? err.message : String(err)}`);
      });
    }
    // First to close (closers run in reverse): pushes waiting for a list read finish, and may
    // still dead-letter, while the listener and the MQTT client are up.
    closers.push(() => learner.close());
    return {
      receiver, learner, deadLetters, tcpPort: listener?.port, listener, close,
      metricSources: () => pushMetricSources(receiver, learner, deadLetters, subscriber),
    };
  } catch (err) {
    await close();
    throw err;
  }
}

function pushMetricSources(receiver: DlmsPushReceiver, learner: PushListLearner, deadLetters: SqlitePushDeadLetters, mqtt: DlmsPushMqttSubscriber | undefined): MetricSource[] {
  const r = receiver.counters;
  return [
    {
      name: 'gridhead_dlms_push_apdus', help: 'DLMS pushes by outcome', type: 'counter', labelNames: ['outcome'],
      read: () => [{ labels: { outcome: 'received' }, value: r.received }, { labels: { outcome: 'accepted' }, value: r.accepted }, { labels: { outcome: 'dead_lettered' }, value: r.deadLettered }],
    },
    {
      name: 'gridhead_dlms_push_problems', help: 'DLMS push problems by code (no-scaler loses registers, not the push)', type: 'counter', labelNames: ['code'],
      read: () => Object.entries(r.dropped).map(([code, value]) => ({ labels: { code }, value })),
    },
    {
      name: 'gridhead_dlms_push_lists', help: 'Accepted DLMS pushes by how their push object list was found', type: 'counter', labelNames: ['source'],
      read: () => Object.entries(r.lists).map(([source, value]) => ({ labels: { source }, value })),
    },
    {
      name: 'gridhead_dlms_push_list_reads', help: 'Push object list reads from meters by outcome', type: 'counter', labelNames: ['outcome'],
      read: () => [{ labels: { outcome: 'started' }, value: learner.counters.reads }, { labels: { outcome: 'failed' }, value: learner.counters.readFailures }],
    },
    { name: 'gridhead_dlms_push_list_waiting', help: 'DLMS pushes waiting for their meter\'s push object lists', type: 'gauge', read: () => [{ value: learner.waiting }] },
    {
      name: 'gridhead_dlms_push_dead_letters', help: 'DLMS push dead letters by store and outcome', type: 'counter', labelNames: ['store', 'outcome'],
      read: () => [
        { labels: { store: 'embedded', outcome: 'stored' }, value: deadLetters.counters.stored },
        { labels: { store: 'embedded', outcome: 'dropped_oldest' }, value: deadLetters.counters.dropped },
        { labels: { store: 'embedded', outcome: 'failed' }, value: deadLetters.counters.failed },
        { labels: { store: 'mqtt', outcome: 'published' }, value: mqtt?.stats.deadLettered ?? 0 },
        { labels: { store: 'mqtt', outcome: 'dropped' }, value: mqtt?.stats.deadLetterDropped ?? 0 },
      ],
    },
  ];
}
