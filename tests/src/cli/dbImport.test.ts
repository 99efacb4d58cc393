/**
 * `gridhead db import --from DIR` as an operator runs it: the installed command copies an
 * embedded station, written through the real SQLite stores, into a throw-away PostgreSQL
 * cluster; the PostgreSQL stores then read what the SQLite stores read.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresAlarmStore } from '../../../src/alarms/postgresStore.js';
import { SqliteAlarmStore } from '../../../src/alarms/store.js';
import { PostgresAuthStore } from '../../../src/auth/postgresStore.js';
import { AuthService, DEFAULT_AUTH_OPTIONS } from '../../../src/auth/service.js';
import { SqliteAuthStore } from '../../../src/auth/store.js';
import { PostgresReplacementStore } from '../../../src/billing/postgresReplacements.js';
import { SqliteReplacementStore } from '../../../src/billing/replacements.js';
import { SqliteDropCounterStore } from '../../../src/broker/dropMonitor.js';
import { PostgresDropCounterStore } from '../../../src/broker/postgresDropCounter.js';
import { PostgresProfileCursors } from '../../../src/collect/postgresProfileCursors.js';
import { PostgresCollectionStatsStore } from '../../../src/collect/postgresStatsStore.js';
import { SqliteProfileCursors } from '../../../src/collect/profileCursors.js';
import { SqliteCollectionStatsStore } from '../../../src/collect/statsStore.js';
import { SqliteControlActionStore } from '../../../src/control/actions.js';
import { SqliteAuditLog } from '../../../src/control/audit.js';
import { SqliteCommandStore } from '../../../src/control/commandStore.js';
import { PostgresControlActionStore } from '../../../src/control/postgresActions.js';
import { PostgresAuditLog } from '../../../src/control/postgresAudit.js';
import { PostgresCommandStore } from '../../../src/control/postgresCommandStore.js';
import { meterId, type MeterId } from '../../../src/domain/ids.js';
import { PostgresDeviceEventStore } from '../../../src/events/postgresStore.js';
import { SqliteDeviceEventStore } from '../../../src/events/store.js';
import { PostgresProgramStateStore } from '../../../src/rules/loadControl/postgresStateStore.js';
import { SqliteProgramStateStore } from '../../../src/rules/loadControl/stateStore.js';
import { PostgresRuleStore } from '../../../src/rules/postgresStore.js';
import { PostgresRegistryStore } from '../../../src/registry/postgresStore.js';
import { Registry } from '../../../src/registry/registry.js';
import { SqliteRegistryStore, type RegistryStore, type StoredTopology } from '../../../src/registry/store.js';
import { SqliteRuleStore } from '../../../src/rules/store.js';
import { SqliteCounterStore } from '../../../src/security/counterStore.js';
import { SqliteKeyStore } from '../../../src/security/keyStore.js';
import { MasterKey } from '../../../src/security/masterKey.js';
import { PostgresCounterStore } from '../../../src/security/postgresCounterStore.js';
import { PostgresKeyStore } from '../../../src/security/postgresKeyStore.js';
import { PostgresSecurityEventStore } from '../../../src/security/postgresSecurityEvents.js';
import { SqliteSecurityEventStore } from '../../../src/security/securityEvents.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';
import { SqlitePushDeadLetterStore } from '../../../src/storage/dlmsPushDeadLetters.js';
import { SqlitePushListStore } from '../../../src/storage/dlmsPushLists.js';
import { IMPORT_TABLES } from '../../../src/storage/import/tables.js';
import { MIGRATIONS } from '../../../src/storage/migrations.js';
import { openPostgres, type PostgresDatabase } from '../../../src/storage/postgres/connection.js';
import { PostgresPushDeadLetterStore } from '../../../src/storage/postgres/dlmsPushDeadLetters.js';
import { PostgresPushListStore } from '../../../src/storage/postgres/dlmsPushLists.js';
import { PgReadingStore } from '../../../src/storage/postgres/readingStore.js';
import { ReadingStore } from '../../../src/storage/readingStore.js';
import { installCli, type CliInstall, type CliRun } from '../../helpers/cli.js';
import {
  AREAS, DROP_MARK, PUSH_LISTS, PUSH_LIST_KEY, QUANTITIES, TEST_SCRYPT, writeEmbeddedStation, type WrittenStation,
} from '../../helpers/embeddedStation.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../../helpers/postgresStore.js';
import { loadedTopology } from '../../helpers/registryLoad.js';
import { expectImportFitsTarget, expectOperationIdsGoOn, expectSameOperations } from './dbImportOperations.js';

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the gridhead db import tests: ${unavailable}`);

const HOUR = 3_600_000;
const END = Math.floor(Date.now() / HOUR) * HOUR;
const MASTER = new MasterKey(Buffer.alloc(32, 7), 'environment');
const METERS = ['m-1', 'm-2', 'm-3'];
const NAMES = { registerMapExists: () => true, profileExists: () => true };

describe.skipIf(unavailable !== undefined)('gridhead db import', () => {
  let cli: CliInstall;
  let server: TestPostgres;
  let root: string;
  let station: string;
  let written: WrittenStation;
  const open: PostgresDatabase[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'gridhead-import-'));
    station = join(root, 'station');
    mkdirSync(station);
    written = await writeEmbeddedStation(station, { meters: METERS, readingsPerSeries: 200, endTs: END, master: MASTER });
    [cli, server] = await Promise.all([installCli(), startPostgres()]);
  }, 120_000);
  afterAll(async () => {
    for (const db of open) await db.close();
    await Promise.all([cli.dispose(), server.dispose()]);
    rmSync(root, { recursive: true, force: true });
  });

  const importFrom = (dir: string, url: string, extra: readonly string[] = []): Promise<CliRun> =>
    cli.run(['db', 'import', '--from', dir, ...extra], { env: { GRIDHEAD_CONFIG: '', GRIDHEAD_DATABASE_URL: url } });
  const connect = async (url: string): Promise<PostgresDatabase> => {
    const db = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
    open.push(db);
    return db;
  };
  const count = async (db: PostgresDatabase, table: string): Promise<number> =>
    (await db.sql.unsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM ${table}`))[0]?.n ?? -1;

  it('copies every ported store: the PostgreSQL stores read what the SQLite stores read', async () => {
    const url = await server.createDatabase();
    const run = await importFrom(station, url);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`readings: ${(METERS.length * QUANTITIES.length * 200).toLocaleString('en-US')} of `);
    expect(run.stdout).not.toContain(server.password);
    expect(run.stdout).not.toContain('\r');

    const pg = await connect(url);
    await expectImportFitsTarget(pg);
    const sqlite = openDatabase(join(station, 'gridhead.db'));
    try {
      await expectSameStores(sqlite, pg, written);
    } finally {
      sqlite.close();
    }
  }, 120_000);

  it('sets the ids PostgreSQL hands out past the imported ones', async () => {
    const url = await server.createDatabase();
    expect((await importFrom(station, url)).code).toBe(0);
    const pg = await connect(url);
    const importedMax = async (table: string) => (await pg.sql.unsafe<{ id: number }[]>(`SELECT max(id) AS id FROM ${table}`))[0]?.id ?? 0;
    const auditMax = await importedMax('audit_log');
    const entry = await new PostgresAuditLog(pg).append({ actor: 'op', source: null, action: 'after.import', target: null, outcome: 'ok' });
    expect(entry.id).toBeGreaterThan(auditMax);
    const actionMax = await importedMax('control_actions');
    expect((await new PostgresAlarmStore(pg).reserveIds()).first).toBeGreaterThan(await importedMax('alarms'));
    expect(await new PostgresControlActionStore(pg).begin({ meterId: 'm-1', command: 'reconnect', origin: { kind: 'operator', actor: 'op' }, reason: 'paid' }, END)).toBeGreaterThan(actionMax);

    const tokenMax = await importedMax('api_tokens');
    const auth = new AuthService(new PostgresAuthStore(pg), { ...DEFAULT_AUTH_OPTIONS, scryptCost: TEST_SCRYPT });
    try {
      expect((await auth.createToken({ name: 'after-import', role: 'viewer' }, 'ops')).view.id).toBeGreaterThan(tokenMax);
    } finally {
      await auth.close();
    }
    const letterMax = await importedMax('dlms_push_dead_letters');
    const letters = new PostgresPushDeadLetterStore(pg);
    await letters.append([{ origin: 'tcp', from: '10.0.0.9:4059', sender: 'x', code: 'C', reason: 'r', receivedAt: END, apdu: Uint8Array.of(1) }], 100);
    expect((await letters.list({ limit: 1 }))[0]?.id).toBeGreaterThan(letterMax);
    // Past the deleted meter's key too, the highest the embedded registry handed out: readings it left are never another meter's.
    const registry = await Registry.open(new PostgresRegistryStore(pg), NAMES);
    const created = await registry.createMeter({ id: 'm-new', terminalId: 't-1', address: '99', ctRatio: 1, ptRatio: 1, protected: false });
    expect(written.retiredMeterKey).toBeGreaterThan(METERS.length);
    expect(registry.meterKey(created.id)).toBeGreaterThan(written.retiredMeterKey);

    await expectOperationIdsGoOn(pg, END);
  }, 120_000);

  it('copies an area tree whose child ids sort before their parents\', batch by batch, parents first', async () => {
    const url = await server.createDatabase();
    const run = await importFrom(station, url, ['--batch', '2']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const pg = await connect(url);
    const sqlite = openDatabase(join(station, 'gridhead.db'));
    try {
      const stored = await loadedTopology(new PostgresRegistryStore(pg));
      expect(stored.areas).toHaveLength(AREAS.length);
      expect(sorted(stored)).toEqual(sorted(await loadedTopology(new SqliteRegistryStore(sqlite))));
      const registry = await Registry.open(new PostgresRegistryStore(pg), NAMES);
      expect([...registry.areaSubtree('z-region')].sort()).toEqual(AREAS.map((a) => a.id).sort());
      expect(registry.listMeters({ areaId: 'a-tx-1' }).map((m) => m.id)).toEqual(['m-1', 'm-3']);
    } finally {
      sqlite.close();
    }
  }, 120_000);

  it('refuses to run twice, with exit 6 and what to do, and copies nothing the second time', async () => {
    const url = await server.createDatabase();
    expect((await importFrom(station, url)).code).toBe(0);
    const pg = await connect(url);
    const rows = async () => Promise.all(IMPORT_TABLES.filter((t) => t.name !== 'work_order_counters').map(async (t) => [t.name, await count(pg, t.name)]));
    const before = await rows();
    expect(before).toContainEqual(['firmware_images', 1]);
    const again = await importFrom(station, url);
    expect(again.code).toBe(6);
    expect(again.stderr).toContain(`already holds this station, imported from ${station}`);
    expect(again.stderr).toContain('drop and recreate the database');
    expect(await rows()).toEqual(before);
  }, 120_000);

  it('continues an import that failed mid-readings after the last committed batch, storing nothing twice', async () => {
    const url = await server.createDatabase();
    const pg = await connect(url);
    const migrated = await cli.run(['db', 'migrate'], { env: { GRIDHEAD_CONFIG: '', GRIDHEAD_DATABASE_URL: url } });
    expect(migrated.code).toBe(0);
    // The database refuses any readings insert that would take it past 500 readings: a fault from the server itself.
    await pg.sql.unsafe(`
      CREATE FUNCTION refuse_after_500() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF (SELECT count(*) FROM readings) > 500 THEN RAISE EXCEPTION 'disk full (injected)'; END IF;
          RETURN NULL;
        END $$;
      CREATE TRIGGER refuse_after_500 AFTER INSERT ON readings FOR EACH STATEMENT EXECUTE FUNCTION refuse_after_500()`);
    const failed = await importFrom(station, url, ['--batch', '250']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('disk full (injected)');
    expect(await count(pg, 'readings')).toBe(500);
    const [progress] = await pg.sql<{ read: number; done: boolean }[]>`SELECT read, done FROM import_progress WHERE table_name = 'readings'`;
    expect(progress).toEqual({ read: 500, done: false });

    await pg.sql.unsafe('DROP TRIGGER refuse_after_500 ON readings');
    const resumed = await importFrom(station, url, ['--batch', '250']);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('readings: 1,800 rows, resuming after 500');
    expect(resumed.stdout).toContain('rules: copied by an earlier run (2 rows)');
    expect(await count(pg, 'readings')).toBe(METERS.length * QUANTITIES.length * 200);
    const sqlite = openDatabase(join(station, 'gridhead.db'));
    try {
      await expectSameStores(sqlite, pg, written);
    } finally {
      sqlite.close();
    }
  }, 120_000);

  it('continues after the import process is killed mid-readings', async () => {
    const url = await server.createDatabase();
    const pg = await connect(url);
    const running = cli.start(['db', 'import', '--from', station, '--batch', '1'], { env: { GRIDHEAD_CONFIG: '', GRIDHEAD_DATABASE_URL: url } });
    // Killed once some readings are committed, wherever it is then.
    for (;;) {
      const rows = await pg.sql<{ read: number }[]>`SELECT read FROM import_progress WHERE table_name = 'readings'`.catch(() => []);
      if ((rows[0]?.read ?? 0) > 20) break;
      if (running.child.exitCode !== null) break;
      await sleep(20);
    }
    running.child.kill('SIGKILL');
    const killed = await running.exited;
    expect(killed.signal).toBe('SIGKILL');
    const [partial] = await pg.sql<{ read: number; done: boolean }[]>`SELECT read, done FROM import_progress WHERE table_name = 'readings'`;
    expect(partial?.done).toBe(false);

    const resumed = await importFrom(station, url);
    expect(resumed.code).toBe(0);
    expect(await count(pg, 'readings')).toBe(METERS.length * QUANTITIES.length * 200);
    expect(await count(pg, 'audit_log')).toBe(2);
  }, 120_000);

  it('refuses a database holding data no import wrote (exit 5), and another station\'s import (exit 5)', async () => {
    const url = await server.createDatabase();
    const pg = await connect(url);
    expect((await cli.run(['db', 'migrate'], { env: { GRIDHEAD_CONFIG: '', GRIDHEAD_DATABASE_URL: url } })).code).toBe(0);
    await new PostgresAuditLog(pg).append({ actor: 'op', source: null, action: 'x', target: null, outcome: 'ok' });
    const notEmpty = await importFrom(station, url);
    expect(notEmpty.code).toBe(5);
    expect(notEmpty.stderr).toContain('already holds station data that no import wrote (in audit_log)');
    expect(await count(pg, 'readings')).toBe(0);

    const other = join(root, 'other');
    mkdirSync(other);
    await writeEmbeddedStation(other, { meters: ['x-1'], readingsPerSeries: 2, endTs: END, master: MASTER });
    const url2 = await server.createDatabase();
    expect((await importFrom(station, url2)).code).toBe(0);
    const second = await importFrom(other, url2);
    expect(second.code).toBe(5);
    expect(second.stderr).toContain(`holds another station's import (from ${station}`);
  }, 120_000);

  it('refuses a directory without gridhead.db, and a store of a newer schema, with exit 4', async () => {
    const url = await server.createDatabase();
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const missing = await importFrom(empty, url);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain(`${empty} holds no embedded store (gridhead.db)`);

    const newer = join(root, 'newer');
    mkdirSync(newer);
    const known = MIGRATIONS.at(-1)?.version ?? 0;
    const db = openDatabase(join(newer, 'gridhead.db'));
    db.pragma(`user_version = ${known + 1}`);
    db.close();
    const tooNew = await importFrom(newer, url);
    expect(tooNew.code).toBe(4);
    expect(tooNew.stderr).toContain(`is at schema version ${known + 1}, newer than this build knows (${known})`);

    const garbage = join(root, 'garbage');
    mkdirSync(garbage);
    writeFileSync(join(garbage, 'gridhead.db'), randomBytes(8192));
    const unreadable = await importFrom(garbage, url);
    expect(unreadable.code).toBe(4);
    expect(unreadable.stderr).toContain('cannot be read as an embedded store');
  }, 120_000);

  it('exits 2 without --from, and on a batch size out of bounds', async () => {
    const url = await server.createDatabase();
    const noFrom = await cli.run(['db', 'import'], { env: { GRIDHEAD_CONFIG: '', GRIDHEAD_DATABASE_URL: url } });
    expect(noFrom.code).toBe(2);
    expect(noFrom.stderr).toContain('db import needs --from DIR');
    const badBatch = await importFrom(station, url, ['--batch', '0']);
    expect(badBatch.code).toBe(2);
    expect(badBatch.stderr).toContain('--batch must be a whole number of rows');
  }, 60_000);
});

/** Every store the import copies, read through both drivers. */
async function expectSameStores(sqlite: Db, pg: PostgresDatabase, written: WrittenStation): Promise<void> {
  await expectSameRegistry(new SqliteRegistryStore(sqlite), new PostgresRegistryStore(pg));
  await expectSameCredentials(new SqliteAuthStore(sqlite), new PostgresAuthStore(pg), written);
  expect(await new PostgresPushListStore(pg).get(PUSH_LIST_KEY)).toEqual(await new SqlitePushListStore(sqlite).get(PUSH_LIST_KEY));
  expect(await new PostgresPushListStore(pg).get(PUSH_LIST_KEY)).toEqual(PUSH_LISTS);
  const letters = await new SqlitePushDeadLetterStore(sqlite).list({ limit: 100 });
  expect(letters).toHaveLength(2);
  expect(await new PostgresPushDeadLetterStore(pg).list({ limit: 100 })).toEqual(letters);
  expect(await new PostgresPushDeadLetterStore(pg).list({ terminalId: 't-2', limit: 100 })).toEqual(await new SqlitePushDeadLetterStore(sqlite).list({ terminalId: 't-2', limit: 100 }));
  expect(await new PostgresDropCounterStore(pg).get()).toEqual(await new SqliteDropCounterStore(sqlite).get());
  expect(await new PostgresDropCounterStore(pg).get()).toEqual(DROP_MARK);

  const keys = new Map((sqlite.prepare('SELECT key, id FROM meters').all() as { key: number; id: string }[]).map((r) => [meterId(r.id), r.key]));
  const resolve = (id: MeterId) => keys.get(id);
  const embedded = new ReadingStore(sqlite, resolve);
  const shared = await PgReadingStore.open(pg, resolve, { retentionDays: 400, partitionDaysAhead: 7, maintenanceIntervalMs: 3_600_000 });
  try {
    for (const id of keys.keys()) {
      expect(await shared.latest(id)).toEqual(embedded.latest(id));
      for (const quantity of QUANTITIES) {
        const q = { meterId: id, quantity, from: END - 400 * 900_000, to: END + 1 };
        const points = embedded.series(q);
        expect(points.length).toBe(200);
        expect(await shared.series(q)).toEqual(points);
      }
    }
  } finally {
    await shared.close();
  }
  expect(await new PostgresCommandStore(pg).get('c1')).toEqual(await new SqliteCommandStore(sqlite).get('c1'));
  expect(await new PostgresAuditLog(pg).query({ limit: 100 })).toEqual(await new SqliteAuditLog(sqlite).query({ limit: 100 }));
  expect(await new PostgresControlActionStore(pg).list()).toEqual(await new SqliteControlActionStore(sqlite).list());
  expect(await new PostgresProgramStateStore(pg).load('peak')).toEqual(await new SqliteProgramStateStore(sqlite).load('peak'));
  const pgKeys = await PostgresKeyStore.open(pg, MASTER);
  const sqliteKeys = new SqliteKeyStore(sqlite, MASTER);
  expect(await pgKeys.resolve('m-1', 'g1')).toEqual(await sqliteKeys.resolve('m-1', 'g1'));
  expect(await pgKeys.status({ kind: 'group', name: 'g1' })).toEqual(await sqliteKeys.status({ kind: 'group', name: 'g1' }));
  const pgCounters = new PostgresCounterStore(pg);
  const sqliteCounters = new SqliteCounterStore(sqlite);
  const [a, b] = [await pgCounters.countersFor('m-1', 'meter:m-1', 1), await sqliteCounters.countersFor('m-1', 'meter:m-1', 1)];
  expect(a.nextOutgoing()).toBe(b.nextOutgoing());
  await pgCounters.flush();
  expect(await new PostgresSecurityEventStore(pg).query({ limit: 100 })).toEqual(await new SqliteSecurityEventStore(sqlite).query({ limit: 100 }));
  expect(await new PostgresDeviceEventStore(pg).query({ limit: 100 })).toEqual(await new SqliteDeviceEventStore(sqlite).query({ limit: 100 }));
  const alarm = await new SqliteAlarmStore(sqlite).get('7');
  expect(alarm?.comments).toHaveLength(1);
  expect(await new PostgresAlarmStore(pg).get('7')).toEqual(alarm);
  expect(await new PostgresRuleStore(pg).list()).toEqual(await new SqliteRuleStore(sqlite).list());
  expect(await new PostgresCollectionStatsStore(pg).query('2024-07-01')).toEqual(await new SqliteCollectionStatsStore(sqlite).query('2024-07-01'));
  expect(await new PostgresProfileCursors(pg).get('m-1', 'load')).toEqual(await new SqliteProfileCursors(sqlite).get('m-1', 'load'));
  const replacements = await PostgresReplacementStore.open(pg);
  try {
    expect(replacements.of('m-2')).toEqual(new SqliteReplacementStore(sqlite).of('m-2'));
    expect(replacements.of('m-2')).toHaveLength(1);
  } finally {
    await replacements.close();
  }
  await expectSameOperations(sqlite, pg, ['m-1', 'm-2']);
}

