/**
 * DLMS polling throughput: meters fully read per second against simulated meters, over the
 * TCP wrapper and over HDLC. A full read is what a head-end does on a scheduled read: open
 * the TCP connection (and the HDLC link), associate as the public client (no security), read
 * the clock and ten registers with their scalers, release, close. It counts only when all
 * eleven values came back. At most CONCURRENCY meters are being read at once, and a meter is
 * never read twice at the same time.
 *
 * The headline figures read as the head-end's adapter does (protocols/dlms/adapter.ts): one
 * GET-with-list for the clock and the values, the scalers added on a meter's first read only
 * (scaler_unit is fixed per meter, so a head-end caches it). The `.per_object` figures read
 * with the COSEM helpers instead (readClock, then readRegister with the same cache): one
 * request per object, eleven round trips where the list takes two, to show what the list saves.
 *
 * The meters run in a child process (tests/bench/dlmsFleetProcess.ts) so their CPU lands on
 * the other core and the CPU figure is the poller's.
 */
import { setMaxListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asDateTime } from '../../protocols/dlms/axdr/describe.js';
import { cosemDateTimeToEpochMs } from '../../protocols/dlms/axdr/dateTime.js';
import { DlmsClient, type GetResult } from '../../protocols/dlms/client/client.js';
import { COSEM_OBIS, parseScalerUnit, readClock, readRegister, ScalerUnitCache, scaled } from '../../protocols/dlms/client/cosem.js';
import { valueOf } from '../../protocols/dlms/client/cosemAccess.js';
import { openDlmsTransport, type DlmsFraming } from '../../protocols/dlms/net/clientTransport.js';
import { PUBLIC_CLIENT } from '../../simulators/dlms/server.js';
import { isDlmsFleetReply, type DlmsFleetCommand, type DlmsFleetReply } from './dlmsFleetProcess.js';
import { percentile } from './stats.js';
import { forkTypeScript, nextMessage, type ForkedModule } from './forkTs.js';

const METERS_PER_FRAMING = 200;
const CONCURRENCY = 32;
const WARMUP_MS = 1_000;
const DURATION_MS = 8_000;
const PER_OBJECT_DURATION_MS = 4_000;
const TIMEOUT_MS = 5_000;
const ENTRY = 'tests/bench/dlmsFleetProcess.ts';

const CLOCK = { classId: 8, obis: COSEM_OBIS.clock, attribute: 2 };
const REGISTERS = [
  '1.0.1.8.0.255', '1.0.2.8.0.255', '1.0.3.8.0.255', '1.0.4.8.0.255', '1.0.1.7.0.255',
  '1.0.32.7.0.255', '1.0.52.7.0.255', '1.0.72.7.0.255', '1.0.31.7.0.255', '1.0.14.7.0.255',
] as const;
const VALUE_REFS = REGISTERS.map((obis) => ({ classId: 3, obis, attribute: 2 }));
const SCALER_REFS = REGISTERS.map((obis) => ({ classId: 3, obis, attribute: 3 }));

let fleet: ForkedModule | undefined;
let ports: Readonly<Record<DlmsFraming, readonly number[]>> = { wrapper: [], hdlc: [] };
const run = new AbortController();
// every read in flight listens on the one run-wide signal
setMaxListeners(CONCURRENCY * 4, run.signal);

beforeAll(async () => {
  fleet = await forkTypeScript(ENTRY, ['--dlms-fleet']);
  const ready = await ask({ type: 'start', meters: { wrapper: METERS_PER_FRAMING, hdlc: METERS_PER_FRAMING }, seed: 7 });
  if (ready.type !== 'ready') throw new Error(`DLMS fleet did not start: ${JSON.stringify(ready)}`);
  ports = ready.ports;
});

afterAll(async () => {
  run.abort(new Error('benchmark over'));
  if (fleet?.child.connected === true) {
    // a fleet that does not answer is killed by dispose()
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => { timer = setTimeout(resolve, 5_000); });
    await Promise.race([ask({ type: 'stop' }).catch((e: unknown) => { console.warn('DLMS fleet stop failed:', e); }), gaveUp]);
    clearTimeout(timer);
  }
  await fleet?.dispose();
});

