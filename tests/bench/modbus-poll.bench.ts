/**
 * Modbus polling throughput: 200 simulated terminals, polled with 64 reads in flight, each
 * read one 40-register block (every instantaneous value of the three-phase meter), for 10 s.
 *
 * The simulators run in a child process (simulators/modbus/fleetProcess.ts), not in this
 * one and not in a worker thread: a separate process has its own event loop, heap and GC,
 * so on this 2-core machine the terminals' CPU lands on the other core and the figure is
 * the poller's (tests/bench/forkTs.ts runs the TypeScript child).
 */
import { setMaxListeners } from 'node:events';
import { afterAll, expect, it } from 'vitest';
import type { TerminalSession } from '../../protocols/adapter.js';
import { ModbusAdapter } from '../../protocols/modbus/adapter.js';
import { planBlocks } from '../../protocols/modbus/registerMap.js';
import type { FleetReply, FleetStart } from '../../simulators/modbus/fleetProcess.js';
import { percentile } from './stats.js';
import { forkTypeScript, nextMessage, type ForkedModule } from './forkTs.js';
import { INSTANTANEOUS_QUANTITIES, THREE_PHASE_METER_MAP, THREE_PHASE_METER_MAP_NAME } from '../../simulators/modbus/threePhaseMeterMap.js';

const TERMINALS = 200;
const CONCURRENCY = 64;
const DURATION_MS = 10_000;
const ENTRY = 'simulators/modbus/fleetProcess.ts';

let fleet: ForkedModule | undefined;
const sessions: TerminalSession[] = [];
const adapter = new ModbusAdapter({
  requestTimeoutMs: 2_000,
  reconnectMinMs: 500,
  reconnectMaxMs: 30_000,
  registerMaps: { [THREE_PHASE_METER_MAP_NAME]: THREE_PHASE_METER_MAP },
});

afterAll(async () => {
  await adapter.close();
  await fleet?.dispose();
});

const isFleetReply = (m: unknown): m is FleetReply => typeof m === 'object' && m !== null && 'type' in m;

it('polls simulated Modbus terminals', async () => {
  // the figure means "one 40-register block per terminal" only if the plan says so
  expect(planBlocks(THREE_PHASE_METER_MAP, INSTANTANEOUS_QUANTITIES).map((b) => b.count)).toEqual([40]);

  fleet = await forkTypeScript(ENTRY, ['--modbus-fleet']);
  const { child } = fleet;
  const start: FleetStart = { type: 'start', count: TERMINALS, metersPerTerminal: 1, seed: 1, framing: 'tcp' };
  child.send(start);
  const ready = await nextMessage(child, isFleetReply);
  if (ready.type !== 'ready') throw new Error(`fleet did not start: ${JSON.stringify(ready)}`);

  const signal = new AbortController().signal;
  // every read in flight listens on the one shared signal
  setMaxListeners(CONCURRENCY * 2, signal);
  for (const [i, port] of ready.ports.entries()) {
    sessions.push(await adapter.open({ id: `bench-${i}`, endpoint: { host: '127.0.0.1', port, framing: 'tcp', registerMap: THREE_PHASE_METER_MAP_NAME } }, signal));
  }
  const items = INSTANTANEOUS_QUANTITIES.map((quantity) => ({ address: '1', quantity }));

  // warm-up (JIT, TCP windows), not counted
  await poll(sessions, items, 1_000, signal);
  const cpu0 = process.cpuUsage();
  const r = await poll(sessions, items, DURATION_MS, signal);
  const cpu = process.cpuUsage(cpu0);

  child.send({ type: 'stop' });
  const stopped = await nextMessage(child, isFleetReply);

  const perSecond = r.ok / (r.elapsedMs / 1000);
  console.log(`bench: modbus.poll.terminals_per_s = ${perSecond.toFixed(0)} terminals/s`);
  console.log(`bench: modbus.poll.p99_ms = ${percentile(r.latencies, 0.99).toFixed(2)} ms`);
  console.log(`bench: modbus.poll.p50_ms = ${percentile(r.latencies, 0.5).toFixed(2)} ms`);
  console.log(`bench: modbus.poll.poller_cpu_us_per_terminal = ${((cpu.user + cpu.system) / Math.max(1, r.ok)).toFixed(1)} us`);
  console.log(`bench: modbus.poll.failed_reads = ${r.failed} reads`);
  expect(r.ok).toBeGreaterThan(0);
  expect(stopped.type).toBe('stopped');
});

interface PollResult { ok: number; failed: number; elapsedMs: number; latencies: number[] }

/** CONCURRENCY loops, each taking the next terminal round-robin, until `durationMs` is up. */
async function poll(all: TerminalSession[], items: { address: string; quantity: string }[], durationMs: number, signal: AbortSignal): Promise<PollResult> {
  const result: PollResult = { ok: 0, failed: 0, elapsedMs: 0, latencies: [] };
  const t0 = performance.now();
  const end = t0 + durationMs;
  let next = 0;
  const busy = new Set<number>();
  const worker = async () => {
    while (performance.now() < end) {
      // one read per terminal at a time, as the scheduler does
      let i = next++ % all.length;
      while (busy.has(i)) i = next++ % all.length;
      const session = all[i];
      if (session === undefined) continue;
      busy.add(i);
      const started = performance.now();
      const outcomes = await session.read(items, signal);
      busy.delete(i);
      result.latencies.push(performance.now() - started);
      if (outcomes.every((o) => o.ok)) result.ok++;
      else result.failed++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  result.elapsedMs = performance.now() - t0;
  return result;
}
