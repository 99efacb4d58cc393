/**
 * The DLMS push intake (DlmsAdapter.subscribe) on its own, as the integration tests need it:
 * the real adapter with the station's push parts (registry-style sender lookup, embedded
 * store for learnt lists and dead letters), subscribed with the collector's push sink over a
 * real collector (no profiles, so it polls nothing by itself) whose lanes carry the scaler and
 * push-list reads; readings and events land in arrays instead of the pipeline. Also the
 * directory of simulated meters it identifies pushes against.
 */
import type { RawDeviceEvent, RawReading } from '../../protocols/adapter.js';
import { DlmsAdapter } from '../../protocols/dlms/adapter.js';
import type { PushSecurity } from '../../protocols/dlms/push/notification.js';
import type { PushListLearner } from '../../protocols/dlms/push/pushLists.js';
import type { DlmsPushReceiver } from '../../protocols/dlms/push/receiver.js';
import type { MqttConnection } from '../../protocols/mqtt/connection.js';
import type { SecurityEvent } from '../../protocols/dlms/security/settings.js';
import { collectPushSink } from '../../src/collect/pushSink.js';
import { CollectionScheduler } from '../../src/collect/scheduler.js';
import { CollectionStats } from '../../src/collect/stats.js';
import { SqliteCollectionStatsStore } from '../../src/collect/statsStore.js';
import type { GridheadConfig } from '../../src/config/schema.js';
import { stationDlmsPush, type PushTopology } from '../../src/dlmsPush.js';
import { QUANTITIES, meterId, terminalId, type DlmsEndpoint, type Meter, type Terminal } from '../../src/domain/index.js';
import { openDatabase, type Db } from '../../src/storage/db.js';
import { SqlitePushDeadLetterStore, type PushDeadLetters } from '../../src/storage/dlmsPushDeadLetters.js';
import { SqlitePushListStore } from '../../src/storage/dlmsPushLists.js';

/** The running intake's parts the tests look at. */
export interface PushIntakeService {
  readonly receiver: DlmsPushReceiver;
  readonly learner: PushListLearner;
  readonly deadLetters: PushDeadLetters;
  /** The TCP listener's port, when it listens. */
  readonly tcpPort: number | undefined;
}

export interface PushIntakeOptions {
  readonly directory: PushTopology;
  readonly config?: Partial<GridheadConfig['dlms']['push']>;
  readonly security?: PushSecurity;
  /** The broker connection (login, TLS) and the dead-letter topic. */
  readonly mqtt?: MqttConnection & { readonly deadLetterTopic: string };
  /** An existing store (a restart test reopens the same file). */
  readonly db?: Db;
  /** The LLS password of the polled meters, as the key store would hand it over; default the simulator's. */
  readonly password?: string;
  /** Asked at every batch of readings: true makes the station refuse it (the pipeline's offer rejects). */
  readonly refuse?: () => boolean;
}

export interface PushIntake {
  readonly service: PushIntakeService;
  readonly scheduler: CollectionScheduler;
  readonly adapter: DlmsAdapter;
  readonly db: Db;
  readonly readings: RawReading[];
  readonly events: RawDeviceEvent[];
  readonly securityEvents: SecurityEvent[];
  readonly problems: string[];
  close(): Promise<void>;
}

export const PUSH_TEST_CONFIG: GridheadConfig['dlms']['push'] = {
  listen: { enabled: true, host: '127.0.0.1', port: 0 }, mqtt: { enabled: false },
  maxConnections: 10, maxApduBytes: 4_096, maxBytesPerConnection: 1_048_576, idleTimeoutMs: 60_000, scalerRetryMs: 60_000,
  lists: { maxWaiting: 256, maxWaitingPerMeter: 16, readRetryMs: 60_000, maxMeters: 100_000 },
  deadLetters: { maxRows: 10_000, maxQueued: 1_000 },
};

/**
 * Terminals and meters as the intake looks them up: each a DLMS terminal reached over the
 * simulator's management client (LLS; the intake hands the adapter its password, as the key
 * store would) unless the endpoint says otherwise, with
 * one meter `<id>-1` at address 1.
 */
