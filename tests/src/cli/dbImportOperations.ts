/**
 * The operations' stores after `gridhead db import` (tests/helpers/embeddedOperations.ts wrote
 * them), read through both drivers, and the ids and numbers PostgreSQL hands out after them;
 * and the import's column list held against the PostgreSQL schema, which the SQLite side
 * (tests/src/storage/import/tables.test.ts) cannot see.
 */
import { expect } from 'vitest';
import { PostgresCollectionStatsStore } from '../../../src/collect/postgresStatsStore.js';
import { SqliteCollectionStatsStore } from '../../../src/collect/statsStore.js';
import { PostgresDeviceRegisterStore } from '../../../src/deviceRegister/postgresStore.js';
import { SqliteDeviceRegisterStore } from '../../../src/deviceRegister/sqliteStore.js';
import { PostgresFeeStore } from '../../../src/fees/postgresStore.js';
import { SqliteFeeStore } from '../../../src/fees/sqliteStore.js';
import { PostgresFirmwareStore } from '../../../src/firmware/postgresStore.js';
import { SqliteFirmwareStore } from '../../../src/firmware/sqliteStore.js';
import type { Db } from '../../../src/storage/db.js';
import type { ColumnType } from '../../../src/storage/import/table.js';
import { IMPORT_TABLES } from '../../../src/storage/import/tables.js';
import type { PostgresDatabase } from '../../../src/storage/postgres/connection.js';
import { PostgresWorkOrderStore } from '../../../src/workOrders/postgresStore.js';
import { SqliteWorkOrderStore } from '../../../src/workOrders/sqliteStore.js';
import { PostgresWorkflowDefinitionStore } from '../../../src/workflows/definitions/postgresStore.js';
import { SqliteWorkflowDefinitionStore } from '../../../src/workflows/definitions/sqliteStore.js';
import { PostgresWorkflowInstanceStore } from '../../../src/workflows/runtime/postgresStore.js';
import { SqliteWorkflowInstanceStore } from '../../../src/workflows/runtime/sqliteStore.js';
import {
  FEE_ACCOUNT, FIRMWARE_BYTES, FIRMWARE_CAMPAIGN, HISTORY_PER_DEVICE, METER_DAY, WORKFLOW_INSTANCE, WORKFLOW_KEY, WORK_ORDER,
} from '../../helpers/embeddedOperations.js';

/** The PostgreSQL types each kind of column is copied into (information_schema.columns.data_type). */
const TARGET_TYPES: Readonly<Record<ColumnType, readonly string[]>> = {
  int: ['smallint', 'integer', 'bigint'],
  float: ['double precision'],
  text: ['text'],
  json: ['jsonb'],
  bool: ['boolean'],
  bytes: ['bytea'],
};

/** Every imported table's columns are the target's, each of a type its kind is carried into; every table comes after those its foreign keys refer to. */
export async function expectImportFitsTarget(pg: PostgresDatabase): Promise<void> {
  const order = IMPORT_TABLES.map((t) => t.name);
  for (const table of IMPORT_TABLES) {
    if (table.columns === undefined) continue;
    const target = await pg.sql<{ column_name: string; data_type: string }[]>`
      SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ${table.name}`;
    expect(target.map((c) => c.column_name).sort(), table.name).toEqual(Object.keys(table.columns).sort());
    for (const c of target) expect(TARGET_TYPES[table.columns[c.column_name] ?? 'text'], `${table.name}.${c.column_name}`).toContain(c.data_type);
  }
  const references = await pg.sql<{ child: string; parent: string }[]>`
    SELECT conrelid::regclass::text AS child, confrelid::regclass::text AS parent FROM pg_constraint WHERE contype = 'f'`;
  for (const { child, parent } of references) {
    if (child === parent || !order.includes(child)) continue;
    expect(order.indexOf(parent), `${child} refers to ${parent}`).toBeGreaterThanOrEqual(0);
    expect(order.indexOf(parent), `${child} refers to ${parent}`).toBeLessThan(order.indexOf(child));
  }
}

