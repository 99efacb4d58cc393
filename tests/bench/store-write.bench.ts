import { afterAll, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/storage/db.js';
import { ReadingStore } from '../../src/storage/readingStore.js';
import { BATCH, buildReadings, registerMeters } from './readingsWorkload.js';

// A file-backed store in WAL mode, as in production: 10,000 meters × 8 quantities per
// interval, written in batches of 5,000 (storage.batchSize default), 1,000,000 readings.
const TOTAL = 1_000_000;

const dir = mkdtempSync(join(tmpdir(), 'gridhead-bench-store-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

it('writes readings to the embedded store', () => {
  const db = openDatabase(join(dir, 'store.db'));
  const keys = registerMeters(db);
  const store = new ReadingStore(db, (id) => keys.get(id));
  const all = buildReadings(TOTAL, Date.UTC(2024, 0, 1), 60_000);

  const start = process.hrtime.bigint();
  for (let i = 0; i < TOTAL; i += BATCH) store.write(all.slice(i, i + BATCH));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  db.close();
  console.log(`bench: store.write = ${Math.round(TOTAL / seconds)} readings/s`);
});
