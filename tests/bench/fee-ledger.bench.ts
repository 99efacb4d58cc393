/**
 * The fee ledger at 100,000 accounts on each driver (the embedded store, and PostgreSQL on a
 * throw-away cluster; skipped, with the reason printed, where it is not installed):
 *
 * - a fee run's charges: one row per account, appended in batches of 1,000 (rows/s), and the
 *   same run again after a restart, every row a duplicate that adds nothing (rows/s);
 * - every account with its balance and fee-control state, page by page (accounts/s);
 * - following the ledger from the start with `changedSince` (rows/s).
 *
 * The accounts themselves are inserted by SQL (a fixture, not what is measured).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { NewLedgerEntry } from '../../src/fees/store.js';
import { STORE_DRIVERS, disposeStoreDrivers, execute, feeStoreOf } from '../helpers/storeDrivers.js';

const ACCOUNTS = 100_000;
const BATCH = 1_000;
const T0 = Date.UTC(2026, 2, 10);

afterAll(() => disposeStoreDrivers());

const slug = (name: string): string => (name.startsWith('PostgreSQL') ? 'postgres' : 'embedded');
const id = (i: number): string => `acc-${String(i).padStart(6, '0')}`;

function fixtureSql(postgres: boolean): string[] {
  const series = postgres
    ? `SELECT i FROM generate_series(0, ${ACCOUNTS - 1}) AS i`
    : `WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < ${ACCOUNTS - 1}) SELECT i FROM s`;
  const idOf = postgres ? `'acc-' || lpad(i::text, 6, '0')` : `'acc-' || substr('000000' || i, -6, 6)`;
  const meterOf = postgres ? `'m-' || i` : `'m-' || i`;
  const flag = postgres ? 'false' : '0';
  return [
    `INSERT INTO fee_accounts (id, customer_ref, name, mode, cycle, tariff_id, currency, credit_limit_minor, warn_first_minor, warn_second_minor,
      reconnect_minor, protected, notify, created_at, updated_at)
      SELECT ${idOf}, 'c', 'n', 'prepaid', NULL, 'flat', 'CNY', 1000, 5000, 1000, 0, ${flag}, '{"kind":"none"}', ${T0}, ${T0} FROM (${series}) s`,
    `INSERT INTO fee_account_meters (meter_id, account_id, position) SELECT ${meterOf}, ${idOf}, 0 FROM (${series}) s`,
    `INSERT INTO fee_balances (account_id, balance_minor, through_seq) SELECT id, 0, 0 FROM fee_accounts`,
    `INSERT INTO fee_control_states (account_id, stage, updated_at, version) SELECT id, 'normal', ${T0}, 0 FROM fee_accounts`,
  ];
}

function charges(from: number): NewLedgerEntry[] {
  return Array.from({ length: BATCH }, (_, k) => ({
    accountId: id(from + k), kind: 'charge', amountMinor: -(100 + ((from + k) % 900)), currency: 'CNY',
    key: `charge:m-${from + k}:${T0 - 86_400_000}:${T0}`, at: T0, periodFrom: T0 - 86_400_000, periodTo: T0, actor: 'fee-run',
    detail: { kWh: '12.345', price: '0.5283' },
  }));
}

async function seconds(work: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

describe.each(STORE_DRIVERS)('fee ledger at 100,000 accounts on $name', (driver) => {
  it('books, re-books, lists and follows', async (ctx) => {
    if (driver.unavailable !== undefined) {
      console.log(`bench: skipped on ${driver.name}: ${driver.unavailable}`);
      ctx.skip();
    }
    const name = slug(driver.name);
    const database = await driver.create();
    try {
      const connection = await database.connect();
      for (const statement of fixtureSql(connection.postgres !== undefined)) await execute(connection, statement);
      const store = feeStoreOf(connection);

      const appendS = await seconds(async () => {
        for (let from = 0; from < ACCOUNTS; from += BATCH) await store.append(charges(from));
      });
      const again = feeStoreOf(await database.connect());
      let duplicates = 0;
      const rebookS = await seconds(async () => {
        for (let from = 0; from < ACCOUNTS; from += BATCH) duplicates += (await again.append(charges(from))).filter((e) => e.duplicate).length;
      });
      expect(duplicates).toBe(ACCOUNTS);

      let listed = 0;
      let total = 0;
      const listS = await seconds(async () => {
        let after: string | undefined;
        for (;;) {
          const page = await store.accounts({ limit: 1000, ...(after === undefined ? {} : { after }) });
          listed += page.items.length;
          for (const r of page.items) total += r.balance.amountMinor;
          if (page.next === null) break;
          after = page.next;
        }
      });
      expect(listed).toBe(ACCOUNTS);
      expect(total).toBe(-Array.from({ length: ACCOUNTS }, (_, i) => 100 + (i % 900)).reduce((a, b) => a + b, 0));

      let followed = 0;
      const followS = await seconds(async () => {
        let seq = 0;
        for (;;) {
          const changes = await store.changedSince(seq, 1000);
          if (changes.throughSeq === seq) break;
          followed += changes.accountIds.length;
          seq = changes.throughSeq;
        }
      });
      expect(followed).toBe(ACCOUNTS);

      console.log(`bench: fees.${name}.append_100k_charges_batches_of_1000 = ${Math.round(ACCOUNTS / appendS)} rows/s`);
      console.log(`bench: fees.${name}.rebook_100k_duplicate_charges = ${Math.round(ACCOUNTS / rebookS)} rows/s`);
      console.log(`bench: fees.${name}.list_100k_accounts_with_balance_and_state = ${Math.round(ACCOUNTS / listS)} accounts/s`);
      console.log(`bench: fees.${name}.follow_100k_ledger_rows = ${Math.round(ACCOUNTS / followS)} rows/s`);
    } finally {
      await database.dispose();
    }
  });
});