/** Firmware, device register, workflows, work orders, fees and meter-day counts, as each driver reads them; then writes a counted meter-day again. */
export async function expectSameOperations(sqlite: Db, pg: PostgresDatabase, [m1, m2]: readonly [string, string]): Promise<void> {
  const [fa, fb] = [new SqliteFirmwareStore(sqlite), new PostgresFirmwareStore(pg)];
  expect(Buffer.from(await fb.imageBytes('img-1') ?? []).equals(Buffer.from(FIRMWARE_BYTES))).toBe(true);
  expect(await fb.images()).toEqual(await fa.images());
  expect(await fb.campaign(FIRMWARE_CAMPAIGN)).toEqual(await fa.campaign(FIRMWARE_CAMPAIGN));
  const devices = await fa.devices(FIRMWARE_CAMPAIGN, { limit: 10 });
  expect(devices.items.map((d) => [d.meterId, d.state])).toEqual([[m1, 'transferring'], [m2, 'failed']]);
  expect(await fb.devices(FIRMWARE_CAMPAIGN, { limit: 10 })).toEqual(devices);
  expect(await fb.counts(FIRMWARE_CAMPAIGN)).toEqual(await fa.counts(FIRMWARE_CAMPAIGN));

  const [ra, rb] = [new SqliteDeviceRegisterStore(sqlite, HISTORY_PER_DEVICE), new PostgresDeviceRegisterStore(pg, HISTORY_PER_DEVICE)];
  const history = await ra.history('meter', m1);
  expect(history.map((h) => [h.from, h.to, h.source])).toEqual([['1.1.0', '1.1.1', 'ota'], ['1.0.0', '1.1.0', 'campaign']]);
  expect(await rb.history('meter', m1)).toEqual(history);
  expect(await rb.list({ limit: 10 })).toEqual(await ra.list({ limit: 10 }));
  expect(await rb.get('meter', m2)).toEqual(await ra.get('meter', m2));

  const [da, db] = [new SqliteWorkflowDefinitionStore(sqlite), new PostgresWorkflowDefinitionStore(pg)];
  expect(await db.versions(WORKFLOW_KEY)).toEqual(await da.versions(WORKFLOW_KEY));
  expect(await db.get(WORKFLOW_KEY, 1)).toEqual(await da.get(WORKFLOW_KEY, 1));
  const [ia, ib] = [new SqliteWorkflowInstanceStore(sqlite), new PostgresWorkflowInstanceStore(pg)];
  expect(await ib.get(WORKFLOW_INSTANCE)).toEqual(await ia.get(WORKFLOW_INSTANCE));
  expect(await ib.history(WORKFLOW_INSTANCE)).toEqual(await ia.history(WORKFLOW_INSTANCE));
  expect(await ib.running()).toEqual(await ia.running());
  const effect = await ia.effect(WORKFLOW_INSTANCE, `${WORKFLOW_INSTANCE}:notify`);
  expect(effect?.output).toEqual({ sent: true });
  expect(await ib.effect(WORKFLOW_INSTANCE, `${WORKFLOW_INSTANCE}:notify`)).toEqual(effect);

  const [oa, ob] = [new SqliteWorkOrderStore(sqlite), new PostgresWorkOrderStore(pg)];
  const order = await oa.detail(WORK_ORDER);
  expect(order).toMatchObject({ state: 'done', result: { outcome: 'repaired' }, comments: [{ text: 'photos on the share' }] });
  expect(await ob.detail(WORK_ORDER)).toEqual(order);
  expect(await ob.list({ limit: 10 })).toEqual(await oa.list({ limit: 10 }));
  expect(await ob.changesSince(0, 10)).toEqual(await oa.changesSince(0, 10));

  const [ea, eb] = [new SqliteFeeStore(sqlite), new PostgresFeeStore(pg)];
  const account = await ea.account(FEE_ACCOUNT);
  expect(account?.balance.amountMinor).toBe(-3_000);
  expect(await eb.account(FEE_ACCOUNT)).toEqual(account);
  expect(await eb.entries(FEE_ACCOUNT, { limit: 10 })).toEqual(await ea.entries(FEE_ACCOUNT, { limit: 10 }));
  expect(await eb.byRequest('token:pay', 'r-1')).toEqual(await ea.byRequest('token:pay', 'r-1'));
  expect(await eb.decisions(undefined, { limit: 10 })).toEqual(await ea.decisions(undefined, { limit: 10 }));
  expect(await eb.emergency()).toEqual(await ea.emergency());

  const [ca, cb] = [new SqliteCollectionStatsStore(sqlite), new PostgresCollectionStatsStore(pg)];
  const days = await ca.areaDays({ from: METER_DAY, to: METER_DAY });
  expect(days).toHaveLength(2);
  expect(await cb.areaDays({ from: METER_DAY, to: METER_DAY })).toEqual(days);
  // The day's marks came too: a meter read again that day is not counted twice.
  await cb.addMeterDays([{ day: METER_DAY, meterId: m1, areaId: 'a-tx-1', read: true }]);
  expect(await cb.areaDays({ from: METER_DAY, to: METER_DAY })).toEqual(days);
}

/** Work order numbers and change numbers go on from the embedded store's counters; ledger and decision numbers past the copied ones. */
export async function expectOperationIdsGoOn(pg: PostgresDatabase, at: number): Promise<void> {
  const changeMax = (await pg.sql<{ n: number }[]>`SELECT max(change_seq)::int AS n FROM work_orders`)[0]?.n ?? 0;
  const { order } = await new PostgresWorkOrderStore(pg).insert({
    id: 'wo-new', key: null, type: 'repair', title: 'after import', meterId: null, customer: null, areaId: null, role: null, assignee: null,
    dueAt: null, state: 'open', alarmId: null, source: null, createdAt: at,
  }, 'user:ops');
  expect(order.number).toBe('WO-000003');
  expect(order.changeSeq).toBeGreaterThan(changeMax);
  const seqMax = async (table: string) => (await pg.sql.unsafe<{ n: number }[]>(`SELECT max(seq)::int AS n FROM ${table}`))[0]?.n ?? 0;
  const fees = new PostgresFeeStore(pg);
  const [ledgerMax, decisionMax] = [await seqMax('fee_ledger'), await seqMax('fee_decisions')];
  const [booked] = await fees.append([{ accountId: FEE_ACCOUNT, kind: 'payment', amountMinor: 100, currency: 'CNY', key: 'payment:p-2', paymentId: 'p-2', at, actor: 'token:pay' }]);
  expect(booked?.seq).toBeGreaterThan(ledgerMax);
  const [decided] = await fees.recordDecisions([{ accountId: FEE_ACCOUNT, at, action: 'none', reason: 'paid', message: 'paid', balanceMinor: -2_900 }]);
  expect(decided?.seq).toBeGreaterThan(decisionMax);
}
