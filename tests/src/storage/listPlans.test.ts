/**
 * Every DB-backed list route pages by keyset: a page, first or deep, with each filter the
 * route offers, is read as index ranges, never a scan of the table or a sort of it, so it costs
 * the same at a million rows as at a thousand. Checked on the plans of the statements the
 * stores really send, on both drivers; dropping an index these pages stand on fails here.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteAlarmStore, type AlarmQuery, type AlarmStore } from '../../../src/alarms/store.js';
import { PostgresAlarmStore } from '../../../src/alarms/postgresStore.js';
import type { StoredProfile } from '../../../src/billing/store.js';
import { areaId } from '../../../src/domain/ids.js';
import type { AuditFilter } from '../../../src/control/audit.js';
import type { CommandFilter } from '../../../src/control/commandStore.js';
import { PostgresDeviceEventStore } from '../../../src/events/postgresStore.js';
import { SqliteDeviceEventStore, type DeviceEventQuery, type DeviceEventStore } from '../../../src/events/store.js';
import { PostgresSecurityEventStore } from '../../../src/security/postgresSecurityEvents.js';
import { SqliteSecurityEventStore, type SecurityEventFilter, type SecurityEventStore } from '../../../src/security/securityEvents.js';
import { postgresPlanNodes, postgresRangeOnly, recordingPostgres, recordingSqlite, sqlitePlan, sqliteRangeOnly, type SentQuery } from '../../helpers/queryPlans.js';
import {
  STORE_DRIVERS, auditLogOf, billingStoreOf, commandStoreOf, connectEachTest, disposeStoreDrivers, readingWriterOf, type StoreConnection,
} from '../../helpers/storeDrivers.js';

afterAll(disposeStoreDrivers);

const LIMIT = 101;

describe.each(STORE_DRIVERS)('list pages on $name', (driver) => {
  const database = connectEachTest(driver);

  /**
   * Runs `page` against a recording connection and returns whether each statement it sent is
   * read as index ranges. `sorted`: the last step sorts what index ranges gave (a bounded set).
   * `scans`: SQLite scans that are no table's, e.g. of a subquery's rows or a JSON array; a
   * first page without filter is a scan in the page order, stopped at the limit. `seek`: what
   * SQLite's plan must search by (its plan does not show a filter applied to rows read).
   * `filtered`: relations PostgreSQL may filter while reading (readings' quality).
   */
  async function rangesOnly(page: (c: StoreConnection) => Promise<unknown>, options: {
    readonly sorted?: boolean; readonly scans?: readonly string[]; readonly seek?: string; readonly filtered?: readonly string[];
  } = {}): Promise<{ ok: boolean; plans: unknown[] }> {
    const c = database().connection;
    let sent: SentQuery[];
    let plans: unknown[];
    if (c.sqlite !== undefined) {
      const rec = recordingSqlite(c.sqlite);
      await page({ sqlite: rec.db });
      sent = rec.taken();
      plans = sent.map((q) => sqlitePlan(c.sqlite, q));
      const ok = (plans as string[][]).every((p) => sqliteRangeOnly(options.sorted === true ? p.filter((l) => !l.includes('TEMP B-TREE FOR ORDER BY')) : p, options.scans));
      const seeks = options.seek === undefined || (plans as string[][]).some((p) => p.some((l) => l.startsWith('SEARCH') && l.includes(options.seek ?? '')));
      return { ok: ok && seeks && sent.length > 0, plans };
    }
    const rec = recordingPostgres(c.postgres);
    try {
      await page({ postgres: rec.db });
      sent = rec.taken();
    } finally {
      await rec.close();
    }
    plans = await Promise.all(sent.map((q) => postgresPlanNodes(c.postgres, q)));
    const ok = (plans as string[][]).every((p) => postgresRangeOnly(options.sorted === true ? p.filter((n) => n !== 'Sort') : p, options.filtered));
    return { ok: ok && sent.length > 0, plans };
  }

  const alarmStore = (c: StoreConnection): AlarmStore => (c.sqlite !== undefined ? new SqliteAlarmStore(c.sqlite) : new PostgresAlarmStore(c.postgres));
  const eventStore = (c: StoreConnection): DeviceEventStore => (c.sqlite !== undefined ? new SqliteDeviceEventStore(c.sqlite) : new PostgresDeviceEventStore(c.postgres));

  // [case, query, what SQLite must search by]; a first page without filter reads the table in page order.
  const alarmPages: [string, Omit<AlarmQuery, 'limit'>, string | undefined][] = [
    ['first page', {}, undefined],
    ['deep page', { beforeId: 500_000 }, 'rowid<?'],
    ['by state', { states: ['raised'], beforeId: 500_000 }, 'state=? AND id<?'],
    ['by severity', { severity: 'major', beforeId: 500_000 }, 'severity=? AND rowid<?'],
    ['by one area', { areaIds: [areaId('tr-1')], beforeId: 500_000 }, 'area_id=? AND id<?'],
    ['by an area subtree', { areaIds: [areaId('tr-1'), areaId('tr-2'), areaId('tr-3')], beforeId: 500_000 }, 'area_id=? AND id<?'],
    ['by meter', { meterId: 'm-1', beforeId: 500_000 }, 'subject_id=? AND id<?'],
    ['by rule', { ruleId: 'voltage-loss', beforeId: 500_000 }, 'rule_id=? AND rowid<?'],
  ];
  it.each(alarmPages)('reads an alarm page %s as index ranges', async (name, q, seek) => {
    // PostgreSQL merges a subtree's per-area ranges with a sort of areas × limit rows at most.
    const r = await rangesOnly((c) => alarmStore(c).list({ ...q, limit: LIMIT }), {
      scans: name === 'first page' ? ['alarms'] : [], sorted: name === 'by an area subtree' && database().connection.postgres !== undefined,
      ...(seek === undefined ? {} : { seek }),
    });
    expect(r.ok, JSON.stringify(r.plans)).toBe(true);
  });

  const eventPages: [string, Omit<DeviceEventQuery, 'limit'>, string | undefined][] = [
    ['first page', {}, undefined],
    ['deep page', { cursor: '1700000000000.500000' }, '(ts<?)'],
    ['by meter', { meterId: 'm-1', cursor: '1700000000000.500000' }, 'meter_id=? AND ts<?'],
    ['by terminal', { terminalId: 't-1', cursor: '1700000000000.500000' }, 'terminal_id=? AND ts<?'],
    ['by code', { code: 'power-down', cursor: '1700000000000.500000' }, 'code=? AND ts<?'],
  ];
  it.each(eventPages)('reads a device event page %s as index ranges', async (name, q, seek) => {
    const r = await rangesOnly((c) => eventStore(c).query({ ...q, limit: LIMIT }), {
      scans: name === 'first page' ? ['device_events USING INDEX device_events_ts'] : [], ...(seek === undefined ? {} : { seek }),
    });
    expect(r.ok, JSON.stringify(r.plans)).toBe(true);
  });

  const auditPages: [string, Omit<AuditFilter, 'limit'>, string | undefined][] = [
    ['first page', {}, undefined],
    ['deep page', { cursor: 500_000 }, 'rowid<?'],
    ['by actor', { actor: 'ops', cursor: 500_000 }, 'actor=? AND rowid<?'],
    ['by action', { action: 'meter.update', cursor: 500_000 }, 'action=? AND rowid<?'],
    ['by target', { target: 'meter:m-1', cursor: 500_000 }, 'target=? AND rowid<?'],
  ];
  it.each(auditPages)('reads an audit page %s as index ranges', async (name, q, seek) => {
    const r = await rangesOnly((c) => auditLogOf(c).query({ ...q, limit: LIMIT }), { scans: name === 'first page' ? ['audit_log'] : [], ...(seek === undefined ? {} : { seek }) });
    expect(r.ok, JSON.stringify(r.plans)).toBe(true);
  });

  const commandPages: [string, Omit<CommandFilter, 'limit'>, string | undefined, boolean][] = [
    ['first page', {}, undefined, false],
    ['deep page', { before: 'c-1' }, 'created_at<?', false],
    ['by type', { type: 'disconnect', before: 'c-1' }, 'type=? AND created_at<?', false],
    ['by actor', { actor: 'ops', before: 'c-1' }, 'origin_kind=? AND origin_id=? AND created_at<?', false],
    // A meter's own commands and the open ones, found by their targets, are few: sorting them is bounded.
    ['by meter', { meterId: 'm-1', before: 'c-1' }, 'meter_id=?', true],
    ['of open commands', { status: 'open', before: 'c-1' }, 'status=?', true],
  ];
  it.each(commandPages)('reads a command page %s as index ranges', async (name, q, seek, sorted) => {
    const r = await rangesOnly((c) => commandStoreOf(c).list({ ...q, limit: LIMIT }), {
      sorted, scans: name === 'first page' ? ['c USING INDEX commands_created'] : [], ...(seek === undefined ? {} : { seek }),
    });
    expect(r.ok, JSON.stringify(r.plans)).toBe(true);
  });

  const securityStore = (c: StoreConnection): SecurityEventStore => (c.sqlite !== undefined ? new SqliteSecurityEventStore(c.sqlite) : new PostgresSecurityEventStore(c.postgres));
  const securityPages: [string, Omit<SecurityEventFilter, 'limit'>, string | undefined][] = [
    ['first page', {}, undefined],
    ['deep page', { cursor: 500_000 }, 'rowid<?'],
    ['by meter', { meterId: 'm-1', cursor: 500_000 }, 'meter_id=? AND rowid<?'],
    ['by kind', { kind: 'replay', cursor: 500_000 }, 'kind=? AND rowid<?'],
  ];
  it.each(securityPages)('reads a security event page %s as index ranges', async (name, q, seek) => {
    const r = await rangesOnly((c) => securityStore(c).query({ ...q, limit: LIMIT }), { scans: name === 'first page' ? ['security_events'] : [], ...(seek === undefined ? {} : { seek }) });
    expect(r.ok, JSON.stringify(r.plans)).toBe(true);
  });

  const at = Date.UTC(2026, 0, 10);
  it.each([['first page', ''], ['deep page', 'm900000']])('reads a billing page of meters %s as index ranges', async (_name, afterId) => {
    // The reading store makes the day partitions around `at` (PostgreSQL) and the quantity codes.
    await (await readingWriterOf(database().connection, () => undefined, { now: at, retentionDays: 2 })).close();
    const code = await billingStoreOf(database().connection).quantityCode('energy.active.import');
    const around = { code: code ?? 1, at, spanMs: 3_600_000, profile: 'daily' as StoredProfile };
    const r = await rangesOnly(async (c) => {
      const billing = billingStoreOf(c);
      await billing.meters(afterId, LIMIT, 'daily');
      await billing.metersAround({ ...around, afterId, limit: LIMIT });
    }, { scans: ['json_each', 'p'], seek: 'id>?', filtered: ['readings'] });
    expect(r.ok, JSON.stringify(r.plans)).toBe(true);
  });

  it('reads a billing page of an area subtree\'s meters as one index range per area', async () => {
    await (await readingWriterOf(database().connection, () => undefined, { now: at, retentionDays: 2 })).close();
    const areas = ['tr-1', 'tr-2'];
    const r = await rangesOnly(async (c) => {
      const billing = billingStoreOf(c);
      await billing.meters('m5', LIMIT, 'daily', areas);
      await billing.metersAround({ code: 1, at, spanMs: 3_600_000, profile: 'daily', afterId: 'm5', limit: LIMIT, areaIds: areas });
    }, { scans: ['json_each', 'p'], seek: 'area_id=? AND id>?', filtered: ['readings'], sorted: true });
    expect(r.ok, JSON.stringify(r.plans)).toBe(true);
  });
});
