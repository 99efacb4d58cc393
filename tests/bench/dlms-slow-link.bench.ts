/**
 * Slow-link DLMS collection: how many meters a second the station reads fully when every
 * meter sits behind a link of 400 ms round trip (200 ms each way, a GPRS/cellular figure),
 * with thousands of sessions in flight, and what each session in flight costs.
 *
 * The fleet: METERS simulated wrapper meters, each on its own loopback address at the DLMS
 * port (127.42.b.c:4059; a head-end dials a GPRS meter at its own IP address the same way),
 * spread over FLEET_PROCESSES child processes (a process holds a listening socket per meter
 * and a socket per session, under the hard RLIMIT_NOFILE of 20,000 on this machine). Before
 * each meter, a delaying proxy (tests/bench/delayProxyProcess.ts, PROXY_PROCESSES children,
 * 127.41.b.c:4059) holds every chunk 200 ms each way and charges the TCP handshake's round trip.
 *
 * The poller reads as the station's collector does for a DLMS terminal: the station's
 * DlmsAdapter (protocols/dlms/adapter.ts) opens the session (TCP connect, AARQ; the object
 * list cached by meter type), `read` takes the clock drift and ten registers with the
 * catalogue's quantities (scalers cached per meter after the first read), and `close`
 * releases the association and closes the connection. A read counts when every item came
 * back and the session is closed: a session holds its slot (and its file descriptor) until
 * then. At most CONCURRENCY sessions are in flight, and a meter is never read twice at once.
 *
 * Beside it, the ceiling of the proxy and simulators: a bare client that replays the bytes
 * of the minimal full read (AARQ, one GET-with-list of the clock and ten values, RLRQ) and
 * decodes nothing; and the theoretical rate, concurrency / (round trips × RTT).
 *
 * Memory per session in flight is (during the window − before it) / sessions in flight, three
 * ways: RSS (what the machine gives, allocator slack included), heap (V8 heap used plus
 * external buffers, garbage included), and live heap (the same after a full collection).
 *
 * Scale by environment (defaults are the full sweep): GRIDHEAD_SLOW_METERS,
 * GRIDHEAD_SLOW_CONCURRENCY (comma-separated), GRIDHEAD_SLOW_WINDOW_MS, GRIDHEAD_SLOW_WARMUP_MS,
 * GRIDHEAD_SLOW_ONE_WAY_MS, GRIDHEAD_SLOW_BARE=0 to skip the bare client,
 * GRIDHEAD_BENCH_CPU_PROFILE=<file> and GRIDHEAD_SLOW_HEAP_SNAPSHOT=<file> to profile the
 * station's poller at GRIDHEAD_SLOW_PROFILE_AT in flight (default 4,096).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { setMaxListeners } from 'node:events';
import { setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TimeoutError, type ReadItem } from '../../protocols/adapter.js';
import { DlmsAdapter } from '../../protocols/dlms/adapter.js';
import { DlmsClient } from '../../protocols/dlms/client/client.js';
import { COSEM_OBIS } from '../../protocols/dlms/client/cosem.js';
import type { ApduTransport } from '../../protocols/dlms/client/transport.js';
import type { DlmsEndpoint } from '../../protocols/dlms/config.js';
import { openDlmsTransport } from '../../protocols/dlms/net/clientTransport.js';
import { encodeWrapper, WRAPPER_HEADER_LENGTH } from '../../protocols/dlms/wrapper/wrapper.js';
import { linkSignals, systemClock } from '../../src/collect/clock.js';
import { QUANTITIES } from '../../src/domain/quantity.js';
import { PUBLIC_CLIENT } from '../../simulators/dlms/server.js';
import { startProfiler } from './cpuProfile.js';
import { isDelayProxyReply, type DelayProxyCommand, type DelayProxyReply, type DelayRoute } from './delayProxyProcess.js';
import { isDlmsFleetReply, type DlmsFleetCommand, type DlmsFleetReply } from './dlmsFleetProcess.js';
import { forkTypeScript, nextMessage, type ForkedModule } from './forkTs.js';
import { percentile } from './stats.js';

const env = process.env;
const METERS = Number(env.GRIDHEAD_SLOW_METERS ?? 12_000);
const CONCURRENCIES = (env.GRIDHEAD_SLOW_CONCURRENCY ?? '1024,4096,10000').split(',').map(Number);
const ONE_WAY_MS = Number(env.GRIDHEAD_SLOW_ONE_WAY_MS ?? 200);
const WARMUP_MS = Number(env.GRIDHEAD_SLOW_WARMUP_MS ?? 8_000);
const WINDOW_MS = Number(env.GRIDHEAD_SLOW_WINDOW_MS ?? 20_000);
const BARE = env.GRIDHEAD_SLOW_BARE !== '0';
const PROFILE_AT = Number(env.GRIDHEAD_SLOW_PROFILE_AT ?? 4_096);
/** Each holds a listening socket per meter and one per session: 3,000 + 2,500 stays under 20,000. */
const FLEET_PROCESSES = Math.max(1, Math.ceil(METERS / 3_000));
/** Each holds a listening socket per meter and two per session. */
const PROXY_PROCESSES = FLEET_PROCESSES;
const DLMS_PORT = 4059;
/** The station's default request timeout (dlms.requestTimeoutMs). */
const TIMEOUT_MS = 5_000;
const DAILY_ROUND_METERS = 1_000_000;
/** Round trips of the station's full read: TCP handshake, AARQ, GET(s), RLRQ. */
const STATION_ROUND_TRIPS = Number(env.GRIDHEAD_SLOW_ROUND_TRIPS ?? 4);
/** Round trips of the bare client's read: TCP handshake, AARQ, GET-with-list, RLRQ. */
const BARE_ROUND_TRIPS = 4;

