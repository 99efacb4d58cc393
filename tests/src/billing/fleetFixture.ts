/**
 * A large billing fleet written straight into a temporary embedded store: one terminal,
 * `meters` meters, two register reads each around a local midnight (one hour either
 * side), so each daily read is an interpolation. Shared by the export test and benchmark.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../../src/storage/db.js';
import { ReadingStore } from '../../../src/storage/readingStore.js';

export interface BillingFleet {
  readonly db: Db;
  /** Local midnight the reads surround. */
  readonly midnight: number;
  close(): void;
}

export const meterIdOf = (i: number): string => `m${String(i).padStart(6, '0')}`;

/** Meter i reads 1000 + i one hour before `midnight` and 1002 + i one hour after: its daily read is 1001 + i. */
export function writeBillingFleet(meters: number, midnight: number): BillingFleet {
  const dir = mkdtempSync(join(tmpdir(), 'gridhead-billing-'));
  const db = openDatabase(join(dir, 'store.db'));
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
  return { db, midnight, close: () => { db.close(); rmSync(dir, { recursive: true, force: true }); } };
}
