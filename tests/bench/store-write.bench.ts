import { afterAll, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/storage/db.js';
import { ReadingStore } from '../../src/storage/readingStore.js';
import { meterId, terminalId, type MeterId } from '../../src/domain/ids.js';
import type { Quantity } from '../../src/domain/quantity.js';
import type { Reading } from '../../src/domain/reading.js';

// A file-backed store in WAL mode, as in production: 10,000 meters × 8 quantities per
// interval, written in batches of 5,000 (storage.batchSize default), 1,000,000 readings.
const METERS = 10_000;
const QUANTITIES: readonly Quantity[] = ['energy.active.import', 'power.active', 'power.reactive', 'voltage.l1', 'current.l1', 'power.factor', 'frequency', 'energy.active.export'];
const TOTAL = 1_000_000;
const BATCH = 5_000;

const dir = mkdtempSync(join(tmpdir(), 'gridhead-bench-store-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

it('writes readings to the embedded store', () => {
  const db = openDatabase(join(dir, 'store.db'));
  const now = Date.now();
  db.prepare(`INSERT INTO terminals (id, name, protocol, enabled, profiles, endpoint, created_at, updated_at) VALUES ('t', 't', 'mqtt', 1, '[]', '{}', ?, ?)`).run(now, now);
  const add = db.prepare(`INSERT INTO meters (id, name, terminal_id, address, ct_ratio, pt_ratio, area_id, protected, created_at, updated_at) VALUES (?, ?, 't', ?, 1, 1, NULL, 0, ?, ?)`);
  const keys = new Map<MeterId, number>();
  const ids: MeterId[] = [];
  db.transaction(() => {
    for (let i = 0; i < METERS; i++) {
      const id = meterId(`m-${i}`);
      keys.set(id, Number(add.run(id, id, String(i), now, now).lastInsertRowid));
      ids.push(id);
    }
  })();
  const store = new ReadingStore(db, (id) => keys.get(id));
  const source = { protocol: 'mqtt', terminalId: terminalId('t'), mode: 'push' } as const;

  // Pre-build the readings so the figure measures the store, not the generator.
  const all: Reading[] = [];
  const t0 = Date.UTC(2024, 0, 1);
  for (let n = 0; all.length < TOTAL; n++) {
    const ts = t0 + n * 60_000;
    for (const id of ids) for (const q of QUANTITIES) all.push({ meterId: id, quantity: q, value: n + 0.5, unit: '', ts, quality: 'good', source });
  }
  all.length = TOTAL;

  const start = process.hrtime.bigint();
  for (let i = 0; i < TOTAL; i += BATCH) store.write(all.slice(i, i + BATCH));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  db.close();
  console.log(`bench: store.write = ${Math.round(TOTAL / seconds)} readings/s`);
});
