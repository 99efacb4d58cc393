/**
 * A large billing fleet in a driver's store: one terminal, `meters` meters, two register
 * reads each around a local midnight (one hour either side), so each daily read is an
 * interpolation. The embedded store gets its rows straight into its tables; PostgreSQL gets
 * its meters in one statement and its readings through PgReadingStore. Shared by the export
 * test and the benchmarks.
 */
import { PostgresBillingStore } from '../../../src/billing/postgresStore.js';
import { SqliteBillingStore, type BillingStore } from '../../../src/billing/store.js';
import { meterId, terminalId } from '../../../src/domain/ids.js';
import type { Reading } from '../../../src/domain/reading.js';
import type { Db } from '../../../src/storage/db.js';
import type { PostgresDatabase } from '../../../src/storage/postgres/connection.js';
import { ReadingStore } from '../../../src/storage/readingStore.js';
import { readingWriterOf, type StoreConnection } from '../../helpers/storeDrivers.js';

export const meterIdOf = (i: number): string => `m${String(i).padStart(6, '0')}`;

/** Readings per write when the fleet goes through PgReadingStore. */
const BATCH = 20_000;

/** Meter i reads 1000 + i one hour before `midnight` and 1002 + i one hour after: its daily read is 1001 + i. Returns the driver's billing store over the fleet. */
export async function writeBillingFleet(c: StoreConnection, meters: number, midnight: number): Promise<BillingStore> {
  if (c.sqlite !== undefined) {
    writeEmbedded(c.sqlite, meters, midnight);
    return new SqliteBillingStore(c.sqlite);
  }
  await writePostgresMeters(c.postgres, meters);
  // Meter i has key i + 1.
  const store = await readingWriterOf(c, (id) => Number(id.slice(1)) + 1, { now: midnight, retentionDays: 2 });
  const source = { protocol: 'mqtt' as const, terminalId: terminalId('t1'), mode: 'poll' as const };
  const reading = (i: number, ts: number, value: number): Reading => ({
    meterId: meterId(meterIdOf(i)), quantity: 'energy.active.import', ts, value, unit: 'kWh', quality: 'good', source,
  });
  try {
    let batch: Reading[] = [];
    for (let i = 0; i < meters; i++) {
      batch.push(reading(i, midnight - 3_600_000, 1000 + i), reading(i, midnight + 3_600_000, 1002 + i));
      if (batch.length >= BATCH) {
        await store.write(batch);
        batch = [];
      }
    }
    await store.write(batch);
  } finally {
    await store.close();
  }
  // A bulk load: the planner needs the table's statistics before the first query, as autovacuum would give them later.
  await c.postgres.sql`ANALYZE readings`;
  return new PostgresBillingStore(c.postgres);
}

/** Terminal t1 and meters m000000 … with keys 1 …, as the registry would store them, in one statement each. */
async function writePostgresMeters(db: PostgresDatabase, meters: number): Promise<void> {
  const now = Date.now();
  await db.sql`INSERT INTO terminals (id, name, protocol, enabled, profiles, endpoint, created_at, updated_at)
    VALUES ('t1', 't1', 'mqtt', true, '[]', '{}', ${now}, ${now})`;
  await db.sql`INSERT INTO meters (key, id, name, terminal_id, address, ct_ratio, pt_ratio, area_id, protected, customer_ref, account_ref, created_at, updated_at)
    OVERRIDING SYSTEM VALUE
    SELECT i + 1, 'm' || lpad(i::text, 6, '0'), 'm' || lpad(i::text, 6, '0'), 't1', i::text, 1, 1, NULL, false, 'C' || i, 'A' || i, ${now}, ${now}
    FROM generate_series(0, ${meters - 1}) AS i`;
  await db.sql`ANALYZE meters`;
}

function writeEmbedded(db: Db, meters: number, midnight: number): void {
  // The reading store owns the quantity codes; constructing it syncs them.
  new ReadingStore(db, () => undefined);
  const code = db.prepare<[string], { code: number }>('SELECT code FROM quantity_codes WHERE name = ?').get('energy.active.import')?.code;
  if (code === undefined) throw new Error('quantity codes not synced');
  const now = Date.now();
  db.transaction(() => {
    db.prepare(`INSERT INTO terminals (id, name, protocol, enabled, profiles, endpoint, created_at, updated_at)
      VALUES ('t1', 't1', 'mqtt', 1, '[]', '{}', ?, ?)`).run(now, now);
    const meter = db.prepare(`INSERT INTO meters (key, id, name, terminal_id, address, ct_ratio, pt_ratio, area_id, protected, customer_ref, account_ref, created_at, updated_at)
      VALUES (?, ?, ?, 't1', ?, 1, 1, NULL, 0, ?, ?, ?, ?)`);
    const reading = db.prepare('INSERT INTO readings (meter_key, quantity, ts, value, quality, source) VALUES (?, ?, ?, ?, 0, 0)');
    for (let i = 0; i < meters; i++) {
      const id = meterIdOf(i);
      meter.run(i + 1, id, id, String(i), `C${i}`, `A${i}`, now, now);
      reading.run(i + 1, code, midnight - 3_600_000, 1000 + i);
      reading.run(i + 1, code, midnight + 3_600_000, 1002 + i);
    }
  })();
}
