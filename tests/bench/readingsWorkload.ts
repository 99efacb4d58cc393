/**
 * The readings workload the storage benchmarks share: 10,000 meters × 8 quantities per
 * interval, written in batches of 5,000 (the `storage.batchSize` default, the pipeline's
 * drain batch), and the embedded store's registry rows those meters need.
 */
import type { Db } from '../../src/storage/db.js';
import { meterId, terminalId, type MeterId } from '../../src/domain/ids.js';
import { QUANTITY_NAMES, type Quantity } from '../../src/domain/quantity.js';
import type { Quality, Reading } from '../../src/domain/reading.js';

export const METERS = 10_000;
export const QUANTITIES: readonly Quantity[] = ['energy.active.import', 'power.active', 'power.reactive', 'voltage.l1', 'current.l1', 'power.factor', 'frequency', 'energy.active.export'];
export const BATCH = 5_000;
export const METER_IDS: readonly MeterId[] = Array.from({ length: METERS }, (_, i) => meterId(`m-${i}`));

/**
 * `total` readings, interval after interval from `firstTs`, `stepMs` apart: every meter's
 * every quantity per interval. Built ahead so a figure measures the store, not the generator.
 */
export function buildReadings(total: number, firstTs: number, stepMs: number): Reading[] {
  const source = { protocol: 'mqtt', terminalId: terminalId('t'), mode: 'push' } as const;
  const all: Reading[] = [];
  for (let n = 0; all.length < total; n++) {
    const ts = firstTs + n * stepMs;
    for (const id of METER_IDS) for (const q of QUANTITIES) all.push({ meterId: id, quantity: q, value: n + 0.5, unit: '', ts, quality: 'good', source });
  }
  all.length = total;
  return all;
}

/** Registers the workload's meters under one terminal in an embedded store; returns each meter's key. */
export function registerMeters(db: Db): Map<MeterId, number> {
  const now = Date.now();
  db.prepare(`INSERT INTO terminals (id, name, protocol, enabled, profiles, endpoint, created_at, updated_at) VALUES ('t', 't', 'mqtt', 1, '[]', '{}', ?, ?)`).run(now, now);
  const add = db.prepare(`INSERT INTO meters (id, name, terminal_id, address, ct_ratio, pt_ratio, area_id, protected, created_at, updated_at) VALUES (?, ?, 't', ?, 1, 1, NULL, 0, ?, ?)`);
  const keys = new Map<MeterId, number>();
  db.transaction(() => {
    METER_IDS.forEach((id, i) => keys.set(id, Number(add.run(id, id, String(i), now, now).lastInsertRowid)));
  })();
  return keys;
}

/** A batch as the columns of the readings table, in the embedded store's encoding. */
export interface ReadingColumns {
  readonly meterKey: number[];
  readonly quantity: number[];
  readonly ts: number[];
  readonly value: number[];
  readonly quality: number[];
  readonly source: number[];
}

const QUALITY_CODE: Readonly<Record<Quality, number>> = { good: 0, suspect: 1, bad: 2 };
const QUANTITY_CODE = new Map(QUANTITY_NAMES.map((q, i) => [q, i]));

/**
 * What a PostgreSQL reading store does per reading before it sends a batch, as the embedded
 * store does in its insert loop: resolve the meter key and the quantity code, skip unknown
 * meters and non-finite values.
 */
export function toColumns(batch: readonly Reading[], meterKey: (id: MeterId) => number | undefined): ReadingColumns {
  const c: ReadingColumns = { meterKey: [], quantity: [], ts: [], value: [], quality: [], source: [] };
  for (const r of batch) {
    const key = meterKey(r.meterId);
    const code = QUANTITY_CODE.get(r.quantity);
    if (key === undefined || code === undefined || !Number.isFinite(r.value) || !Number.isFinite(r.ts)) continue;
    c.meterKey.push(key);
    c.quantity.push(code);
    c.ts.push(Math.round(r.ts));
    c.value.push(r.value);
    c.quality.push(QUALITY_CODE[r.quality]);
    c.source.push(r.source.mode === 'push' ? 1 : 0);
  }
  return c;
}

/** The columns as COPY text format rows (tab-separated, newline-terminated). */
export function toCopyText(c: ReadingColumns): string {
  let text = '';
  for (let i = 0; i < c.meterKey.length; i++) {
    text += `${c.meterKey[i]}\t${c.quantity[i]}\t${c.ts[i]}\t${c.value[i]}\t${c.quality[i]}\t${c.source[i]}\n`;
  }
  return text;
}
