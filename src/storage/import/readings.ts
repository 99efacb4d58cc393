/**
 * The readings table's import: the rows are the same, two of their numbers are not.
 *
 * - `quantity` is a code of each store's own `quantity_codes`: it is translated by name, and
 *   a name the target does not know yet is added (its source code when free there), so no
 *   reading is relabelled.
 * - `meter_key` is `meters.key` of each store's registry: a key is translated through the
 *   meter's id to the target's key (the registry, imported before, keeps the source's keys,
 *   so the map is the identity unless the target's registry was written otherwise). A reading
 *   whose key no meter of the source has (its meter deleted) cannot be read by either store:
 *   it is not copied, and counted.
 * - A reading whose UTC day has no partition in the window the PostgreSQL store keeps
 *   (`storage.retentionDays` back, `partitionDaysAhead` ahead) would be refused or dropped by
 *   that store: it is not copied, and counted, so raising retentionDays before the import keeps it.
 */
import type { Db } from '../db.js';
import type { Sql, TransactionSql } from '../postgres/connection.js';
import { ADVISORY_LOCK_SPACE } from '../postgres/connection.js';
import { dayOf, maintainPartitions, partitionWindow } from '../postgres/partitions.js';
import { LOCK_QUANTITY_CODES } from '../postgres/readingStore.js';
import type { QuantityCodeRow } from '../readingStore.js';
import { keyedSelect, keysetReader, type ImportTable, type TableCopy } from './table.js';

export const SKIPPED_NO_METER = 'meter no longer in the registry';
export const SKIPPED_OUTSIDE_RETENTION = 'outside the days the PostgreSQL store keeps (storage.retentionDays, storage.postgres.partitionDaysAhead)';

// In the order of the primary key (meter_key, quantity, ts): the first three columns of a row.
const SELECT = keyedSelect('readings', 'meter_key, quantity, ts, value, quality, source', ['meter_key', 'quantity', 'ts']);
const INSERT = `
  INSERT INTO readings (meter_key, quantity, ts, value, quality, source)
  SELECT * FROM unnest($1::int4[], $2::int2[], $3::int8[], $4::float8[], $5::int2[], $6::int2[])
  ON CONFLICT (meter_key, quantity, ts) DO NOTHING`;

type ReadingRow = readonly [meterKey: number, quantity: number, ts: number, value: number, quality: number, source: number];

export const readingsTable: ImportTable = {
  name: 'readings',
  count: (source) => (source.prepare('SELECT count(*) AS n FROM readings').get() as { n: number }).n,
  hasRows: async (sql) => (await sql`SELECT 1 FROM readings LIMIT 1`).length > 0,
  open: async ({ source, sql, now, retentionDays, partitionDaysAhead }) => {
    const quantities = await sql.begin((tx) => quantityMap(tx, source.prepare('SELECT code, name FROM quantity_codes').all() as QuantityCodeRow[]));
    const meters = await meterKeyMap(sql, source);
    const window = partitionWindow(now, retentionDays, partitionDaysAhead);
    const { days } = await sql.begin((tx) => maintainPartitions(tx, window));
    const copy: TableCopy = {
      read: keysetReader(source, SELECT, [0, 1, 2]),
      write: async (tx, batch) => {
        const c = { meterKey: [] as number[], quantity: [] as number[], ts: [] as number[], value: [] as number[], quality: [] as number[], source: [] as number[] };
        let noMeter = 0;
        let outside = 0;
        for (const row of batch.rows as readonly ReadingRow[]) {
          const [key, code, ts, value, quality, origin] = row;
          const meterKey = meters.get(key);
          if (meterKey === undefined) {
            noMeter++;
            continue;
          }
          if (!days.has(dayOf(ts))) {
            outside++;
            continue;
          }
          c.meterKey.push(meterKey);
          c.quantity.push(quantities.get(code) ?? code);
          c.ts.push(ts);
          c.value.push(value);
          c.quality.push(quality);
          c.source.push(origin);
        }
        const skipped: Record<string, number> = {};
        if (noMeter > 0) skipped[SKIPPED_NO_METER] = noMeter;
        if (outside > 0) skipped[SKIPPED_OUTSIDE_RETENTION] = outside;
        if (c.meterKey.length === 0) return { copied: 0, skipped };
        const result = await tx.unsafe(INSERT, [c.meterKey, c.quantity, c.ts, c.value, c.quality, c.source], { prepare: true });
        return { copied: result.count, skipped };
      },
      finish: () => Promise.resolve(),
    };
    return copy;
  },
};

/**
 * Source code → target code, by name, under the reading store's lock on the codes (a node
 * starting meanwhile assigns codes too). A name the target lacks is added with its source
 * code when that code is free there, else with the next unused one.
 */
async function quantityMap(tx: TransactionSql, sourceRows: readonly QuantityCodeRow[]): Promise<Map<number, number>> {
  await tx.unsafe(`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_SPACE}, ${LOCK_QUANTITY_CODES})`);
  const target = await tx<QuantityCodeRow[]>`SELECT code, name FROM quantity_codes`;
  const byName = new Map(target.map((r) => [r.name, r.code]));
  const used = new Set(target.map((r) => r.code));
  let next = Math.max(0, ...used, ...sourceRows.map((r) => r.code)) + 1;
  const map = new Map<number, number>();
  const added: QuantityCodeRow[] = [];
  for (const r of sourceRows) {
    let code = byName.get(r.name);
    if (code === undefined) {
      code = used.has(r.code) ? next++ : r.code;
      used.add(code);
      byName.set(r.name, code);
      added.push({ code, name: r.name });
    }
    map.set(r.code, code);
  }
  if (added.length > 0) {
    await tx`INSERT INTO quantity_codes (code, name) SELECT * FROM unnest(${added.map((r) => r.code)}::int2[], ${added.map((r) => r.name)}::text[])`;
  }
  return map;
}

/** Source meter key → target meter key, for every meter of the source's registry. */
async function meterKeyMap(sql: Sql, source: Db): Promise<Map<number, number>> {
  const sourceMeters = source.prepare('SELECT key, id FROM meters').all() as { key: number; id: string }[];
  const targetKeys = new Map((await sql<{ key: number; id: string }[]>`SELECT key, id FROM meters`).map((m) => [m.id, m.key]));
  const map = new Map<number, number>();
  for (const m of sourceMeters) {
    const key = targetKeys.get(m.id);
    if (key !== undefined) map.set(m.key, key);
  }
  return map;
}
