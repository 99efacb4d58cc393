/**
 * What a page of each DB-backed list route costs at 1,000 rows and at 1,000,000, on the
 * embedded store and on PostgreSQL (a throw-away cluster; skipped, with the reason printed,
 * where it is not installed): alarms, device events, audit, commands and daily billing reads,
 * each through the store or service its route calls. The first page and a deep one (the
 * cursor of a row near the end of the order) of 100 items, median of RUNS after a warm-up.
 * Keyset paging on indexes makes the pairs alike; OFFSET or a scan would make the deep page
 * grow with the table.
 *
 * The tables are filled in the database itself (INSERT … SELECT over a generated series), one
 * statement per table and step; for the large step their secondary indexes are dropped and
 * built again from their own definitions afterwards (a sorted build, far faster than a million
 * scattered inserts), so the pages are read on the schema the migrations make.
 * GRIDHEAD_BENCH_PAGING_ROWS scales the large step down (default 1,000,000), for a quick run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresAlarmStore } from '../../src/alarms/postgresStore.js';
import { SqliteAlarmStore, type AlarmStore } from '../../src/alarms/store.js';
import { billingOptions } from '../../src/billing/index.js';
import { BillingService } from '../../src/billing/service.js';
import { buildConfig } from '../../src/config/load.js';
import { PostgresDeviceEventStore } from '../../src/events/postgresStore.js';
import { SqliteDeviceEventStore, type DeviceEventStore } from '../../src/events/store.js';
import { STORE_DRIVERS, auditLogOf, billingStoreOf, commandStoreOf, disposeStoreDrivers, execute, readingWriterOf, type StoreConnection } from '../helpers/storeDrivers.js';

const SMALL = 1_000;
const LARGE = Number(process.env.GRIDHEAD_BENCH_PAGING_ROWS ?? 1_000_000);
const PAGE = 100;
const RUNS = 15;
/** Rows the deep page's cursor is from the end of the order. */
const DEEP = 150;
const MIDNIGHT = Date.UTC(2026, 2, 10);
const DATE = '2026-03-10';
/** Row i happened at T0 + i s. */
const T0 = MIDNIGHT - 30 * 86_400_000;

afterAll(() => disposeStoreDrivers());

const slug = (name: string): string => (name.startsWith('PostgreSQL') ? 'postgres' : 'embedded');
const scale = (n: number): string => (n >= 1_000_000 ? `${n / 1_000_000}m` : `${n / 1_000}k`);

/** Median of RUNS timed calls after one warm-up (a live station has its pages cached): ms. */
async function medianMs(work: () => Promise<void>): Promise<number> {
  await work();
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const start = process.hrtime.bigint();
    await work();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(RUNS / 2)] ?? Number.NaN;
}

interface ListRoute {
  readonly name: string;
  /** The first page's length. */
  first(): Promise<number>;
  /** The length of the page after the cursor of the row `DEEP` from the end of the order. */
  deep(): Promise<number>;
}

describe.each(STORE_DRIVERS)('list paging on $name', (driver) => {
  const store = slug(driver.name);

  it('measures the first and a deep page of every list route at 1,000 and at a million rows', async (ctx) => {
    if (driver.unavailable !== undefined) {
      console.log(`bench: skipped on ${driver.name}: ${driver.unavailable}`);
      ctx.skip();
    }
    const database = await driver.create();
    try {
      const c = await database.connect();
      // The reading store assigns the quantity codes and, on PostgreSQL, makes the day's partitions.
      await (await readingWriterOf(c, () => undefined, { now: MIDNIGHT, retentionDays: 2 })).close();
      await execute(c, `INSERT INTO terminals (id, name, protocol, enabled, profiles, endpoint, created_at, updated_at)
        VALUES ('t1', 't1', 'mqtt', ${c.sqlite !== undefined ? 1 : 'true'}, '[]', '{}', ${T0}, ${T0})`);
      const routes = listRoutes(c);
      let filled = 0;
      for (const rows of [SMALL, LARGE]) {
        const start = process.hrtime.bigint();
        await withIndexesRebuilt(c, FILLED_TABLES, () => fill(c, filled, rows));
        filled = rows;
        console.log(`bench: paging.${store}.fill_to_${scale(rows)} = ${(Number(process.hrtime.bigint() - start) / 1e9).toFixed(1)} s`);
        for (const route of routes(rows)) {
          expect(await route.first()).toBe(PAGE);
          expect(await route.deep()).toBe(PAGE);
          const firstMs = await medianMs(async () => { await route.first(); });
          const deepMs = await medianMs(async () => { await route.deep(); });
          console.log(`bench: paging.${store}.${route.name}.${scale(rows)}.first = ${firstMs.toFixed(2)} ms`);
          console.log(`bench: paging.${store}.${route.name}.${scale(rows)}.deep = ${deepMs.toFixed(2)} ms`);
        }
      }
    } finally {
      await database.dispose();
    }
  });
});