const REGISTER_QUANTITIES = [
  'energy.active.import', 'energy.active.export', 'energy.reactive.import', 'energy.reactive.export', 'power.active',
  'voltage.l1', 'voltage.l2', 'voltage.l3', 'current.l1', 'frequency',
] as const;
const ITEMS: readonly ReadItem[] = [...REGISTER_QUANTITIES, 'clock.drift'].map((quantity) => ({ address: '1', quantity }));

/** 250 addresses per third octet keeps clear of .0 and .255. */
function address(net: number, i: number): string {
  return `127.${net}.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

const meterHosts = Array.from({ length: METERS }, (_, i) => address(42, i));
const proxyHosts = Array.from({ length: METERS }, (_, i) => address(41, i));
// A full collection before a heap figure, so it counts what sessions hold, not garbage not yet collected.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
const fleets: ForkedModule[] = [];
const proxies: ForkedModule[] = [];
const run = new AbortController();
setMaxListeners(0, run.signal);

beforeAll(async () => {
  const slices = (n: number) => Array.from({ length: n }, (_, p) => [Math.floor((p * METERS) / n), Math.floor(((p + 1) * METERS) / n)] as const);
  const t0 = performance.now();
  await Promise.all(slices(FLEET_PROCESSES).map(async ([from, to]) => {
    const fleet = await forkTypeScript('tests/bench/dlmsFleetProcess.ts', ['--dlms-fleet']);
    fleets.push(fleet);
    const ready = await askFleet(fleet, {
      type: 'start', meters: { wrapper: to - from, hdlc: 0 }, seed: 11 + from, listen: { hosts: meterHosts.slice(from, to), port: DLMS_PORT },
    });
    if (ready.type !== 'ready') throw new Error(`DLMS fleet did not start: ${JSON.stringify(ready)}`);
  }));
  await Promise.all(slices(PROXY_PROCESSES).map(async ([from, to]) => {
    const proxy = await forkTypeScript('tests/bench/delayProxyProcess.ts', ['--delay-proxy']);
    proxies.push(proxy);
    const routes: DelayRoute[] = [];
    for (let i = from; i < to; i++) routes.push({ listenHost: proxyHosts[i] ?? '', targetHost: meterHosts[i] ?? '' });
    const ready = await askProxy(proxy, { type: 'start', routes, port: DLMS_PORT, oneWayMs: ONE_WAY_MS });
    if (ready.type !== 'ready') throw new Error(`delay proxy did not start: ${JSON.stringify(ready)}`);
  }));
  console.log(`dlms_slow: ${METERS} meters in ${FLEET_PROCESSES} processes, ${PROXY_PROCESSES} proxy processes, up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}, 600_000);

