/**
 * Push ingest end to end (DESIGN.md target: MQTT → rules → embedded store ≥ 100,000
 * readings/s sustained, CPU per reading printed). The rule engine runs with no rules here
 * (tests/bench/rules.bench.ts measures the rules' cost), so the path is broker → MQTT adapter → normalise → pipeline → SQLite store + live latest values.
 *
 * Three processes besides this one: the broker (Debian mosquitto when installed, else
 * aedes in a forked child), and 200 simulated terminals × 5 meters in a forked child
 * (tests/bench/mqttPublisherProcess.ts) publishing QoS 1 bursts of 110-reading messages,
 * never more than a window ahead of what the head-end accepted. The head-end runs here,
 * through the real composition root, so process.cpuUsage() is the head-end's CPU.
 *
 * Measured from the first reading accepted to the last one delivered to the store; at the
 * end the store must hold exactly the readings the broker acknowledged to the publishers.
 * A benchmark that silently loses data is worse than none, so a difference fails the file.
 * The sampler runs on the head-end's event loop, so its precision is one loop turn; the
 * event-loop delay figures say how long those turns get under load.
 *
 * The same run then goes into PostgreSQL: a throw-away cluster (tests/helpers/postgres.ts, fsync
 * on like the embedded default; skipped, the reason printed, where it is not installed) given to
 * the station as GRIDHEAD_DATABASE_URL, its figures named mqtt.ingest.postgres.*. The server's
 * CPU per reading is its processes' utime + stime from /proc across the run; the exactly-once
 * check counts the rows of its `readings` table.
 *
 * GRIDHEAD_BENCH_BROKER=aedes uses aedes even where Mosquitto is installed;
 * GRIDHEAD_BENCH_CPU_PROFILE=<file> writes a CPU profile of the head-end over the run.
 */
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SIMULATED_RATING } from '../../simulators/fleet.js';
import type { IngestPipeline } from '../../src/ingest/pipeline.js';
import { eventually, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';
import { mosquittoPath, startMosquitto } from '../helpers/mosquitto.js';
import { postgresUnavailable, queryPostgres, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { isAedesReady } from './aedesProcess.js';
import { startProfiler } from './cpuProfile.js';
import { forkTypeScript, nextMessage, type ForkedModule } from './forkTs.js';
import {
  benchMeterAddresses, benchTerminalId, isPublishersReply,
  type PublishersCommand, type PublishersReply, type PublishersStart,
} from './mqttPublisherProcess.js';

const TERMINALS = 200;
const METERS_PER_TERMINAL = 5;
/** Publishing stops after this long from the first accepted reading, or at MAX_READINGS. */
const DURATION_MS = 15_000;
const MAX_READINGS = 2_000_000;
/** Readings the publishers may run ahead of the head-end: ~2 s at the target rate. */
const WINDOW_READINGS = 200_000;
const SAMPLE_MS = 10;
/** After publishing stopped, give up waiting for the store once nothing moved for this long. */
const STALL_MS = 10_000;
/** Hard end of the run after DURATION_MS, whatever happens. */
const GRACE_MS = 30_000;

interface Broker { readonly kind: 'mosquitto' | 'aedes'; readonly url: string; close(): Promise<void> }

type Driver = 'embedded' | 'postgres';
const DRIVERS: readonly Driver[] = ['embedded', 'postgres'];
const postgresAbsent = postgresUnavailable();

let broker: Broker | undefined;
let headEnd: TestHeadEnd | undefined;
let publishers: ForkedModule | undefined;
let cluster: TestPostgres | undefined;

// Each run gets its own broker, station and cluster: nothing the first left queued reaches the second.
afterEach(async () => {
  await publishers?.dispose();
  await headEnd?.close();
  if (headEnd !== undefined) rmSync(headEnd.dataDir, { recursive: true, force: true });
  await broker?.close();
  await cluster?.dispose();
  publishers = undefined;
  headEnd = undefined;
  broker = undefined;
  cluster = undefined;
});

describe.each(DRIVERS)('MQTT ingest into the %s store', (driver) => {
  // The embedded figures keep their names: the README and earlier measurements quote them.
  const figure = (name: string): string => `mqtt.ingest.${driver === 'embedded' ? '' : `${driver}.`}${name}`;

  it('ingests MQTT pushes, exactly once', async (ctx) => {
    if (driver === 'postgres' && postgresAbsent !== undefined) {
      console.log(`mqtt ingest: the PostgreSQL run is skipped: ${postgresAbsent}`);
      ctx.skip();
    }
    // Measured before anything of this run is allocated; false only where /proc cannot reset it.
    const peakComparable = resetPeakRss() || driver === DRIVERS[0];
    broker = await startBroker();
    // GRIDHEAD_BENCH_DURABILITY=normal measures what the per-commit fsync of the default costs;
    // on PostgreSQL that is the cluster's fsync (the nearest setting: both keep every commit
    // across a crash of the process, neither across a power cut).
    const durability = process.env.GRIDHEAD_BENCH_DURABILITY === 'normal' ? 'normal' : 'full';
    let databaseUrl: string | undefined;
    if (driver === 'postgres') {
      cluster = await startPostgres({ fsync: durability === 'full' });
      databaseUrl = await cluster.createDatabase();
    }
    headEnd = await startTestHeadEnd({
      mqtt: { url: broker.url, embeddedBroker: { enabled: false } },
      simulators: { enabled: false },
      registry: seedRegistry(),
      storage: { durability },
    }, {
      env: {
        // Without simulators the station needs its master key from the environment, as in production.
        GRIDHEAD_MASTER_KEY: randomBytes(32).toString('hex'),
        ...(databaseUrl === undefined ? {} : { GRIDHEAD_DATABASE_URL: databaseUrl }),
      },
    });
    const he = headEnd;
    await eventually(async () => {
      const health = (await he.get('/health')).body as { components?: { mqtt?: { status?: string } } };
      return health.components?.mqtt?.status === 'ok' ? true : undefined;
    }, 15_000, 'the head-end to subscribe');

    publishers = await forkTypeScript('tests/bench/mqttPublisherProcess.ts', ['--mqtt-publishers']);
    const child = publishers.child;
    child.on('error', (err) => { console.error('publisher IPC error:', err.message); });
    const start: PublishersStart = {
      type: 'start', url: broker.url, terminals: TERMINALS, metersPerTerminal: METERS_PER_TERMINAL, seed: 1,
      deviceStartTs: Date.now() - 6 * 3_600_000, stepMs: 1_000, burstMessages: 10, maxInflight: 10,
      windowReadings: WINDOW_READINGS, maxReadings: MAX_READINGS,
    };
    child.send(start);
    const ready = await nextMessage(child, isPublishersReply);
    if (ready.type !== 'ready') throw new Error(`publishers did not start: ${JSON.stringify(ready)}`);
    // The message each terminal publishes on connect is the warm-up, not counted.
    await eventually(() => Promise.resolve(he.pipeline.stats().delivered >= ready.readings ? true : undefined), 15_000, 'the first messages');

    const rssBefore = process.memoryUsage().rss;
    const profiler = await startProfiler(profileFile(process.env.GRIDHEAD_BENCH_CPU_PROFILE, driver));
    // Everything the head-end does shares this event loop (HTTP API, MQTT keepalive, timers).
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    // The server's CPU is read at the edges of the run only: a /proc walk per sample would
    // land in the head-end's own figures. Its idle milliseconds before the first accepted
    // reading and after the last delivered one are in it; they are noise beside the run.
    const serverCpuBefore = cluster?.serverCpuSeconds();
    const run = await measure(he.pipeline, child);
    const serverCpuAfter = cluster?.serverCpuSeconds();
    loopDelay.disable();
    await profiler?.();
    const rssAfter = process.memoryUsage().rss;
    const stats = he.pipeline.stats();
    await he.close();
    const stored = databaseUrl === undefined ? countStoredReadings(he.dataDir) : await countPostgresReadings(databaseUrl);

    const readings = run.end.delivered - run.start.accepted;
    const seconds = (run.end.t - run.start.t) / 1000;
    const cpuUs = run.end.cpuUs - run.start.cpuUs;
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
    console.log(`mqtt ingest (${driver}): broker = ${broker.kind} (own process), ${TERMINALS} terminals × ${METERS_PER_TERMINAL} meters, `
      + `${(run.done.readings / run.done.messages).toFixed(0)} readings per message, QoS 1, window ${WINDOW_READINGS} readings`
      + (driver === 'postgres' ? `, PostgreSQL ${durability === 'full' ? 'with' : 'without'} fsync on a local cluster` : ''));
    console.log(`bench: ${figure('durability')} = ${durability}`);
    console.log(`bench: ${figure('readings_per_s')} = ${(readings / seconds).toFixed(0)} readings/s`);
    console.log(`bench: ${figure('cpu_us_per_reading')} = ${(cpuUs / readings).toFixed(2)} µs`);
    if (serverCpuBefore !== undefined && serverCpuAfter !== undefined) {
      const serverUs = (serverCpuAfter - serverCpuBefore) * 1e6;
      console.log(`bench: ${figure('server_cpu_us_per_reading')} = ${(serverUs / readings).toFixed(2)} µs`);
      console.log(`bench: ${figure('server_cpu_util')} = ${(serverUs / 1e4 / seconds).toFixed(0)} %`);
    }
    console.log(`bench: ${figure('rss_mb')} = ${mib(rssAfter)} MiB`);
    console.log(`bench: ${figure('rss_growth_mb')} = ${mib(rssAfter - rssBefore)} MiB`);
    const peak = peakRss();
    if (peak !== undefined && peakComparable) console.log(`bench: ${figure('rss_peak_mb')} = ${mib(peak)} MiB`);
    console.log(`bench: ${figure('event_loop_delay_p99_ms')} = ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms`);
    console.log(`bench: ${figure('event_loop_delay_max_ms')} = ${(loopDelay.max / 1e6).toFixed(0)} ms`);
    console.log(`bench: ${figure('headend_cpu_util')} = ${(cpuUs / 1e4 / seconds).toFixed(0)} %`);
    console.log(`bench: ${figure('messages_per_s')} = ${(readings / (run.done.readings / run.done.messages) / seconds).toFixed(0)} messages/s`);
    console.log(`bench: ${figure('readings')} = ${readings} readings`);
    console.log(`bench: ${figure('mean_backlog')} = ${run.done.meanBacklog.toFixed(0)} readings`);
    console.log(`bench: ${figure('publisher_cpu_us_per_reading')} = ${(run.done.cpuUs / readings).toFixed(2)} µs`);

    if (stored !== run.done.readings || run.done.errors > 0) {
      console.error([
        '',
        `!!!!!!!!!! MQTT INGEST BENCHMARK LOST OR DUPLICATED DATA (${driver}) !!!!!!!!!!`,
        `  acknowledged by the broker to the publishers: ${run.done.readings} readings in ${run.done.messages} messages`,
        `  in the store:                                 ${stored} readings (difference ${stored - run.done.readings})`,
        `  pipeline: accepted ${stats.accepted}, delivered ${stats.delivered}, queued ${stats.queued}, rejected ${JSON.stringify(stats.rejected)}, sink errors ${stats.sinkErrors}`,
        `  publisher errors: ${run.done.errors}; gave up waiting: ${run.stalled}`,
        '',
      ].join('\n'));
    }
    expect(run.done.errors).toBe(0);
    expect(stored).toBe(run.done.readings);
  });
});

interface Sample { readonly t: number; readonly cpuUs: number; readonly accepted: number; readonly delivered: number }

interface Run {
  /** The last sample before the first reading was accepted, and the first with everything delivered. */
  readonly start: Sample;
  readonly end: Sample;
  readonly done: Extract<PublishersReply, { type: 'done' }>;
  readonly stalled: boolean;
}

/**
 * Starts the publishers and samples the pipeline every SAMPLE_MS (feeding the publishers'
 * flow control) until the publishers are done and the store caught up, or nothing moves.
 */
async function measure(pipeline: IngestPipeline, child: ChildProcess): Promise<Run> {
  const sample = (): Sample => {
    const s = pipeline.stats();
    const cpu = process.cpuUsage();
    return { t: performance.now(), cpuUs: cpu.user + cpu.system, accepted: s.accepted, delivered: s.delivered };
  };
  const send = (m: PublishersCommand) => { if (child.connected) child.send(m); };
  const baseline = sample();
  let prev = baseline;
  let start: Sample | undefined;
  let end = baseline;
  let stopSent = false;
  let done: Extract<PublishersReply, { type: 'done' }> | undefined;
  const finished = nextMessage(child, (m): m is PublishersReply => isPublishersReply(m) && m.type !== 'ready');
  send({ type: 'go' });

  const outcome = await new Promise<{ stalled: boolean }>((resolve, reject) => {
    finished.then((reply) => {
      if (reply.type === 'done') done = reply;
      else reject(new Error(`publishers failed: ${JSON.stringify(reply)}`));
    }, reject);
    const timer = setInterval(() => {
      const s = sample();
      if (done === undefined) send({ type: 'progress', accepted: s.accepted });
      if (start === undefined && s.accepted > baseline.accepted) start = prev;
      if (s.delivered > end.delivered) end = s;
      if (!stopSent && start !== undefined && s.t - start.t >= DURATION_MS) {
        stopSent = true;
        send({ type: 'stop' });
      }
      prev = s;
      if (done !== undefined && s.delivered >= done.readings) {
        clearInterval(timer);
        resolve({ stalled: false });
      } else if (done !== undefined && s.t - end.t > STALL_MS) {
        clearInterval(timer);
        resolve({ stalled: true });
      } else if (s.t - baseline.t > DURATION_MS + GRACE_MS) {
        clearInterval(timer);
        reject(new Error(`publishers not done ${GRACE_MS} ms after the planned end; accepted ${s.accepted}, delivered ${s.delivered}`));
      }
    }, SAMPLE_MS);
    finished.catch(() => { clearInterval(timer); });
  });
  if (done === undefined || start === undefined) throw new Error('publishers finished without publishing');
  return { start, end, done, stalled: outcome.stalled };
}

function seedRegistry(): { terminals: unknown[]; meters: unknown[] } {
  const terminals: unknown[] = [];
  const meters: unknown[] = [];
  for (let i = 0; i < TERMINALS; i++) {
    const terminalId = benchTerminalId(i);
    terminals.push({ id: terminalId, protocol: 'mqtt', profiles: [] });
    for (const address of benchMeterAddresses(METERS_PER_TERMINAL)) meters.push({ id: `${terminalId}-m${address}`, terminalId, address, ...SIMULATED_RATING });
  }
  return { terminals, meters };
}

/**
 * Mosquitto, unless GRIDHEAD_BENCH_BROKER=aedes or it is not installed. Its queue for the
 * head-end's session must hold the publishers' whole window: beyond `max_queued_messages`
 * (default 1000 messages) Mosquitto drops QoS 1 messages it has already acknowledged.
 */
async function startBroker(): Promise<Broker> {
  if (process.env.GRIDHEAD_BENCH_BROKER !== 'aedes' && mosquittoPath() !== null) {
    const m = await startMosquitto({ extraConfig: [`max_queued_messages ${Math.ceil(WINDOW_READINGS / 10)}`] });
    return { kind: 'mosquitto', url: m.url, close: () => m.close() };
  }
  const forked = await forkTypeScript('tests/bench/aedesProcess.ts', ['--aedes-broker']);
  try {
    const ready = await nextMessage(forked.child, isAedesReady);
    return { kind: 'aedes', url: ready.url, close: () => forked.dispose() };
  } catch (err) {
    await forked.dispose();
    throw err;
  }
}

/** Every reading row of the PostgreSQL run, all partitions of `readings` included. */
async function countPostgresReadings(url: string): Promise<number> {
  const [row] = await queryPostgres<{ n: number }>(url, 'SELECT count(*)::int AS n FROM readings');
  return row?.n ?? 0;
}

/** The embedded run's profile keeps the given name; the other drivers' get theirs beside it. */
function profileFile(file: string | undefined, driver: Driver): string | undefined {
  if (file === undefined || file === '' || driver === 'embedded') return file;
  return file.endsWith('.cpuprofile') ? `${file.slice(0, -'.cpuprofile'.length)}.${driver}.cpuprofile` : `${file}.${driver}`;
}

function countStoredReadings(dataDir: string): number {
  const db = new Database(join(dataDir, 'gridhead.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM readings').get()?.n ?? 0;
  } finally {
    db.close();
  }
}

/**
 * Resets this process's peak resident set (proc(5): writing 5 to clear_refs), so a run's peak
 * is its own and not the one before it; false where that is not possible.
 */
function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** The process's peak resident set (VmHWM), bytes; undefined where /proc is not there. */
function peakRss(): number | undefined {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}