describe.each(['wrapper', 'hdlc'] as const)('DLMS polling over %s', (framing) => {
  it('reads simulated meters fully, the clock and values in one GET-with-list', async () => {
    const r = await measure(framing, 'with-list', DURATION_MS);
    expect(r.ok).toBeGreaterThan(0);
  });

  it('reads simulated meters fully, one GET per object (readClock, readRegister)', async () => {
    const r = await measure(framing, 'per-object', PER_OBJECT_DURATION_MS);
    expect(r.ok).toBeGreaterThan(0);
  });
});

/** Warms up, polls for `durationMs` and prints the figures under `dlms.poll.<framing>[.per_object]`. */
async function measure(framing: DlmsFraming, strategy: Strategy, durationMs: number): Promise<PollResult> {
  const meters = ports[framing];
  expect(meters.length).toBe(METERS_PER_FRAMING);
  const scalers = new ScalerUnitCache();

  // warm-up (JIT, the scaler cache for most meters), not counted
  await poll(framing, strategy, meters, scalers, WARMUP_MS);
  const sim0 = await simulatorCpuUs();
  const cpu0 = process.cpuUsage();
  const r = await poll(framing, strategy, meters, scalers, durationMs);
  const cpu = process.cpuUsage(cpu0);
  const simCpu = (await simulatorCpuUs()) - sim0;

  const name = `dlms.poll.${framing}${strategy === 'per-object' ? '.per_object' : ''}`;
  const perMeter = (us: number) => (us / Math.max(1, r.ok)).toFixed(1);
  console.log(`bench: ${name}.meters_per_s = ${(r.ok / (r.elapsedMs / 1000)).toFixed(0)} meters/s`);
  console.log(`bench: ${name}.p50_ms = ${percentile(r.latencies, 0.5).toFixed(2)} ms`);
  console.log(`bench: ${name}.p99_ms = ${percentile(r.latencies, 0.99).toFixed(2)} ms`);
  console.log(`bench: ${name}.poller_cpu_us_per_meter = ${perMeter(cpu.user + cpu.system)} us`);
  console.log(`bench: ${name}.simulator_cpu_us_per_meter = ${perMeter(simCpu)} us`);
  console.log(`bench: ${name}.failed_reads = ${r.failed} reads`);
  const steps = Object.entries(r.stepMs).map(([step, ms]) => `${step} ${(ms / Math.max(1, r.ok + r.failed)).toFixed(2)}`);
  console.log(`${name}: mean ms per read by step: ${steps.join(', ')}`);
  for (const [kind, n] of r.errors) console.warn(`${name}: ${n} × ${kind}`);
  return r;
}

/** `with-list` as the adapter reads; `per-object` as the COSEM helpers read, one request per object. */
type Strategy = 'with-list' | 'per-object';
type Step = 'connect' | 'associate' | 'get' | 'release';

interface PollResult {
  ok: number;
  failed: number;
  elapsedMs: number;
  latencies: number[];
  /** Summed time per step, to show where a read's time goes. */
  stepMs: Record<Step, number>;
  /** Failures by error name and first message; bounded by the kinds that occur. */
  errors: Map<string, number>;
}

/** CONCURRENCY loops, each taking the next idle meter round-robin, until `durationMs` is up. */
async function poll(framing: DlmsFraming, strategy: Strategy, meters: readonly number[], scalers: ScalerUnitCache, durationMs: number): Promise<PollResult> {
  const result: PollResult = {
    ok: 0, failed: 0, elapsedMs: 0, latencies: [], stepMs: { connect: 0, associate: 0, get: 0, release: 0 }, errors: new Map(),
  };
  const t0 = performance.now();
  const end = t0 + durationMs;
  let next = 0;
  const busy = new Set<number>();
  const worker = async () => {
    while (performance.now() < end) {
      let port = meters[next++ % meters.length];
      while (port === undefined || busy.has(port)) port = meters[next++ % meters.length];
      busy.add(port);
      const started = performance.now();
      try {
        await readMeter(framing, strategy, port, scalers, result.stepMs);
        result.ok++;
        result.latencies.push(performance.now() - started);
      } catch (err) {
        result.failed++;
        const kind = err instanceof Error ? `${err.name}: ${err.message.slice(0, 120)}` : String(err);
        // bounded: past 20 kinds the rest share one bucket
        const key = result.errors.has(kind) || result.errors.size < 20 ? kind : 'other';
        result.errors.set(key, (result.errors.get(key) ?? 0) + 1);
      } finally {
        busy.delete(port);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, meters.length) }, worker));
  result.elapsedMs = performance.now() - t0;
  return result;
}