afterAll(async () => {
  run.abort(new Error('benchmark over'));
  await Promise.all([
    ...fleets.map((f) => stopChild(f, () => askFleet(f, { type: 'stop' }))),
    ...proxies.map((p) => stopChild(p, () => askProxy(p, { type: 'stop' }))),
  ]);
});

describe('DLMS collection over slow links (200 ms each way)', () => {
  const best = { rate: 0, concurrency: 0 };

  it.each(CONCURRENCIES)('reads meters fully through the station adapter at %i in flight', async (concurrency) => {
    const r = await measure(`dlms_slow.c${concurrency}`, concurrency, stationRead(), concurrency === PROFILE_AT);
    expect(r.ok).toBeGreaterThan(0);
    if (r.rate > best.rate) Object.assign(best, { rate: r.rate, concurrency });
    console.log(`bench: dlms_slow.c${concurrency}.theoretical_meters_per_s = ${(concurrency / (STATION_ROUND_TRIPS * 2 * ONE_WAY_MS / 1000)).toFixed(0)} meters/s`);
  });

  it.runIf(BARE).each(CONCURRENCIES)('reads meters with a bare client replaying bytes at %i in flight (the ceiling)', async (concurrency) => {
    const bytes = await recordMinimalRead();
    const r = await measure(`dlms_slow.bare.c${concurrency}`, concurrency, bareRead(bytes), false);
    // An overloaded fleet may time every bare read out (the client does not back off): reported, not failed.
    expect(r.ok + r.failed).toBeGreaterThan(0);
    console.log(`bench: dlms_slow.bare.c${concurrency}.theoretical_meters_per_s = ${(concurrency / (BARE_ROUND_TRIPS * 2 * ONE_WAY_MS / 1000)).toFixed(0)} meters/s`);
  });

  it('projects the daily register round of a million meters at the best measured rate', () => {
    expect(best.rate).toBeGreaterThan(0);
    console.log(`bench: dlms_slow.daily_round_1m = ${(DAILY_ROUND_METERS / best.rate / 60).toFixed(1)} min (at ${best.rate.toFixed(0)} meters/s, ${best.concurrency} in flight, ${2 * ONE_WAY_MS} ms RTT)`);
  });
});

/** One full read of meter `i`; throws unless every value came back and the session closed. */
type ReadMeter = (i: number, signal: AbortSignal) => Promise<void>;

interface Measured {
  ok: number;
  failed: number;
  rate: number;
}