/** The routes' reads over a fill of `rows` rows, newest first except billing (meter id order). */
function listRoutes(c: StoreConnection): (rows: number) => ListRoute[] {
  const alarms: AlarmStore = c.sqlite !== undefined ? new SqliteAlarmStore(c.sqlite) : new PostgresAlarmStore(c.postgres);
  const events: DeviceEventStore = c.sqlite !== undefined ? new SqliteDeviceEventStore(c.sqlite) : new PostgresDeviceEventStore(c.postgres);
  const audit = auditLogOf(c);
  const commands = commandStoreOf(c);
  const billing = new BillingService(billingStoreOf(c), billingOptions(buildConfig({}, 'bench').billing, 0, () => new Set()));
  // Row i's key is i + 1; the deep cursor is row DEEP's, so the page after it is rows DEEP − 1 … DEEP − 100.
  return (rows) => [
    { name: 'alarms', first: async () => (await alarms.list({ limit: PAGE })).length, deep: async () => (await alarms.list({ beforeId: DEEP + 1, limit: PAGE })).length },
    {
      name: 'events',
      first: async () => (await events.query({ limit: PAGE })).items.length,
      deep: async () => (await events.query({ cursor: `${T0 + DEEP * 1000}.${DEEP + 1}`, limit: PAGE })).items.length,
    },
    { name: 'audit', first: async () => (await audit.query({ limit: PAGE })).items.length, deep: async () => (await audit.query({ cursor: DEEP + 1, limit: PAGE })).items.length },
    {
      name: 'commands',
      first: async () => (await commands.list({ limit: PAGE })).items.length,
      deep: async () => (await commands.list({ before: commandIdOf(DEEP), limit: PAGE })).items.length,
    },
    // Billing runs in meter id order: its deep page starts DEEP meters before the last.
    {
      name: 'billing_daily',
      first: async () => (await billing.daily(DATE, { limit: PAGE })).rows.length,
      deep: async () => (await billing.daily(DATE, { cursor: meterIdOf(rows - DEEP), limit: PAGE })).rows.length,
    },
  ];
}

const meterIdOf = (i: number): string => `m${String(i).padStart(7, '0')}`;
const commandIdOf = (i: number): string => `cmd-${String(i).padStart(7, '0')}`;