export class PushTestDirectory implements PushTopology {
  private readonly terminals = new Map<string, Terminal>();
  private readonly meters = new Map<string, Meter>();

  add(id: string, endpoint: Pick<DlmsEndpoint, 'port'> & Partial<DlmsEndpoint>): void {
    this.terminals.set(id, {
      id: terminalId(id), name: id, protocol: 'dlms', enabled: true, profiles: [],
      dlms: { host: '127.0.0.1', framing: 'wrapper', clientSap: 1, auth: 'low', ...endpoint },
    });
    this.meters.set(`${id}-1`, {
      id: meterId(`${id}-1`), name: id, terminalId: terminalId(id), address: '1', ctRatio: 1, ptRatio: 1, areaId: null, protected: false, customerRef: null, accountRef: null,
    });
  }

  listTerminals(): Terminal[] {
    return [...this.terminals.values()];
  }

  findTerminal(id: string): Terminal | undefined {
    return this.terminals.get(id);
  }

  findMeter(id: string): Meter | undefined {
    return this.meters.get(id);
  }

  metersOfTerminal(id: string): Meter[] {
    return [...this.meters.values()].filter((m) => m.terminalId === id);
  }
}

export async function startPushIntake(o: PushIntakeOptions): Promise<PushIntake> {
  const db = o.db ?? openDatabase(':memory:');
  const password = o.password ?? '12345678';
  const readings: RawReading[] = [];
  const events: RawDeviceEvent[] = [];
  const securityEvents: SecurityEvent[] = [];
  const problems: string[] = [];
  const config = { ...PUSH_TEST_CONFIG, ...o.config, ...(o.mqtt === undefined ? {} : { mqtt: { enabled: true } }) };
  const push = stationDlmsPush(config, { lists: new SqlitePushListStore(db, { maxMeters: config.lists.maxMeters }), deadLetters: new SqlitePushDeadLetterStore(db) }, o.directory, {
    ...(o.mqtt === undefined ? {} : { mqtt: { ...o.mqtt, clientId: `push-intake-${process.pid}`, topicPrefix: 'gridhead/v1' } }),
    ...(o.security === undefined ? {} : { security: o.security }),
    onSecurityEvent: (e) => { securityEvents.push(e); },
    onProblem: (source, code, sender, detail) => { problems.push(`${source}:${code}:${sender}:${detail}`); },
  });
  const adapter = new DlmsAdapter({ catalogue: QUANTITIES, timeoutMs: 5_000, passwordFor: () => password, push: push.options });
  const scheduler = new CollectionScheduler({
    config: { concurrency: 4, offlineAfterFailures: 3, pushSilenceMs: 300_000, profiles: {} },
    topology: {
      terminals: () => o.directory.listTerminals(),
      terminal: (id) => o.directory.findTerminal(id),
      metersOf: (id) => o.directory.metersOfTerminal(id),
    },
    adapters: { dlms: adapter },
    sink: () => undefined,
    stats: new CollectionStats({ store: new SqliteCollectionStatsStore(db), utcOffsetMinutes: 0 }),
    onDemandPolicy: { timeoutMs: 5_000, retries: 0, retryBackoffMs: 0 },
  });
  scheduler.start();
  const unsubscribe = adapter.subscribe(collectPushSink('dlms', 'dlms-push', {
    offer: (b) => {
      if (o.refuse?.() === true) return Promise.reject(new Error('the store refused the batch'));
      readings.push(...b);
      return Promise.resolve({ rejections: [], committed: Promise.resolve() });
    },
    collector: scheduler,
    events: (b) => { events.push(...b); },
  }));
  const { tcpPort } = await adapter.whenSubscribed();
  const intake = adapter.pushIntake;
  if (intake === undefined) throw new Error('the DLMS adapter has no push intake after subscribe');
  return {
    service: { receiver: intake.receiver, learner: intake.learner, deadLetters: push.deadLetters, tcpPort },
    scheduler, adapter, db, readings, events, securityEvents, problems,
    close: async () => {
      // As the head-end does: the collector stops first, then the intake, then the store.
      await scheduler.stop();
      await unsubscribe();
      await adapter.close();
      await push.deadLetters.flush();
      if (o.db === undefined) db.close();
    },
  };
}
