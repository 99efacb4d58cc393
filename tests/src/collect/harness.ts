/**
 * In-process fakes for the collector tests: a TransportAdapter whose terminals answer after
 * a scripted latency (on the faked timers), fail scripted items, hang or drop the line, and
 * which counts concurrent requests; a mutable topology; and a scheduler factory whose
 * resources are released by `closeAll()` in afterEach.
 */
import { vi } from 'vitest';
import type {
  AdapterCapabilities, ProfileOutcome, ProfileRequest, ProtocolName, RawReading, ReadItem, ReadOutcome, TerminalRef, TerminalSession, TransportAdapter,
} from '../../../protocols/adapter.js';
import { ConnectionError } from '../../../protocols/adapter.js';
import { CollectionScheduler, type CollectTopology, type CollectionSchedulerOptions } from '../../../src/collect/scheduler.js';
import { CollectionStats } from '../../../src/collect/stats.js';
import { SqliteCollectionStatsStore } from '../../../src/collect/statsStore.js';
import type { StateChange } from '../../../src/collect/terminalHealth.js';
import type { CollectProfileConfig } from '../../../src/config/schema.js';
import { meterId, terminalId } from '../../../src/domain/ids.js';
import type { Meter, Terminal } from '../../../src/domain/topology.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';

/** 2025-01-15 10:07:30 UTC: deliberately not on a cycle boundary. */
export const START = Date.UTC(2025, 0, 15, 10, 7, 30);

export interface TerminalScript {
  latencyMs: number;
  /** read() never settles and ignores its signal. */
  hang: boolean;
  openError?: () => Error | undefined;
  /** read() rejects with this. */
  readError?: () => Error | undefined;
  /** This item's outcome is a failure; `n` counts read calls to the terminal from 1. */
  itemError?: (item: ReadItem, n: number) => Error | undefined;
  /** The n-th stored-profile read (from 1) fails with this. */
  profileError?: (n: number) => Error | undefined;
}

export interface ReadCall {
  readonly terminalId: string;
  readonly items: readonly ReadItem[];
  readonly at: number;
  endedAt?: number;
}

export class FakeAdapter implements TransportAdapter {
  /** Polled by default, like Modbus; a test may declare other capabilities under another protocol. */
  constructor(
    readonly capabilities: AdapterCapabilities = { pollable: true, commandsOverPush: false },
    readonly protocol: ProtocolName = 'modbus',
  ) {}

  readonly calls: ReadCall[] = [];
  /** Stored-profile reads; the fake meter captures an entry every 15 minutes. */
  readonly profileCalls: (ProfileRequest & { terminalId: string })[] = [];
  readonly opens: { terminalId: string; endpoint: unknown; at: number }[] = [];
  readonly closes: string[] = [];
  readonly openSessions = new Set<string>();
  inFlight = 0;
  maxInFlight = 0;
  maxInFlightPerTerminal = 0;
  readonly #perTerminal = new Map<string, number>();
  readonly #scripts = new Map<string, TerminalScript>();
  readonly #readCount = new Map<string, number>();

  script(id: string): TerminalScript {
    let s = this.#scripts.get(id);
    if (s === undefined) this.#scripts.set(id, (s = { latencyMs: 10, hang: false }));
    return s;
  }

  callsOf(id: string): ReadCall[] {
    return this.calls.filter((c) => c.terminalId === id);
  }