/** The topology each store loads, in one order (neither store promises one), and the registry each opens. */
async function expectSameRegistry(embedded: RegistryStore, shared: RegistryStore): Promise<void> {
  const [a, b] = [await loadedTopology(embedded), await loadedTopology(shared)];
  expect(a.areas).toHaveLength(AREAS.length);
  expect(a.meters).toHaveLength(METERS.length);
  expect(sorted(b)).toEqual(sorted(a));
  const [ra, rb] = [await Registry.open(embedded, NAMES), await Registry.open(shared, NAMES)];
  for (const id of METERS) expect(rb.meterKey(meterId(id))).toBe(ra.meterKey(meterId(id)));
}

function sorted(t: StoredTopology): StoredTopology {
  const byId = <T>(id: (x: T) => string) => (x: T, y: T) => id(x).localeCompare(id(y));
  return {
    areas: [...t.areas].sort(byId((a) => a.id)),
    terminals: [...t.terminals].sort(byId((x) => x.id)),
    meters: [...t.meters].sort(byId((m) => m.meter.id)),
  };
}

/** Users and tokens as each store lists them; the token and the session the embedded station handed out still work. */
async function expectSameCredentials(embedded: SqliteAuthStore, shared: PostgresAuthStore, written: WrittenStation): Promise<void> {
  expect(await shared.users()).toEqual(await embedded.users());
  const tokens = await embedded.tokens();
  expect(tokens.map((t) => [t.name, t.revokedAt === null])).toEqual([['scada', true], ['old', false]]);
  expect(await shared.tokens()).toEqual(tokens);
  const auth = new AuthService(shared, { ...DEFAULT_AUTH_OPTIONS, scryptCost: TEST_SCRYPT });
  try {
    expect(await auth.authenticateToken(written.token)).toEqual({ subject: 'token:scada', role: 'viewer', via: 'token' });
    expect(await auth.authenticateSession(written.sessionId)).toEqual({ subject: `user:${written.user}`, role: 'operator', via: 'session' });
  } finally {
    await auth.close();
  }
}