/** One full read of the meter at `port`; throws unless every value came back. */
async function readMeter(framing: DlmsFraming, strategy: Strategy, port: number, scalers: ScalerUnitCache, stepMs: Record<Step, number>): Promise<void> {
  const signal = run.signal;
  let t = performance.now();
  const lap = (step: Step) => {
    const now = performance.now();
    stepMs[step] += now - t;
    t = now;
  };
  const transport = await openDlmsTransport({ host: '127.0.0.1', port, framing, clientSap: PUBLIC_CLIENT, serverSap: 1, timeoutMs: TIMEOUT_MS }, signal);
  lap('connect');
  const client = new DlmsClient(transport, { clientSap: PUBLIC_CLIENT, auth: { mechanism: 'none' }, timeoutMs: TIMEOUT_MS });
  let failure: Error | undefined;
  try {
    await client.associate(signal);
    lap('associate');
    await readValues(client, strategy, String(port), scalers, signal);
    lap('get');
  } catch (err) {
    failure = err instanceof Error ? err : new Error(String(err));
  }
  // release() closes whatever its outcome; a refused or unanswered release fails the read
  const released = await client.release(signal);
  lap('release');
  if (failure !== undefined) throw failure;
  if (!released.ok) throw released.error;
}

/** The clock and the ten registers, with their scalers applied; throws unless every value came back. */
async function readValues(client: DlmsClient, strategy: Strategy, meter: string, scalers: ScalerUnitCache, signal: AbortSignal): Promise<void> {
  if (strategy === 'with-list') {
    const needScalers = REGISTERS.some((obis) => scalers.get(meter, obis) === undefined);
    const results = await client.getList([CLOCK, ...VALUE_REFS, ...(needScalers ? SCALER_REFS : [])], signal);
    checkValues(meter, results, scalers);
    return;
  }
  // each helper throws a typed error unless its value came back
  const clock = await readClock(client, { signal });
  if (!Number.isFinite(clock.epochMs)) throw new Error('clock unreadable');
  for (const obis of REGISTERS) {
    const reading = await readRegister(client, obis, { cache: scalers, meter, signal });
    if (!Number.isFinite(reading.value)) throw new Error(`${obis}: not a number`);
  }
}

/** Decodes the clock and applies each register's scaler, as a head-end would before storing. */
function checkValues(meter: string, results: readonly GetResult[], scalers: ScalerUnitCache): void {
  const [clock] = results;
  if (clock === undefined || results.length < 1 + REGISTERS.length) throw new Error(`${results.length} results for ${1 + REGISTERS.length} items`);
  const epochMs = cosemDateTimeToEpochMs(asDateTime(valueOf(clock, CLOCK), 'clock time'));
  if (!Number.isFinite(epochMs)) throw new Error('clock unreadable');
  for (const [i, obis] of REGISTERS.entries()) {
    const scaler = results[1 + REGISTERS.length + i];
    const scalerRef = SCALER_REFS[i];
    if (scaler !== undefined && scalerRef !== undefined) scalers.set(meter, obis, parseScalerUnit(valueOf(scaler, scalerRef)));
    const su = scalers.get(meter, obis);
    const value = results[1 + i];
    const valueRef = VALUE_REFS[i];
    if (su === undefined || value === undefined || valueRef === undefined) throw new Error(`${obis}: no value or scaler`);
    if (!Number.isFinite(scaled(valueOf(value, valueRef), su.scaler))) throw new Error(`${obis}: not a number`);
  }
}

async function simulatorCpuUs(): Promise<number> {
  const reply = await ask({ type: 'usage' });
  if (reply.type !== 'usage') throw new Error(`unexpected reply from the DLMS fleet: ${reply.type}`);
  return reply.cpuUs;
}

function ask(command: DlmsFleetCommand): Promise<DlmsFleetReply> {
  if (fleet === undefined) return Promise.reject(new Error('the DLMS fleet is not running'));
  const reply = nextMessage(fleet.child, isDlmsFleetReply);
  fleet.child.send(command);
  return reply;
}