/** Rows `from` … `to` − 1 of every table, each statement generating its rows in the database. */
async function fill(c: StoreConnection, from: number, to: number): Promise<void> {
  const pg = c.postgres !== undefined;
  // Row numbers i in [from, to): a series on PostgreSQL, a recursive CTE on SQLite.
  const series = pg ? `generate_series(${from}, ${to - 1}) AS s(i)`
    : `(WITH RECURSIVE n(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ${to}) SELECT i FROM n) AS s`;
  const padded = (prefix: string, expr: string, width: number) => (pg ? `'${prefix}' || lpad((${expr})::text, ${width}, '0')` : `printf('${prefix}%0${width}d', ${expr})`);
  const meter = (expr: string) => padded('m', expr, 7);
  const at = `${T0} + i * 1000`;
  const overriding = pg ? 'OVERRIDING SYSTEM VALUE' : '';
  const code = pg
    ? (await c.postgres.sql<{ code: number }[]>`SELECT code FROM quantity_codes WHERE name = 'energy.active.import'`)[0]?.code
    : c.sqlite.prepare<[], { code: number }>("SELECT code FROM quantity_codes WHERE name = 'energy.active.import'").get()?.code;
  if (code === undefined) throw new Error('no quantity code for energy.active.import');

  // Open alarms are unique per rule and subject: only the first 500 rows are open.
  await execute(c, `INSERT INTO alarms (id, rule_id, detector, subject_kind, subject_id, area_id, severity, state, raised_at, since, explanation, value, updated_at)
    SELECT i + 1, 'r' || (i % 20), 'threshold', 'meter', ${meter('i % 50000')}, 'a' || (i % 100),
      CASE i % 3 WHEN 0 THEN 'minor' WHEN 1 THEN 'major' ELSE 'critical' END, CASE WHEN i < 500 THEN 'raised' ELSE 'cleared' END,
      ${at}, ${at}, 'bench', 1, ${at} FROM ${series}`);
  await execute(c, `INSERT INTO device_events (id, ts, received_at, meter_id, terminal_id, code, source, detail) ${overriding}
    SELECT i + 1, ${at}, ${at}, ${meter('i % 50000')}, 't1', CASE i % 2 WHEN 0 THEN 'power-down' ELSE 'power-up' END, 'push', NULL FROM ${series}`);
  await execute(c, `INSERT INTO audit_log (id, ts, actor, source, action, target, outcome, detail) ${overriding}
    SELECT i + 1, ${at}, 'u' || (i % 10), '127.0.0.1', 'meter.update', 'meter:' || ${meter('i % 50000')}, 'ok', NULL FROM ${series}`);
  await execute(c, `INSERT INTO commands (id, type, params, scope, reason, override_reason, origin_kind, origin_id, origin_round, source, idempotency_key, body_hash, created_at)
    SELECT ${padded('cmd-', 'i', 7)}, 'disconnect', '{}', '{"meterIds":[]}', NULL, NULL, 'operator', 'u' || (i % 10), NULL, NULL, NULL, NULL, ${at} FROM ${series}`);
  await execute(c, `INSERT INTO command_targets (command_id, meter_id, seq, terminal_id, address, status, transitions, state, error_code, error_message, updated_at)
    SELECT ${padded('cmd-', 'i', 7)}, ${meter('i % 50000')}, 0, 't1', '1', 'verified', '[]', NULL, NULL, NULL, ${at} FROM ${series}`);
  // Billing: meter i with key i + 1 reads 1000 + i an hour before midnight and 1002 + i an hour after.
  await execute(c, `INSERT INTO meters (key, id, name, terminal_id, address, ct_ratio, pt_ratio, area_id, protected, customer_ref, account_ref, created_at, updated_at) ${overriding}
    SELECT i + 1, ${meter('i')}, ${meter('i')}, 't1', '' || i, 1, 1, NULL, ${pg ? 'false' : '0'}, 'C' || i, 'A' || i, ${T0}, ${T0} FROM ${series}`);
  for (const [offset, delta] of [[-3_600_000, 1000], [3_600_000, 1002]] as const) {
    await execute(c, `INSERT INTO readings (meter_key, quantity, ts, value, quality, source)
      SELECT i + 1, ${code}, ${MIDNIGHT + offset}, ${delta} + i, 0, 0 FROM ${series}`);
  }
  // A bulk load: PostgreSQL's planner needs the tables' statistics, as autovacuum would give them
  // later. The embedded store runs without any (the station never runs ANALYZE), and so does this.
  if (pg) await execute(c, 'ANALYZE');
}

// Not readings: a partitioned index's stored definition (ON ONLY) would not build its partitions'
// again, and its one secondary index (BRIN) costs next to nothing to keep up.
const FILLED_TABLES = ['alarms', 'device_events', 'audit_log', 'commands', 'command_targets', 'meters'];

/**
 * Runs `work` with the tables' secondary indexes dropped, then creates them again from their
 * definitions as stored (keys and unique constraints stay: rows arrive in their order).
 */
async function withIndexesRebuilt(c: StoreConnection, tables: readonly string[], work: () => Promise<void>): Promise<void> {
  const definitions = c.postgres !== undefined
    ? (await c.postgres.sql<{ name: string; definition: string }[]>`
        SELECT i.indexname AS name, i.indexdef AS definition FROM pg_indexes i
        WHERE i.schemaname = current_schema() AND i.tablename = ANY(${[...tables]}::text[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname)
          AND NOT EXISTS (SELECT 1 FROM pg_inherits h JOIN pg_class p ON p.oid = h.inhparent WHERE h.inhrelid = (quote_ident(i.indexname))::regclass)`)
    : c.sqlite.prepare<string[], { name: string; definition: string }>(`SELECT name, sql AS definition FROM sqlite_master
        WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (${tables.map(() => '?').join(', ')})`).all(...tables);
  for (const d of definitions) await execute(c, `DROP INDEX ${d.name}`);
  await work();
  for (const d of definitions) await execute(c, d.definition);
}
