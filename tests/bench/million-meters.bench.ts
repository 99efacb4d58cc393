/**
 * A whole station at a million meters (docs: the scale targets of the README): N meters
 * (GRIDHEAD_BENCH_FLEET_METERS, default 1,000,000) behind N/10 terminals (Modbus and DLMS,
 * half each) in N/100 transformer areas under 4 substations of 5 feeders each.
 *
 * The fleet is written straight into an embedded store (the SQLite file of a temp data
 * directory, migrated as the station opens it) through the registry's store, in batches of
 * 100,000 meters per transaction; the YAML names no registry. The station then runs as
 * production runs it: the installed `gridhead start --config <yaml>` over compiled JavaScript
 * (tests/helpers/cli.ts), with the default configuration's collection profiles and rule set,
 * no simulators, terminals with no profiles (nothing is polled), OPC UA on.
 *
 * Printed, for the fleet and for an empty station (the same configuration, an empty store)
 * as the baseline, and beside a bare `node` as the floor:
 *
 * - start_s: from the spawn to the first `/health` answering status ok;
 * - cpu_s: the child's user + system CPU time at that moment (/proc/<pid>/stat);
 * - rss_ok_mb, rss_peak_mb (VmHWM, the start-up peak), rss_steady_mb after a settle period
 *   (GRIDHEAD_BENCH_FLEET_SETTLE_S, default 30 s; /proc/<pid>/status);
 * - rss_per_meter = (steady − empty station's steady) / N, and peak_over_steady;
 * - overview_ms: GET /api/v1/live/overview, median of 7;
 * - meters_first_ms / meters_deep_ms: GET /api/v1/meters, the first page and a page whose
 *   cursor is 100 meters before the end, median of 7 each.
 *
 * The rule engine's own heap at a million meters, silent and after every meter reported, is
 * tests/bench/rules-memory.bench.ts: it lets enrolment finish before it measures.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { areaId, meterId, terminalId, type Area, type Meter, type Terminal } from '../../src/domain/index.js';
import { SqliteRegistryStore } from '../../src/registry/store.js';
import { openDatabase } from '../../src/storage/db.js';
import { CLI_ADMIN_TOKEN, installCli, stationEnv, type CliInstall, type RunningCli } from '../helpers/cli.js';
import { ROOT } from '../helpers/transpile.js';
import { freePort } from '../helpers/victoriaMetrics.js';
import { percentile } from './stats.js';

const METERS = Number(process.env.GRIDHEAD_BENCH_FLEET_METERS ?? 1_000_000);
const SETTLE_S = Number(process.env.GRIDHEAD_BENCH_FLEET_SETTLE_S ?? 30);
const METERS_PER_TERMINAL = 10;
const METERS_PER_AREA = 100;
const SUBSTATIONS = 4;
const FEEDERS_PER_SUBSTATION = 5;
const BATCH_METERS = 100_000;
const SAMPLES = 7;
const START_DEADLINE_MS = 15 * 60_000;
const MASTER_KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim()) || 100;
const MIB = 1024 * 1024;

let cli: CliInstall;
let dir: string;

beforeAll(async () => {
  cli = await installCli();
  dir = mkdtempSync(join(tmpdir(), 'gridhead-bench-fleet-'));
}, 300_000);
afterAll(async () => {
  await cli.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** Zero-padded, so the API's id order is the numeric order and a cursor near the end is easy to name. */
const pad = (i: number, n: number): string => String(i).padStart(String(n).length, '0');
const terminals = Math.ceil(METERS / METERS_PER_TERMINAL);
const areas = Math.ceil(METERS / METERS_PER_AREA);
const meterName = (i: number): string => `m${pad(i, METERS)}`;
const terminalName = (i: number): string => `t${pad(i, terminals)}`;
const areaName = (i: number): string => `tx${pad(i, areas)}`;
const feederOf = (area: number): number => area % (SUBSTATIONS * FEEDERS_PER_SUBSTATION);

function areaRows(): Area[] {
  const rows: Area[] = [{ id: areaId('region'), name: 'Region', kind: 'region', parentId: null, transformerKva: null }];
  for (let s = 0; s < SUBSTATIONS; s++) rows.push({ id: areaId(`sub${s}`), name: `Substation ${s}`, kind: 'substation', parentId: areaId('region'), transformerKva: null });
  for (let f = 0; f < SUBSTATIONS * FEEDERS_PER_SUBSTATION; f++) {
    rows.push({ id: areaId(`fdr${f}`), name: `Feeder ${f}`, kind: 'feeder', parentId: areaId(`sub${f % SUBSTATIONS}`), transformerKva: null });
  }
  for (let a = 0; a < areas; a++) rows.push({ id: areaId(areaName(a)), name: `Transformer area ${a}`, kind: 'transformer', parentId: areaId(`fdr${feederOf(a)}`), transformerKva: 400 });
  return rows;
}

