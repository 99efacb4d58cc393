/**
 * The head-end's DLMS push intake (startDlmsPushService) on its own, as the integration tests
 * need it: a real collector (no profiles, so it polls nothing by itself) whose lanes carry the
 * scaler and push-list reads over the real DLMS adapter, and an in-memory embedded store;
 * and the directory of simulated meters it identifies pushes against.
 */
import type { RawDeviceEvent, RawReading } from '../../protocols/adapter.js';
import { DlmsAdapter } from '../../protocols/dlms/adapter.js';
import type { PushSecurity } from '../../protocols/dlms/push/notification.js';
import type { MqttConnection } from '../../protocols/mqtt/connection.js';
import type { SecurityEvent } from '../../protocols/dlms/security/settings.js';
import type { PushDirectory } from '../../src/collect/dlmsPush.js';
import { startDlmsPushService, type DlmsPushService } from '../../src/collect/dlmsPushService.js';
import { CollectionScheduler } from '../../src/collect/scheduler.js';
import { CollectionStats } from '../../src/collect/stats.js';
import { SqliteCollectionStatsStore } from '../../src/collect/statsStore.js';
import type { GridheadConfig } from '../../src/config/schema.js';
import { QUANTITIES, meterId, terminalId, type DlmsEndpoint, type Meter, type Terminal } from '../../src/domain/index.js';
import { openDatabase, type Db } from '../../src/storage/db.js';

export interface PushIntakeOptions {
  readonly directory: PushDirectory;
  readonly config?: Partial<GridheadConfig['dlms']['push']>;
  readonly security?: PushSecurity;
  /** The broker connection (login, TLS) and the dead-letter topic. */
  readonly mqtt?: MqttConnection & { readonly deadLetterTopic: string };
  /** An existing store (a restart test reopens the same file). */
  readonly db?: Db;
  /** The LLS password of the polled meters, as the key store would hand it over; default the simulator's. */
  readonly password?: string;
}

export interface PushIntake {
  readonly service: DlmsPushService;
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
  deadLetters: { maxRows: 10_000 },
};

/**
 * Terminals and meters as the intake looks them up: each a DLMS terminal reached over the
 * simulator's management client (LLS; the intake hands the adapter its password, as the key
 * store would) unless the endpoint says otherwise, with
 * one meter `<id>-1` at address 1.
 */
export class PushTestDirectory implements PushDirectory {
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
  const adapter = new DlmsAdapter({ catalogue: QUANTITIES, timeoutMs: 5_000, passwordFor: () => password });
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
  const readings: RawReading[] = [];
  const events: RawDeviceEvent[] = [];
  const securityEvents: SecurityEvent[] = [];
  const problems: string[] = [];
  const config = { ...PUSH_TEST_CONFIG, ...o.config, ...(o.mqtt === undefined ? {} : { mqtt: { enabled: true } }) };
  const service = await startDlmsPushService({
    config,
    directory: o.directory,
    catalogue: QUANTITIES,
    adapter,
    lanes: scheduler,
    requestTimeoutMs: 5_000,
    db,
    ...(o.mqtt === undefined ? {} : { mqtt: { ...o.mqtt, clientId: `push-intake-${process.pid}`, topicPrefix: 'gridhead/v1' } }),
    ...(o.security === undefined ? {} : { security: o.security }),
    readings: (b) => { readings.push(...b); },
    events: (b) => { events.push(...b); },
    onSecurityEvent: (e) => { securityEvents.push(e); },
    onProblem: (source, code, sender, detail) => { problems.push(`${source}:${code}:${sender}:${detail}`); },
  });
  return {
    service, scheduler, adapter, db, readings, events, securityEvents, problems,
    close: async () => {
      // As the head-end does: the collector stops first, then the intake, then the store.
      await scheduler.stop();
      await service.close();
      await adapter.close();
      if (o.db === undefined) db.close();
    },
  };
}