  open(ref: TerminalRef<unknown>, _signal: AbortSignal): Promise<TerminalSession> {
    this.opens.push({ terminalId: ref.id, endpoint: ref.endpoint, at: Date.now() });
    const err = this.script(ref.id).openError?.();
    if (err !== undefined) return Promise.reject(err);
    this.openSessions.add(ref.id);
    let closed = false;
    const session: TerminalSession = {
      read: (items, signal) => this.#read(ref.id, items, signal),
      readProfile: (request) => Promise.resolve(this.#readProfile(ref.id, request)),
      close: () => {
        if (!closed) {
          closed = true;
          this.closes.push(ref.id);
          this.openSessions.delete(ref.id);
        }
        return Promise.resolve();
      },
    };
    return Promise.resolve(session);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #readProfile(id: string, request: ProfileRequest): ProfileOutcome {
    this.profileCalls.push({ ...request, terminalId: id });
    const err = this.script(id).profileError?.(this.profileCalls.filter((c) => c.terminalId === id).length);
    if (err !== undefined) return { ok: false, error: err };
    const readings: RawReading[] = [];
    for (let ts = Math.ceil(request.from / 900_000) * 900_000; ts <= request.to; ts += 900_000) {
      readings.push({ terminalId: id, address: request.address, quantity: 'energy.active.import', value: ts / 900_000, ts });
    }
    return { ok: true, readings, lastCaptureTs: readings.at(-1)?.ts };
  }

  async #read(id: string, items: readonly ReadItem[], _signal: AbortSignal): Promise<ReadOutcome[]> {
    const s = this.script(id);
    const n = (this.#readCount.get(id) ?? 0) + 1;
    this.#readCount.set(id, n);
    const call: ReadCall = { terminalId: id, items: [...items], at: Date.now() };
    this.calls.push(call);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const mine = (this.#perTerminal.get(id) ?? 0) + 1;
    this.#perTerminal.set(id, mine);
    this.maxInFlightPerTerminal = Math.max(this.maxInFlightPerTerminal, mine);
    try {
      if (s.hang) await new Promise<never>(() => undefined);
      await new Promise<void>((resolve) => setTimeout(resolve, s.latencyMs));
      const err = s.readError?.();
      if (err !== undefined) throw err;
      return items.map((item): ReadOutcome => {
        const e = s.itemError?.(item, n);
        if (e !== undefined) return { ok: false, item, error: e };
        return { ok: true, item, reading: { terminalId: id, address: item.address, quantity: item.quantity, value: 1, ts: Date.now() } };
      });
    } finally {
      call.endedAt = Date.now();
      this.inFlight--;
      this.#perTerminal.set(id, (this.#perTerminal.get(id) ?? 1) - 1);
    }
  }
}

export class FakeTopology implements CollectTopology {
  readonly byId = new Map<string, Terminal>();
  readonly meters = new Map<string, Meter[]>();

  put(t: Terminal, meterCount = 1): Terminal {
    this.byId.set(t.id, t);
    this.meters.set(t.id, Array.from({ length: meterCount }, (_, i) => meter(t.id, String(i + 1))));
    return t;
  }

  remove(id: string): void {
    this.byId.delete(id);
    this.meters.delete(id);
  }

  terminals(): Iterable<Terminal> {
    return this.byId.values();
  }

  terminal(id: string): Terminal | undefined {
    return this.byId.get(id);
  }

  metersOf(id: string): readonly Meter[] {
    return this.meters.get(id) ?? [];
  }
}

export function modbusTerminal(id: string, over: { profiles?: string[]; enabled?: boolean; port?: number } = {}): Terminal {
  return {
    id: terminalId(id),
    name: id,
    protocol: 'modbus',
    enabled: over.enabled ?? true,
    profiles: over.profiles ?? ['fast'],
    modbus: { host: '127.0.0.1', port: over.port ?? 502, framing: 'tcp', registerMap: 'm' },
  };
}

export function mqttTerminal(id: string): Terminal {
  return { id: terminalId(id), name: id, protocol: 'mqtt', enabled: true, profiles: [], mqtt: {} };
}

function meter(tid: string, address: string): Meter {
  return {
    id: meterId(`${tid}-m${address}`), name: address, terminalId: terminalId(tid), address,
    ctRatio: 1, ptRatio: 1, areaId: null, protected: false, customerRef: null, accountRef: null,
  };
}

export function profile(over: Partial<CollectProfileConfig> = {}): CollectProfileConfig {
  return {
    quantities: ['power.active', 'voltage.l1'], intervalSeconds: 60, align: true, jitterMs: 0,
    timeoutMs: 3_000, retries: 0, retryBackoffMs: 0, backfillHours: 48, ...over,
  };
}

export interface Harness {
  readonly scheduler: CollectionScheduler;
  readonly adapter: FakeAdapter;
  readonly topology: FakeTopology;
  readonly db: Db;
  readonly stats: CollectionStats;
  readonly store: SqliteCollectionStatsStore;
  readonly changes: StateChange[];
  readonly faults: Error[];
  readonly batches: { terminalId: string; count: number; at: number }[];
}

export interface HarnessOptions extends Partial<Omit<CollectionSchedulerOptions, 'config' | 'topology' | 'adapters' | 'stats'>> {
  readonly profiles?: Record<string, CollectProfileConfig>;
  readonly concurrency?: number;
  readonly offlineAfterFailures?: number;
  readonly pushSilenceMs?: number;
  /** Default: the fake under modbus, and a push-only fake under mqtt (as the MQTT adapter declares). */
  readonly adapters?: CollectionSchedulerOptions['adapters'];
}

const open: Harness[] = [];

/** Fake timers at START, a fresh in-memory store, a scheduler (not started). */
export function harness(o: HarnessOptions = {}): Harness {
  vi.useFakeTimers({ now: START });
  const adapter = new FakeAdapter();
  const topology = new FakeTopology();
  const db = openDatabase(':memory:');
  const store = new SqliteCollectionStatsStore(db);
  const stats = new CollectionStats({ store, utcOffsetMinutes: o.utcOffsetMinutes ?? 0 });
  const changes: StateChange[] = [];
  const faults: Error[] = [];
  const batches: Harness['batches'] = [];
  const scheduler = new CollectionScheduler({
    config: {
      concurrency: o.concurrency ?? 16,
      offlineAfterFailures: o.offlineAfterFailures ?? 2,
      pushSilenceMs: o.pushSilenceMs ?? 60_000,
      profiles: o.profiles ?? { fast: profile() },
    },
    topology,
    adapters: { modbus: adapter, mqtt: new FakeAdapter({ pollable: false, commandsOverPush: true }, 'mqtt') },
    stats,
    sink: o.sink ?? ((batch, t) => {
      batches.push({ terminalId: t.id, count: batch.length, at: Date.now() });
    }),
    onStateChange: (c) => changes.push(c),
    onError: (e) => faults.push(e),
    ...o,
  });
  const h: Harness = { scheduler, adapter, topology, db, stats, store, changes, faults, batches };
  open.push(h);
  return h;
}

export async function closeAll(): Promise<void> {
  for (const h of open.splice(0)) {
    await h.scheduler.stop();
    h.db.close();
  }
  vi.useRealTimers();
}

export function connectionLost(id: string): ConnectionError {
  return new ConnectionError('connection reset by peer', id);
}