/** Warm-up, then the measured window; prints the figures under `name`. */
async function measure(name: string, concurrency: number, read: ReadMeter, profile: boolean): Promise<Measured> {
  const inFlight = Math.min(concurrency, METERS);
  collectGarbage();
  const before = memory();
  const usage0 = await childUsage();
  // Warm-up: JIT, scaler caches, and every session of the first wave opened and closed.
  const warm = startPolling(inFlight, read);
  await sleep(WARMUP_MS);
  const stopProfile = profile ? await startProfiler(env.GRIDHEAD_BENCH_CPU_PROFILE) : undefined;
  const counted = warm.snapshot();
  const cpu0 = process.cpuUsage();
  const children0 = await childUsage();
  const t0 = performance.now();
  const samples: { rss: number; heap: number; fds: number }[] = [];
  /** Live heap after a full collection, every fifth sample (a collection pauses the poller). */
  const live: number[] = [];
  let snapshotTaken = false;
  while (performance.now() - t0 < WINDOW_MS) {
    await sleep(1_000);
    samples.push({ ...memory(), fds: openFds() });
    if (samples.length % 5 === 3) {
      collectGarbage();
      live.push(memory().heap);
    }
    if (profile && !snapshotTaken && env.GRIDHEAD_SLOW_HEAP_SNAPSHOT !== undefined && samples.length >= 3) {
      snapshotTaken = true;
      console.log(`dlms_slow: heap snapshot written to ${writeHeapSnapshot(env.GRIDHEAD_SLOW_HEAP_SNAPSHOT)}`);
    }
  }
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const children = await childUsage();
  const r = warm.snapshot();
  await stopProfile?.();
  await warm.stop();
  const ok = r.ok - counted.ok;
  const failed = r.failed - counted.failed;
  const rate = ok / (elapsed / 1000);
  const mean = (f: (s: { rss: number; heap: number }) => number) => samples.reduce((a, s) => a + f(s), 0) / Math.max(1, samples.length);
  const kib = (bytes: number) => (bytes / 1024).toFixed(1);
  const limits = nofileLimits();
  console.log(`bench: ${name}.meters_per_s = ${rate.toFixed(0)} meters/s`);
  console.log(`bench: ${name}.p50_ms = ${percentile(r.latencies, 0.5).toFixed(0)} ms`);
  console.log(`bench: ${name}.p99_ms = ${percentile(r.latencies, 0.99).toFixed(0)} ms`);
  console.log(`bench: ${name}.failed_reads = ${failed} reads`);
  for (const [kind, n] of r.errors) console.warn(`${name}: ${n} × ${kind}`);
  console.log(`bench: ${name}.poller_cpu_ms_per_meter = ${((cpu.user + cpu.system) / 1000 / Math.max(1, ok)).toFixed(3)} ms`);
  console.log(`bench: ${name}.poller_cpu_percent = ${((cpu.user + cpu.system) / 1000 / elapsed * 100).toFixed(0)} %`);
  console.log(`bench: ${name}.simulators_cpu_ms_per_meter = ${((children.fleetUs - children0.fleetUs) / 1000 / Math.max(1, ok)).toFixed(3)} ms`);
  console.log(`bench: ${name}.proxies_cpu_ms_per_meter = ${((children.proxyUs - children0.proxyUs) / 1000 / Math.max(1, ok)).toFixed(3)} ms`);
  console.log(`bench: ${name}.rss_per_session_kib = ${kib((mean((s) => s.rss) - before.rss) / inFlight)} KiB`);
  console.log(`bench: ${name}.heap_per_session_kib = ${kib((mean((s) => s.heap) - before.heap) / inFlight)} KiB`);
  console.log(`bench: ${name}.live_heap_per_session_kib = ${kib((live.reduce((a, b) => a + b, 0) / Math.max(1, live.length) - before.heap) / inFlight)} KiB`);
  console.log(`bench: ${name}.rss_mib = ${(Math.max(...samples.map((s) => s.rss)) / 2 ** 20).toFixed(0)} MiB`);
  console.log(`bench: ${name}.peak_fds = ${Math.max(...samples.map((s) => s.fds))} fds`);
  console.log(`${name}: load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} (2 cores, shared)`);
  console.log(`${name}: RLIMIT_NOFILE soft ${limits.soft}, hard ${limits.hard}; proxies held ${children.connections} connections at the end; fleet CPU since start ${((children.fleetUs - usage0.fleetUs) / 1e6).toFixed(1)} s`);
  return { ok, failed, rate };
}

interface PollState {
  ok: number;
  failed: number;
  latencies: number[];
  errors: Map<string, number>;
}

