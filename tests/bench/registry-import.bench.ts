/**
 * Bulk registry import (`gridhead registry import`, through the same function the command
 * runs: src/cli/registry.ts importRegistryFile) of a generated fleet: areas.csv, terminals.csv
 * then meters.csv into a fresh store, then meters.csv again (every row unchanged). Printed per
 * driver (embedded: SQLite, durability `full`; PostgreSQL 15 with fsync on):
 *
 * - registry_import.<driver>.areas_per_s, terminals_per_s, meters_per_s: the first import, and
 *   the same per CPU second of this process (…_per_cpu_s);
 * - registry_import.<driver>.reimport_meters_per_s: the same meters.csv again, nothing written.
 *
 * GRIDHEAD_BENCH_IMPORT_METERS sets the fleet (default 1,000,000 meters, 10 per terminal, 100
 * terminals per transformer area, areas under 10 feeders of one substation of one region);
 * GRIDHEAD_BENCH_IMPORT_PG_METERS the PostgreSQL run's (default the same).
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterAll, expect, it } from 'vitest';
import { importRegistryFile } from '../../src/cli/registry.js';
import { loadConfigFile } from '../../src/config/load.js';
import type { ImportKind } from '../../src/registry/import/columns.js';
import { startProfiler } from './cpuProfile.js';
import { postgresUnavailable, startPostgres } from '../helpers/postgres.js';
import { writeFileSync } from 'node:fs';

const METERS = Number(process.env.GRIDHEAD_BENCH_IMPORT_METERS ?? 1_000_000);
const PG_METERS = Number(process.env.GRIDHEAD_BENCH_IMPORT_PG_METERS ?? METERS);
const PER_TERMINAL = 10;
const TERMINALS_PER_AREA = 10;

const unavailable = postgresUnavailable();
const dir = mkdtempSync(join(tmpdir(), 'gridhead-bench-import-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes the three files of a fleet of `meters`; returns their paths. */
async function writeFleet(meters: number): Promise<Record<ImportKind, string>> {
  const terminals = Math.ceil(meters / PER_TERMINAL);
  const transformers = Math.ceil(terminals / TERMINALS_PER_AREA);
  const files = { areas: join(dir, `areas-${meters}.csv`), terminals: join(dir, `terminals-${meters}.csv`), meters: join(dir, `meters-${meters}.csv`) };
  await writeLines(files.areas, 'id,name,kind,parentId,transformerKva', function* () {
    yield 'r1,Region,region,,';
    yield 's1,Substation,substation,r1,';
    for (let f = 0; f < 10; f++) yield `f${f},Feeder ${f},feeder,s1,`;
    for (let a = 0; a < transformers; a++) yield `tx${a},Transformer ${a},transformer,f${a % 10},400`;
  });
  await writeLines(files.terminals, 'id,name,protocol,enabled,profiles', function* () {
    for (let t = 0; t < terminals; t++) yield `t${t},Concentrator ${t},mqtt,true,`;
  });
  await writeLines(files.meters, 'id,name,terminalId,address,ctRatio,ptRatio,nominalVoltage,maxCurrent,areaId,protected,customerRef,accountRef', function* () {
    for (let i = 0; i < meters; i++) {
      const t = Math.floor(i / PER_TERMINAL);
      yield `m${i},Meter ${i},t${t},${(i % PER_TERMINAL) + 1},1,1,230,60,tx${Math.floor(t / TERMINALS_PER_AREA)},false,C${i},A${i}`;
    }
  });
  return files;
}

async function writeLines(file: string, header: string, rows: () => Generator<string>): Promise<void> {
  const out = createWriteStream(file);
  let chunk = `${header}\n`;
  for (const row of rows()) {
    chunk += `${row}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

async function run(driver: string, meters: number, storage: string, env: NodeJS.ProcessEnv): Promise<void> {
  const files = await writeFleet(meters);
  const data = mkdtempSync(join(dir, 'data-'));
  const configFile = join(data, 'gridhead.yaml');
  writeFileSync(configFile, `dataDir: ${data}\nsimulators:\n  enabled: false\n${storage}`);
  const config = loadConfigFile(configFile, env);
  const once = (kind: ImportKind) => importRegistryFile(config, env, { file: files[kind], kind, dryRun: false, batchRows: 5_000 });
  for (const kind of ['areas', 'terminals', 'meters'] as const) {
    const stop = kind === 'meters' ? await startProfiler(process.env.GRIDHEAD_BENCH_CPU_PROFILE && `${process.env.GRIDHEAD_BENCH_CPU_PROFILE}.${driver}`) : undefined;
    const cpu = process.cpuUsage();
    const s = await once(kind);
    const used = process.cpuUsage(cpu);
    await stop?.();
    expect(s.rejected, JSON.stringify(s.errors.slice(0, 3))).toBe(0);
    console.log(`bench: registry_import.${driver}.${kind}_per_s = ${s.rowsPerSecond} ${kind}/s (${s.read} in ${(s.elapsedMs / 1000).toFixed(1)} s)`);
    // Per CPU second of this process (on PostgreSQL the server's work is not in it): what a busy shared machine leaves of the wall-clock rate.
    console.log(`bench: registry_import.${driver}.${kind}_per_cpu_s = ${Math.round(s.read / ((used.user + used.system) / 1e6))} ${kind}/s`);
  }
  const stop = await startProfiler(process.env.GRIDHEAD_BENCH_CPU_PROFILE);
  const again = await once('meters');
  await stop?.();
  expect(again.unchanged).toBe(meters);
  console.log(`bench: registry_import.${driver}.reimport_meters_per_s = ${again.rowsPerSecond} meters/s (all ${again.unchanged} unchanged)`);
}

it('imports the fleet into the embedded store', async () => {
  await run('embedded', METERS, '', { GRIDHEAD_DATABASE_URL: '' });
});

it('imports the fleet into PostgreSQL', async () => {
  if (unavailable !== undefined) {
    console.log(`bench: registry_import.postgres skipped: ${unavailable}`);
    return;
  }
  const server = await startPostgres({ fsync: true });
  try {
    if (PG_METERS !== METERS) console.log(`registry_import.postgres runs ${PG_METERS} meters (GRIDHEAD_BENCH_IMPORT_PG_METERS)`);
    await run('postgres', PG_METERS, 'storage:\n  driver: postgres\n', { GRIDHEAD_DATABASE_URL: await server.createDatabase() });
  } finally {
    await server.dispose();
  }
});
