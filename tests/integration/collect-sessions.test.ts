/**
 * Session keeping over real sockets: the collector polls simulated Modbus terminals through the
 * real adapter, and what stays connected between cycles is counted at the adapter's sessions
 * and at the simulator's accepted connections. The scheduler's time is stepped by hand, so
 * cycles come when the test says and nothing depends on how fast the machine is.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TerminalSession, TransportAdapter } from '../../protocols/adapter.js';
import { ModbusAdapter } from '../../protocols/modbus/adapter.js';
import { CollectionScheduler, CollectionStats, SqliteCollectionStatsStore, type Clock } from '../../src/collect/index.js';
import type { CollectSettings } from '../../src/collect/scheduler.js';
import { meterId, terminalId, type Meter, type Terminal } from '../../src/domain/index.js';
import { openDatabase } from '../../src/storage/db.js';
import { ModbusTerminalSimulator } from '../../simulators/modbus/terminal.js';
import { THREE_PHASE_METER_MAP, THREE_PHASE_METER_MAP_NAME } from '../../simulators/modbus/threePhaseMeterMap.js';

const T0 = Date.UTC(2024, 5, 12, 10, 0, 0);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Time that moves only when told; due timers fire in order as it passes them. */
class SteppedClock implements Clock {
  #t = T0;
  readonly #due = new Map<ReturnType<typeof setTimeout>, { readonly at: number; readonly fn: () => void }>();

  now = (): number => this.#t;

  setTimeout = (fn: () => void, ms: number): ReturnType<typeof setTimeout> => {
    // A real handle that never fires serves as the token the Clock contract asks for.
    const token = setTimeout(() => undefined, 2 ** 31 - 1);
    token.unref();
    this.#due.set(token, { at: this.#t + ms, fn });
    return token;
  };

  clearTimeout = (token: ReturnType<typeof setTimeout>): void => {
    clearTimeout(token);
    this.#due.delete(token);
  };

  advance(ms: number): void {
    const to = this.#t + ms;
    for (;;) {
      const next = [...this.#due].filter(([, d]) => d.at <= to).sort(([, a], [, b]) => a.at - b.at)[0];
      if (next === undefined) break;
      const [token, d] = next;
      this.clearTimeout(token);
      this.#t = Math.max(this.#t, d.at);
      d.fn();
    }
    this.#t = to;
  }
}

/** The real adapter, with the sessions it has open and not yet closed counted. */
function counting(adapter: TransportAdapter): { readonly adapter: TransportAdapter; open(): number } {
  let open = 0;
  return {
    open: () => open,
    adapter: {
      protocol: adapter.protocol,
      capabilities: adapter.capabilities,
      close: () => adapter.close(),
      open: async (t, signal): Promise<TerminalSession> => {
        const session = await adapter.open(t, signal);
        open++;
        return {
          read: (items, s) => session.read(items, s),
          close: async () => {
            open--;
            await session.close();
          },
        };
      },
    },
  };
}

async function rig(terminalCount: number, intervalSeconds: number, keepSessions?: CollectSettings['keepSessions']) {
  const clock = new SteppedClock();
  const sim = new ModbusTerminalSimulator({ meters: 1, seed: 3, clock: clock.now, startTs: T0 - 3_600_000 });
  const { port } = await sim.start();
  cleanups.push(() => sim.stop());
  // Terminals at one simulator: each has its own session and its own connection to it.
  const terminals: Terminal[] = Array.from({ length: terminalCount }, (_, i) => ({
    id: terminalId(`mb-${i + 1}`), name: `modbus ${i + 1}`, protocol: 'modbus', enabled: true, profiles: ['power'],
    modbus: { host: '127.0.0.1', port, framing: 'tcp', registerMap: THREE_PHASE_METER_MAP_NAME },
  }));
  const meters: Meter[] = terminals.map((t) => ({
    id: meterId(`${t.id}-m`), name: `${t.id}-m`, terminalId: t.id, address: '1', ctRatio: 1, ptRatio: 1, areaId: null, protected: false, customerRef: null, accountRef: null,
  }));
  const modbus = new ModbusAdapter({ requestTimeoutMs: 2_000, reconnectMinMs: 100, reconnectMaxMs: 1_000, registerMaps: { [THREE_PHASE_METER_MAP_NAME]: THREE_PHASE_METER_MAP }, now: clock.now });
  const counted = counting(modbus);
  const db = openDatabase(':memory:');
  let readings = 0;
  const scheduler = new CollectionScheduler({
    config: {
      concurrency: 4, offlineAfterFailures: 2, pushSilenceMs: 60_000,
      profiles: { power: { quantities: ['power.active'], intervalSeconds, align: false, jitterMs: 0, timeoutMs: 2_000, retries: 0, retryBackoffMs: 0, backfillHours: 48 } },
      ...(keepSessions === undefined ? {} : { keepSessions }),
    },
    topology: { terminals: () => terminals, terminal: (id) => terminals.find((t) => t.id === id), metersOf: (id) => meters.filter((m) => m.terminalId === id) },
    adapters: { modbus: counted.adapter },
    stats: new CollectionStats({ store: new SqliteCollectionStatsStore(db), utcOffsetMinutes: 0, clock }),
    clock,
    sink: (batch) => { readings += batch.length; },
  });
  cleanups.push(async () => { await scheduler.stop(); await modbus.close(); db.close(); });
  /** Moves time on by `ms` and waits until the cycles it started have read every terminal once more. */
  const cycle = async (ms: number) => {
    const before = readings;
    clock.advance(ms);
    await vi.waitFor(() => { expect(readings).toBe(before + terminalCount); });
    await vi.waitFor(() => { expect(scheduler.counters().permitsInUse).toBe(0); });
  };
  return { sim, scheduler, counted, cycle };
}

describe('collection sessions over real sockets', () => {
  it('keeps at most keepSessions.max sessions open between cycles however many terminals it polls', async () => {
    const { sim, scheduler, counted, cycle } = await rig(5, 15, { max: 2, idleMs: 120_000 });
    scheduler.start();
    await cycle(0);
    expect(sim.connectionsAccepted).toBe(5);
    expect(counted.open()).toBe(2);
    expect(scheduler.counters()).toMatchObject({ sessionsOpen: 2, sessionsKept: 2 });

    // The two kept sessions are used again; the other three terminals connect anew.
    await cycle(15_000);
    expect(sim.connectionsAccepted).toBe(5 + 3);
    expect(counted.open()).toBe(2);
    expect(scheduler.counters()).toMatchObject({ sessionsOpen: 2, sessionsKept: 2 });
  });

  it('closes a session after its cycle when the next one is further away than keepSessions.idleMs, and reopens it then', async () => {
    const { sim, scheduler, counted, cycle } = await rig(1, 300, { max: 10, idleMs: 120_000 });
    scheduler.start();
    await cycle(0);
    expect(sim.connectionsAccepted).toBe(1);
    expect(counted.open()).toBe(0);
    expect(scheduler.counters()).toMatchObject({ sessionsOpen: 0, sessionsKept: 0 });

    await cycle(300_000);
    expect(sim.connectionsAccepted).toBe(2);
    expect(counted.open()).toBe(0);
  });

  it('keeps every session of a small fleet polled every 15 s with the default settings', async () => {
    const { sim, scheduler, counted, cycle } = await rig(4, 15);
    scheduler.start();
    await cycle(0);
    await cycle(15_000);
    await cycle(15_000);
    expect(sim.connectionsAccepted).toBe(4);
    expect(counted.open()).toBe(4);
    expect(scheduler.counters()).toMatchObject({ sessionsOpen: 4, sessionsKept: 4 });
  });
});