/** Even terminals are Modbus gateways (unit ids 1…10), odd ones DLMS data concentrators (server addresses 16…25). */
function terminalRow(i: number): Terminal {
  const base = { id: terminalId(terminalName(i)), name: `Terminal ${i}`, enabled: true, profiles: [] as string[] };
  const host = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return i % 2 === 0
    ? { ...base, protocol: 'modbus', modbus: { host, port: 502, framing: 'tcp', registerMap: 'three-phase-meter' } }
    : { ...base, protocol: 'dlms', dlms: { host, port: 4059, framing: 'wrapper', clientSap: 16, auth: 'none' } };
}

function meterRow(i: number): Meter {
  const t = Math.floor(i / METERS_PER_TERMINAL);
  const slot = i % METERS_PER_TERMINAL;
  return {
    id: meterId(meterName(i)), name: `Meter ${i}`, terminalId: terminalId(terminalName(t)),
    address: String(t % 2 === 0 ? 1 + slot : 16 + slot), ctRatio: 1, ptRatio: 1,
    areaId: areaId(areaName(Math.floor(i / METERS_PER_AREA))), protected: i % 1000 === 0, customerRef: `C${i}`, accountRef: null,
  };
}

/** The fleet written through the registry's store into `<dataDir>/gridhead.db`, in transactions of BATCH_METERS meters. */
async function writeFleet(dataDir: string): Promise<void> {
  const db = openDatabase(join(dataDir, 'gridhead.db'));
  try {
    const store = new SqliteRegistryStore(db);
    const at = Date.now();
    await store.putAll({ areas: areaRows(), terminals: [], meters: [] }, at);
    for (let from = 0; from < METERS; from += BATCH_METERS) {
      const to = Math.min(METERS, from + BATCH_METERS);
      const ts: Terminal[] = [];
      for (let t = from / METERS_PER_TERMINAL; t < Math.ceil(to / METERS_PER_TERMINAL); t++) ts.push(terminalRow(t));
      const ms: Meter[] = [];
      for (let m = from; m < to; m++) ms.push(meterRow(m));
      await store.putAll({ areas: [], terminals: ts, meters: ms }, at);
    }
  } finally {
    db.close();
  }
}

