/**
 * `gridhead registry import FILE` as an operator runs it: the installed command imports CSV
 * files into the embedded store of a configuration's data directory, and into PostgreSQL
 * (GRIDHEAD_DATABASE_URL); a registry opened afterwards on that store sees what was imported.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresRegistryStore } from '../../../src/registry/postgresStore.js';
import { Registry } from '../../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../../src/registry/store.js';
import { openDatabase } from '../../../src/storage/db.js';
import { openPostgres } from '../../../src/storage/postgres/connection.js';
import { installCli, type CliInstall } from '../../helpers/cli.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../../helpers/postgresStore.js';

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the gridhead registry import tests on PostgreSQL: ${unavailable}`);

const AREAS = 'id,name,kind,parentId,transformerKva\nr1,Region,region,,\ntx1,TX 1,transformer,r1,400\n';
const TERMINALS = 'id,name,protocol,enabled,profiles\nq1,Concentrator 1,mqtt,true,\nq2,,mqtt,false,\n';
const METERS = 'id,name,terminalId,address,ctRatio,ptRatio,areaId,protected\nm1,Meter 1,q1,1,1,1,tx1,false\nm2,Meter 2,q1,2,40,1,tx1,true\nm3,,q2,1,1,1,,false\n';
const BAD_METERS = 'id,terminalId,address,ctRatio\nm4,q1,4,1\nm5,q1,5,abc\nm6,q9,6,1\n';
const options = { registerMapExists: () => false, profileExists: () => false };

let cli: CliInstall;
let dir: string;

beforeAll(async () => {
  cli = await installCli();
  dir = mkdtempSync(join(tmpdir(), 'gridhead-registry-import-'));
  for (const [name, text] of Object.entries({ 'areas.csv': AREAS, 'terminals.csv': TERMINALS, 'meters.csv': METERS, 'bad.csv': BAD_METERS })) writeFileSync(join(dir, name), text);
}, 90_000);
afterAll(async () => {
  await cli.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** A configuration of its own per test: a fresh data directory, the given storage section. */
function configFile(storage = ''): string {
  const data = mkdtempSync(join(dir, 'data-'));
  const file = join(data, 'gridhead.yaml');
  writeFileSync(file, `dataDir: ${data}\nsimulators:\n  enabled: false\n${storage}`);
  return file;
}

const importFile = (config: string, file: string, extra: readonly string[] = [], env: NodeJS.ProcessEnv = {}) =>
  cli.run(['registry', 'import', join(dir, file), '--config', config, ...extra], { env: { GRIDHEAD_CONFIG: '', GRIDHEAD_DATABASE_URL: '', ...env } });

describe('gridhead registry import on the embedded store', () => {
  it('imports areas, terminals and meters, says what it did, and imports nothing the second time', async () => {
    const config = configFile();
    for (const file of ['areas.csv', 'terminals.csv', 'meters.csv']) {
      const run = await importFile(config, file);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
    }
    const again = await importFile(config, 'meters.csv');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('meters: 3 rows read, 0 created, 0 updated, 3 unchanged, 0 rejected');

    const db = openDatabase(join(config, '..', 'gridhead.db'));
    try {
      const registry = await Registry.open(new SqliteRegistryStore(db), options);
      expect(registry.meterAt('q1', '2')).toMatchObject({ id: 'm2', ctRatio: 40, protected: true, areaId: 'tx1' });
      expect(registry.findTerminal('q2')?.enabled).toBe(false);
      expect(registry.findArea('tx1')?.transformerKva).toBe(400);
    } finally {
      db.close();
    }
  });

  it('exits 1 naming each rejected row by line and column, and imports the good ones', async () => {
    const config = configFile();
    await importFile(config, 'terminals.csv');
    const run = await importFile(config, 'bad.csv');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('meters: 3 rows read, 1 created, 0 updated, 0 unchanged, 2 rejected');
    expect(run.stderr).toContain('line 3, column ctRatio: "abc" is not a number');
    expect(run.stderr).toContain('line 4, column terminalId: terminal "q9" does not exist');
  });

  it('checks a dry run without writing', async () => {
    const config = configFile();
    await importFile(config, 'areas.csv');
    await importFile(config, 'terminals.csv');
    const dry = await importFile(config, 'meters.csv', ['--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('3 created');
    const real = await importFile(config, 'meters.csv');
    expect(real.stdout).toContain('3 created');
  });

  it('refuses with exit 3 while a station holds the embedded store, and writes nothing', async () => {
    const config = configFile();
    await importFile(config, 'terminals.csv');
    // This process stands for the running station: a WAL connection open on the same file.
    const station = openDatabase(join(config, '..', 'gridhead.db'));
    try {
      const run = await importFile(config, 'meters.csv');
      expect(run.code).toBe(3);
      expect(run.stderr).toContain('is open in a running station');
      expect(station.prepare('SELECT count(*) AS n FROM meters').get()).toEqual({ n: 0 });
    } finally {
      station.close();
    }
  });

  it('exits 2 for bad arguments, a missing file and a file that is not a registry CSV', async () => {
    const config = configFile();
    expect((await cli.run(['registry', 'import'], { env: { GRIDHEAD_CONFIG: config } })).code).toBe(2);
    expect((await importFile(config, 'meters.csv', ['--kind', 'pumps'])).code).toBe(2);
    expect((await importFile(config, 'nothing-here.csv')).code).toBe(2);
    const wrongKind = await importFile(config, 'meters.csv', ['--kind', 'areas']);
    expect(wrongKind.code).toBe(2);
    expect(wrongKind.stderr).toContain('the header row (line 1) names column "terminalId", which areas do not have');
  });
});

describe.skipIf(unavailable !== undefined)('gridhead registry import on PostgreSQL', () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startPostgres();
  }, 90_000);
  afterAll(async () => {
    await server.dispose();
  });

  it('imports into the database GRIDHEAD_DATABASE_URL names, idempotently', async () => {
    const url = await server.createDatabase();
    const config = configFile('storage:\n  driver: postgres\n');
    for (const file of ['areas.csv', 'terminals.csv', 'meters.csv']) {
      const run = await importFile(config, file, [], { GRIDHEAD_DATABASE_URL: url });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
    }
    const again = await importFile(config, 'meters.csv', [], { GRIDHEAD_DATABASE_URL: url });
    expect(again.stdout).toContain('3 unchanged');
    const pg = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
    try {
      const registry = await Registry.open(new PostgresRegistryStore(pg), options);
      expect(registry.meterAt('q1', '1')?.id).toBe('m1');
      expect(registry.findMeter('m3')).toMatchObject({ terminalId: 'q2', areaId: null });
      await registry.close();
    } finally {
      await pg.close();
    }
  });
});