/** `inFlight` loops, each taking the next idle meter round-robin, until stopped. */
function startPolling(inFlight: number, read: ReadMeter): { snapshot(): PollState; stop(): Promise<void> } {
  const state: PollState = { ok: 0, failed: 0, latencies: [], errors: new Map() };
  const busy = new Uint8Array(METERS);
  let next = 0;
  let stopped = false;
  const worker = async (k: number) => {
    // Sessions start spread over the first half of the warm-up, not as one storm of connects
    // that no link (nor this machine) would answer within the request timeout.
    await sleep((k / inFlight) * (WARMUP_MS / 2));
    while (!stopped) {
      let i = next++ % METERS;
      while (busy[i] === 1) i = next++ % METERS;
      busy[i] = 1;
      const started = performance.now();
      try {
        await read(i, run.signal);
        state.ok++;
        // bounded: one sample in eight
        if ((state.ok & 7) === 0) state.latencies.push(performance.now() - started);
      } catch (err) {
        state.failed++;
        const kind = err instanceof Error ? `${err.name}: ${err.message.replace(/127\.\d+\.\d+\.\d+/g, '<meter>').slice(0, 100)}` : String(err);
        // bounded: past 20 kinds the rest share one bucket
        const key = state.errors.has(kind) || state.errors.size < 20 ? kind : 'other';
        state.errors.set(key, (state.errors.get(key) ?? 0) + 1);
      } finally {
        busy[i] = 0;
      }
    }
  };
  const workers = Promise.all(Array.from({ length: inFlight }, (_, k) => worker(k)));
  return {
    snapshot: () => ({ ...state, latencies: [...state.latencies], errors: new Map(state.errors) }),
    stop: async () => {
      stopped = true;
      await workers;
    },
  };
}

/** The station's read: DlmsAdapter.open, session.read of the clock drift and ten registers, close. */
function stationRead(): ReadMeter {
  // The station's defaults (dlms.requestTimeoutMs, dlms.maxScalerEntries).
  const adapter = new DlmsAdapter({ catalogue: QUANTITIES, timeoutMs: TIMEOUT_MS, maxScalerEntries: 200_000 });
  return async (i, outer) => {
    const id = `m${i}`;
    const endpoint: DlmsEndpoint = {
      host: proxyHosts[i] ?? '', port: DLMS_PORT, framing: 'wrapper', clientSap: PUBLIC_CLIENT, auth: 'none', meterType: 'slow-link-bench',
    };
    // As the collector's lane does per attempt (src/collect/terminalLane.ts): the run's signal
    // linked with the attempt's deadline.
    const guard = linkSignals([outer], { clock: systemClock, timeoutMs: 3 * TIMEOUT_MS, onTimeout: () => new TimeoutError(id, 3 * TIMEOUT_MS, 'slow-link read') });
    try {
      const session = await adapter.open({ id, endpoint }, guard.signal);
      try {
        const outcomes = await session.read(ITEMS, guard.signal);
        for (const o of outcomes) if (!o.ok) throw o.error;
        if (outcomes.length !== ITEMS.length) throw new Error(`${outcomes.length} outcomes for ${ITEMS.length} items`);
      } finally {
        await session.close();
      }
    } finally {
      guard.dispose();
    }
  };
}

/** The APDUs of a minimal full read, recorded from one read by the client over the proxy. */
interface MinimalRead {
  readonly requests: readonly Uint8Array[];
}

let recorded: MinimalRead | undefined;

async function recordMinimalRead(): Promise<MinimalRead> {
  if (recorded !== undefined) return recorded;
  const requests: Uint8Array[] = [];
  const transport = await openDlmsTransport({ host: proxyHosts[0] ?? '', port: DLMS_PORT, framing: 'wrapper', clientSap: PUBLIC_CLIENT, serverSap: 1, timeoutMs: TIMEOUT_MS }, run.signal);
  const recording: ApduTransport = {
    request: (apdu, signal) => {
      requests.push(encodeWrapper({ source: PUBLIC_CLIENT, destination: 1, apdu }));
      return transport.request(apdu, signal);
    },
    close: () => transport.close(),
  };
  const client = new DlmsClient(recording, { clientSap: PUBLIC_CLIENT, auth: { mechanism: 'none' }, timeoutMs: TIMEOUT_MS });
  await client.associate(run.signal);
  const refs = [{ classId: 8, obis: COSEM_OBIS.clock, attribute: 2 }, ...REGISTER_QUANTITIES.map((q) => ({ classId: 3, obis: QUANTITIES[q].obis, attribute: 2 }))];
  const values = await client.getList(refs, run.signal);
  if (values.some((v) => !v.ok)) throw new Error('the recorded read did not get every value');
  const released = await client.release(run.signal);
  if (!released.ok) throw released.error;
  recorded = { requests };
  return recorded;
}