/** The demo configuration without its fleet: no registry, simulators or programs; every listener on a free port. */
async function configFile(name: string, dataDir: string): Promise<{ file: string; url: string }> {
  const demo = parse(readFileSync(join(ROOT, 'config/default.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
  const http = await freePort();
  const broker = await freePort();
  const { registry: _registry, simulators: _simulators, loadControl: _programs, ...rest } = demo;
  const config = {
    ...rest,
    dataDir,
    log: { level: 'warn' },
    http: { host: '127.0.0.1', port: http },
    mqtt: { ...rest.mqtt, embeddedBroker: { enabled: true, host: '127.0.0.1', port: broker }, url: `mqtt://127.0.0.1:${broker}` },
    opcua: { ...rest.opcua, port: await freePort() },
    dlms: { ...rest.dlms, push: { listen: { enabled: true, host: '127.0.0.1', port: await freePort() }, mqtt: { enabled: true } } },
    rules: { enabled: true, file: join(ROOT, 'config/rules.yaml') },
  };
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, JSON.stringify(config)); // JSON is YAML
  return { file, url: `http://127.0.0.1:${http}` };
}

interface StationFigures { startS: number; cpuS: number; rssOkMb: number; peakMb: number; steadyMb: number }

/** Starts a station on `dataDir`, measures it to steady state and hands it to `use` before stopping it. */
async function runStation(name: string, dataDir: string, use: (url: string) => Promise<void>): Promise<StationFigures> {
  const { file, url } = await configFile(name, dataDir);
  const started = performance.now();
  const station = cli.start(['start', '--config', file], { env: stationEnv(dataDir, { GRIDHEAD_MASTER_KEY: MASTER_KEY }) });
  try {
    await healthOk(url, station);
    const startS = (performance.now() - started) / 1000;
    const pid = station.child.pid ?? 0;
    const cpuS = cpuSeconds(pid);
    const rssOkMb = statusKb(pid, 'VmRSS') / 1024;
    await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
    const steadyMb = statusKb(pid, 'VmRSS') / 1024;
    const peakMb = statusKb(pid, 'VmHWM') / 1024;
    await use(url);
    return { startS, cpuS, rssOkMb, peakMb, steadyMb };
  } finally {
    const run = await station.stop();
    if (run.code !== 0) console.error(`[${name}] exit ${String(run.code ?? run.signal)}: ${run.stderr.slice(-4000)}`);
  }
}

function print(name: string, f: StationFigures): void {
  console.log(`bench: fleet.${name}.start_s = ${f.startS.toFixed(1)} s`);
  console.log(`bench: fleet.${name}.cpu_s = ${f.cpuS.toFixed(1)} s`);
  console.log(`bench: fleet.${name}.rss_ok_mb = ${f.rssOkMb.toFixed(0)} MiB`);
  console.log(`bench: fleet.${name}.rss_peak_mb = ${f.peakMb.toFixed(0)} MiB`);
  console.log(`bench: fleet.${name}.rss_steady_mb = ${f.steadyMb.toFixed(0)} MiB after ${SETTLE_S} s`);
}

it(`measures a station of ${METERS} meters started from its store`, async () => {
  console.log(`bench: fleet.node_bare_rss_mb = ${bareNodeRssMb().toFixed(0)} MiB`);
  const empty = await runStation('empty', mkdtempSync(join(dir, 'empty-')), () => Promise.resolve());
  print('empty', empty);

  const dataDir = mkdtempSync(join(dir, 'fleet-'));
  const writing = performance.now();
  await writeFleet(dataDir);
  console.log(`bench: fleet.store_written_s = ${((performance.now() - writing) / 1000).toFixed(1)} s for ${METERS} meters, ${terminals} terminals, ${areas} areas`);

  const latencies: Record<string, number> = {};
  const fleet = await runStation('fleet', dataDir, async (url) => {
    const first = await get(url, '/api/v1/meters?limit=100');
    expect((first.body as { items: unknown[] }).items).toHaveLength(100);
    latencies.overview = await medianMs(url, '/api/v1/live/overview');
    latencies.meters_first = await medianMs(url, '/api/v1/meters?limit=100');
    const deep = await get(url, `/api/v1/meters?limit=100&cursor=${meterName(METERS - 101)}`);
    expect((deep.body as { items: { id: string }[] }).items[0]?.id).toBe(meterName(METERS - 100));
    latencies.meters_deep = await medianMs(url, `/api/v1/meters?limit=100&cursor=${meterName(METERS - 101)}`);
  });
  print('fleet', fleet);
  console.log(`bench: fleet.rss_per_meter = ${((fleet.steadyMb - empty.steadyMb) * MIB / METERS).toFixed(0)} B (target ≤ 1024)`);
  console.log(`bench: fleet.rss_per_meter_at_ok = ${((fleet.rssOkMb - empty.steadyMb) * MIB / METERS).toFixed(0)} B`);
  console.log(`bench: fleet.peak_over_steady = ${(fleet.peakMb / fleet.steadyMb).toFixed(2)} x (target ≤ 1.5)`);
  for (const [k, v] of Object.entries(latencies)) console.log(`bench: fleet.${k}_ms = ${v.toFixed(1)} ms`);
}, 3_600_000);

/** The first `/health` with status ok; the start fails the bench if the station exits or takes longer than START_DEADLINE_MS. */
async function healthOk(url: string, station: RunningCli): Promise<void> {
  const deadline = Date.now() + START_DEADLINE_MS;
  let last = 'no answer';
  for (;;) {
    if (station.child.exitCode !== null) throw new Error(`station exited with ${station.child.exitCode}: ${station.stderr().slice(-4000)}`);
    if (Date.now() > deadline) throw new Error(`no /health ok at ${url} within ${START_DEADLINE_MS} ms; last: ${last}`);
    try {
      const res = await fetch(`${url}/health`);
      last = await res.text();
      if ((JSON.parse(last) as { status?: string }).status === 'ok') return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function get(url: string, path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${CLI_ADMIN_TOKEN}` } });
  const body: unknown = await res.json();
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(body).slice(0, 500)}`);
  return { status: res.status, body };
}

async function medianMs(url: string, path: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t = performance.now();
    await get(url, path);
    times.push(performance.now() - t);
  }
  return percentile(times, 0.5);
}

/** A line of /proc/<pid>/status, in kB. */
function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return Number(line?.split(/\s+/)[1] ?? NaN);
}

/** User + system CPU time of the process: fields 14 and 15 of /proc/<pid>/stat, after the command name's closing parenthesis. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function bareNodeRssMb(): number {
  const run = spawnSync(process.execPath, ['-e', 'console.log(process.memoryUsage().rss)']);
  return Number(run.stdout.toString()) / MIB;
}
