import { afterAll, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { areaId, meterId, terminalId, type Area, type Meter, type MeterId } from '../../src/domain/index.js';
import type { Reading } from '../../src/domain/reading.js';
import { SqliteAnalysisQueries } from '../../src/storage/analysisQueries.js';
import { AreaAnalysis } from '../../src/storage/areaAnalysis.js';
import { openDatabase } from '../../src/storage/db.js';
import { ReadingStore } from '../../src/storage/readingStore.js';

// One transformer area of 1,000 meters × one day of 1-minute power readings (1,440,000 rows),
// file-backed in WAL mode; the figure is the profile query (96 quarter hours, SQL aggregation).
const METERS = 1_000;
const MINUTES = 1_440;

const dir = mkdtempSync(join(tmpdir(), 'gridhead-bench-analysis-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

it('profiles one area of 1,000 meters over a day of 1-minute readings', async () => {
  const db = openDatabase(join(dir, 'store.db'));
  const now = Date.now();
  db.prepare(`INSERT INTO areas (id, name, kind, parent_id, transformer_kva, created_at, updated_at) VALUES ('tx', 'tx', 'transformer', NULL, 1000, ?, ?)`).run(now, now);
  db.prepare(`INSERT INTO terminals (id, name, protocol, enabled, profiles, endpoint, created_at, updated_at) VALUES ('t', 't', 'mqtt', 1, '[]', '{}', ?, ?)`).run(now, now);
  const add = db.prepare(`INSERT INTO meters (id, name, terminal_id, address, ct_ratio, pt_ratio, area_id, protected, created_at, updated_at) VALUES (?, ?, 't', ?, 1, 1, 'tx', 0, ?, ?)`);
  const keys = new Map<MeterId, number>();
  const meters: Meter[] = [];
  db.transaction(() => {
    for (let i = 0; i < METERS; i++) {
      const id = meterId(`m-${i}`);
      keys.set(id, Number(add.run(id, id, String(i), now, now).lastInsertRowid));
      meters.push({ id, name: id, terminalId: terminalId('t'), address: String(i), ctRatio: 1, ptRatio: 1, areaId: areaId('tx'), protected: false, customerRef: null, accountRef: null });
    }
  })();
  const store = new ReadingStore(db, (id) => keys.get(id));
  const source = { protocol: 'mqtt', terminalId: terminalId('t'), mode: 'push' } as const;
  const day0 = Date.UTC(2026, 10, 25) - 8 * 3_600_000;
  for (const m of meters) {
    const batch: Reading[] = [];
    for (let k = 0; k < MINUTES; k++) batch.push({ meterId: m.id, quantity: 'power.active', value: 1 + (k % 60) / 60, unit: 'kW', ts: day0 + k * 60_000, quality: 'good', source });
    store.write(batch);
  }
  const area: Area = { id: areaId('tx'), name: 'tx', kind: 'transformer', parentId: null, transformerKva: 1000 };
  const analysis = new AreaAnalysis({
    queries: new SqliteAnalysisQueries(db),
    topology: { getArea: () => area, listAreas: () => [area], listMeters: () => meters, meterKey: (id) => keys.get(id), findMeter: (id) => meters.find((m) => m.id === id) },
    utcOffsetMinutes: 480, supplyMeters: {}, maxRangeDays: 31, maxPoints: 10_000, maxCompareAreas: 10, lineLossEdgeToleranceMs: 3_600_000,
  });
  await analysis.profile('tx', '2026-11-25'); // warm the page cache, as a live station has it
  const runs = 3;
  const start = process.hrtime.bigint();
  let points = 0;
  for (let i = 0; i < runs; i++) points = (await analysis.profile('tx', '2026-11-25')).points.length;
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / runs;
  db.close();
  if (points !== 96) throw new Error(`expected 96 quarter hours, got ${points}`);
  console.log(`bench: analysis.profile.1000-meters.1-day-1min = ${Math.round(ms)} ms`);
});