/** Replays the recorded requests, each after the previous reply's wrapper frame is complete. */
function bareRead(bytes: MinimalRead): ReadMeter {
  return (i) => new Promise<void>((resolve, reject) => {
    const socket: Socket = connect({ host: proxyHosts[i] ?? '', port: DLMS_PORT, noDelay: true });
    let step = 0;
    let got = 0;
    let want = -1;
    const timer = setTimeout(() => { socket.destroy(new Error('bare read timed out')); }, TIMEOUT_MS);
    const send = () => { socket.write(bytes.requests[step] ?? new Uint8Array(0)); };
    socket.once('connect', send);
    socket.on('data', (chunk: Buffer) => {
      if (want < 0 && chunk.length >= WRAPPER_HEADER_LENGTH) want = WRAPPER_HEADER_LENGTH + chunk.readUInt16BE(6);
      got += chunk.length;
      if (want < 0 || got < want) return;
      got = 0;
      want = -1;
      if (++step < bytes.requests.length) {
        send();
        return;
      }
      // The minimum: the FIN goes out and the kernel finishes the close; nothing waits for the meter's.
      clearTimeout(timer);
      socket.end(() => { socket.destroy(); });
      resolve();
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (step < bytes.requests.length) reject(new Error(`closed after ${step} of ${bytes.requests.length} replies`));
    });
  });
}

function memory(): { rss: number; heap: number } {
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.external };
}

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** The soft and hard RLIMIT_NOFILE of this process, from /proc/self/limits. */
function nofileLimits(): { soft: string; hard: string } {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const [soft = '?', hard = '?'] = line?.slice('Max open files'.length).trim().split(/\s+/) ?? [];
  return { soft, hard };
}

async function childUsage(): Promise<{ fleetUs: number; proxyUs: number; connections: number }> {
  const fleetReplies = await Promise.all(fleets.map((f) => askFleet(f, { type: 'usage' })));
  const proxyReplies = await Promise.all(proxies.map((p) => askProxy(p, { type: 'usage' })));
  let fleetUs = 0;
  let proxyUs = 0;
  let connections = 0;
  for (const r of fleetReplies) if (r.type === 'usage') fleetUs += r.cpuUs;
  for (const r of proxyReplies) {
    if (r.type !== 'usage') continue;
    proxyUs += r.cpuUs;
    connections += r.connections;
  }
  return { fleetUs, proxyUs, connections };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function askFleet(fleet: ForkedModule, command: DlmsFleetCommand): Promise<DlmsFleetReply> {
  const reply = nextMessage(fleet.child, isDlmsFleetReply);
  fleet.child.send(command);
  return reply;
}

function askProxy(proxy: ForkedModule, command: DelayProxyCommand): Promise<DelayProxyReply> {
  const reply = nextMessage(proxy.child, isDelayProxyReply);
  proxy.child.send(command);
  return reply;
}

/** Asks a child to stop, gives it 5 s, then disposes of it (killing it if it lingers). */
async function stopChild(child: ForkedModule, stop: () => Promise<unknown>): Promise<void> {
  if (child.child.connected) {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => { timer = setTimeout(resolve, 5_000); });
    await Promise.race([stop().catch((e: unknown) => { console.warn('child stop failed:', e); }), gaveUp]);
    clearTimeout(timer);
  }
  await child.dispose();
}
