/**
 * The billing queries on the embedded store: meters page by page (keyset on the meter id),
 * the nearest register reads around a boundary (two primary-key seeks each), and a
 * meter's reads over a period. `bad` readings (quality 2) never enter billing.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from '../storage/db.js';
import type { RegisterRead } from './vee.js';

export type StoredProfile = 'daily' | 'billing' | 'load';

export interface BillingMeter {
  readonly key: number;
  readonly id: string;
  readonly customerRef: string | null;
  readonly accountRef: string | null;
  readonly areaId: string | null;
  /** The meter keeps the stored profile asked for (it has a collection cursor for it). */
  readonly keepsProfile: boolean;
}

interface MeterRowDb { key: number; id: string; customer_ref: string | null; account_ref: string | null; area_id: string | null; keeps: number }

export class BillingStore {
  private readonly page: Statement<[string, string, string | null, string | null, number], MeterRowDb>;
  private readonly one: Statement<[string, string], MeterRowDb>;
  private readonly beforeStmt: Statement<[number, number, number, number], RegisterRead>;
  private readonly afterStmt: Statement<[number, number, number, number], RegisterRead>;
  private readonly rangeStmt: Statement<[number, number, number, number, number], RegisterRead>;
  private readonly codeStmt: Statement<[string], { code: number }>;

  constructor(db: Db) {
    const cols = `key, id, customer_ref, account_ref, area_id,
      EXISTS (SELECT 1 FROM profile_cursors pc WHERE pc.meter_id = m.id AND pc.profile = ?) AS keeps`;
    this.page = db.prepare(`SELECT ${cols} FROM meters m
      WHERE id > ? AND (? IS NULL OR area_id IN (SELECT value FROM json_each(?))) ORDER BY id LIMIT ?`);
    this.one = db.prepare(`SELECT ${cols} FROM meters m WHERE id = ?`);
    this.beforeStmt = db.prepare(`SELECT ts, value FROM readings WHERE meter_key = ? AND quantity = ? AND ts <= ? AND ts >= ? AND quality < 2
      ORDER BY ts DESC LIMIT 1`);
    this.afterStmt = db.prepare(`SELECT ts, value FROM readings WHERE meter_key = ? AND quantity = ? AND ts > ? AND ts <= ? AND quality < 2
      ORDER BY ts LIMIT 1`);
    this.rangeStmt = db.prepare(`SELECT ts, value FROM readings WHERE meter_key = ? AND quantity = ? AND ts >= ? AND ts <= ? AND quality < 2
      ORDER BY ts LIMIT ?`);
    this.codeStmt = db.prepare('SELECT code FROM quantity_codes WHERE name = ?');
  }

  /** Up to `limit` meters with ids after `afterId` ('' for the first page), in the given areas when `areaIds` is set. */
  meters(afterId: string, limit: number, profile: StoredProfile, areaIds?: readonly string[]): BillingMeter[] {
    const areas = areaIds === undefined ? null : JSON.stringify(areaIds);
    return this.page.all(profile, afterId, areas, areas, limit).map(toMeter);
  }

  meter(id: string, profile: StoredProfile): BillingMeter | undefined {
    const row = this.one.get(profile, id);
    return row === undefined ? undefined : toMeter(row);
  }

  /** The persisted code of a quantity (see ReadingStore's quantity_codes); undefined before any store opened. */
  quantityCode(name: string): number | undefined {
    return this.codeStmt.get(name)?.code;
  }

  /** The newest read at or before `at`, not older than `at - spanMs`. */
  before(key: number, code: number, at: number, spanMs: number): RegisterRead | undefined {
    return this.beforeStmt.get(key, code, at, at - spanMs);
  }

  /** The oldest read after `at`, not later than `at + spanMs`. */
  after(key: number, code: number, at: number, spanMs: number): RegisterRead | undefined {
    return this.afterStmt.get(key, code, at, at + spanMs);
  }

  /** Reads in [from, to], oldest first, at most `max`. */
  reads(key: number, code: number, from: number, to: number, max: number): RegisterRead[] {
    return this.rangeStmt.all(key, code, from, to, max);
  }
}

function toMeter(r: MeterRowDb): BillingMeter {
  return { key: r.key, id: r.id, customerRef: r.customer_ref, accountRef: r.account_ref, areaId: r.area_id, keepsProfile: r.keeps === 1 };
}
