/**
 * The billing queries: meters page by page (keyset on the meter id), the nearest register
 * reads around a boundary (two primary-key seeks each), and a meter's reads over a period.
 * `bad` readings (quality 2) never enter billing. `BillingStore` is the port; the embedded
 * store's SQL is here, PostgreSQL's in src/billing/postgresStore.ts.
 */
import type { Statement } from 'better-sqlite3';
import { settled, type Db } from '../storage/db.js';
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
  /** The meter keeps a load profile: its entries are the interval edges (absent from frozen-read pages). */
  readonly keepsLoadProfile?: boolean;
}

/** A meter with the nearest reads around one boundary: what a frozen read needs. */
export interface MeterAround extends BillingMeter {
  readonly before: RegisterRead | undefined;
  readonly after: RegisterRead | undefined;
}

export interface AroundQuery {
  readonly afterId: string;
  readonly limit: number;
  readonly profile: StoredProfile;
  readonly areaIds?: readonly string[];
  readonly code: number;
  readonly at: number;
  readonly spanMs: number;
}

/** What the billing service asks of the store; every driver answers the same. */
export interface BillingStore {
  /** Up to `limit` meters with ids after `afterId` ('' for the first page), in the given areas when `areaIds` is set. */
  meters(afterId: string, limit: number, profile: StoredProfile, areaIds?: readonly string[]): Promise<BillingMeter[]>;
  /** A page of meters (as `meters`) each with its nearest reads within `spanMs` at or before and after `at`. */
  metersAround(q: AroundQuery): Promise<MeterAround[]>;
  meter(id: string, profile: StoredProfile): Promise<BillingMeter | undefined>;
  /** The persisted code of a quantity (see the reading store's quantity_codes); undefined before any reading store opened. */
  quantityCode(name: string): Promise<number | undefined>;
  /** The newest read at or before `at`, not older than `at - spanMs`. */
  before(key: number, code: number, at: number, spanMs: number): Promise<RegisterRead | undefined>;
  /** The oldest read after `at`, not later than `at + spanMs`. */
  after(key: number, code: number, at: number, spanMs: number): Promise<RegisterRead | undefined>;
  /** Reads in [from, to], oldest first, at most `max`. */
  reads(key: number, code: number, from: number, to: number, max: number): Promise<RegisterRead[]>;
}

/** An area's meter ids after a cursor, in id order: one range of meters_area (area_id, id). */
const AREA_IDS_AFTER = 'SELECT id FROM meters WHERE area_id = ? AND id > ? ORDER BY id';

interface MeterRowDb { key: number; id: string; customer_ref: string | null; account_ref: string | null; area_id: string | null; keeps: number; keeps_load?: number }
interface AroundRowDb extends MeterRowDb { b_ts: number | null; b_value: number | null; a_ts: number | null; a_value: number | null }

export class SqliteBillingStore implements BillingStore {
  private readonly page: Statement<[string, string, number], MeterRowDb>;
  private readonly listed: Statement<[string, string], MeterRowDb>;
  private readonly aroundPage: Statement<[Record<string, unknown>], AroundRowDb>;
  private readonly aroundListed: Statement<[Record<string, unknown>], AroundRowDb>;
  private readonly one: Statement<[string, string], MeterRowDb>;
  private readonly beforeStmt: Statement<[number, number, number, number], RegisterRead>;
  private readonly afterStmt: Statement<[number, number, number, number], RegisterRead>;
  private readonly rangeStmt: Statement<[number, number, number, number, number], RegisterRead>;
  private readonly codeStmt: Statement<[string], { code: number }>;

  constructor(private readonly db: Db) {
    const cols = `key, id, customer_ref, account_ref, area_id,
      EXISTS (SELECT 1 FROM profile_cursors pc WHERE pc.meter_id = m.id AND pc.profile = ?) AS keeps,
      EXISTS (SELECT 1 FROM profile_cursors pc WHERE pc.meter_id = m.id AND pc.profile = 'load') AS keeps_load`;
    // A page is the next ids of the fleet, or the ids an area subtree's page picked (`subtreeIds`).
    this.page = db.prepare(`SELECT ${cols} FROM meters m WHERE id > ? ORDER BY id LIMIT ?`);
    this.listed = db.prepare(`SELECT ${cols} FROM meters m WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id`);
    // One statement per page: the four seeks per meter run inside SQLite, not one JS call each.
    const around = (meters: string) => `SELECT p.*,
        (SELECT value FROM readings WHERE meter_key = p.key AND quantity = @code AND ts = p.b_ts) AS b_value,
        (SELECT value FROM readings WHERE meter_key = p.key AND quantity = @code AND ts = p.a_ts) AS a_value
      FROM (SELECT key, id, customer_ref, account_ref, area_id,
          EXISTS (SELECT 1 FROM profile_cursors pc WHERE pc.meter_id = m.id AND pc.profile = @profile) AS keeps,
          (SELECT ts FROM readings r WHERE r.meter_key = m.key AND r.quantity = @code AND r.ts <= @at AND r.ts >= @lo AND r.quality < 2
            ORDER BY r.ts DESC LIMIT 1) AS b_ts,
          (SELECT ts FROM readings r WHERE r.meter_key = m.key AND r.quantity = @code AND r.ts > @at AND r.ts <= @hi AND r.quality < 2
            ORDER BY r.ts LIMIT 1) AS a_ts
        FROM meters m WHERE ${meters}) p`;
    this.aroundPage = db.prepare(around('id > @afterId ORDER BY id LIMIT @limit'));
    this.aroundListed = db.prepare(around('id IN (SELECT value FROM json_each(@ids)) ORDER BY id'));
    this.one = db.prepare(`SELECT ${cols} FROM meters m WHERE id = ?`);
    this.beforeStmt = db.prepare(`SELECT ts, value FROM readings WHERE meter_key = ? AND quantity = ? AND ts <= ? AND ts >= ? AND quality < 2
      ORDER BY ts DESC LIMIT 1`);
    this.afterStmt = db.prepare(`SELECT ts, value FROM readings WHERE meter_key = ? AND quantity = ? AND ts > ? AND ts <= ? AND quality < 2
      ORDER BY ts LIMIT 1`);
    this.rangeStmt = db.prepare(`SELECT ts, value FROM readings WHERE meter_key = ? AND quantity = ? AND ts >= ? AND ts <= ? AND quality < 2
      ORDER BY ts LIMIT ?`);
    this.codeStmt = db.prepare('SELECT code FROM quantity_codes WHERE name = ?');
  }

  meters(afterId: string, limit: number, profile: StoredProfile, areaIds?: readonly string[]): Promise<BillingMeter[]> {
    return settled(() => (areaIds === undefined
      ? this.page.all(profile, afterId, limit)
      : this.listed.all(profile, JSON.stringify(this.subtreeIds(afterId, limit, areaIds)))).map(toMeter));
  }

  metersAround(q: AroundQuery): Promise<MeterAround[]> {
    return settled(() => {
      const reads = { profile: q.profile, code: q.code, at: q.at, lo: q.at - q.spanMs, hi: q.at + q.spanMs };
      const rows = q.areaIds === undefined
        ? this.aroundPage.all({ ...reads, afterId: q.afterId, limit: q.limit })
        : this.aroundListed.all({ ...reads, ids: JSON.stringify(this.subtreeIds(q.afterId, q.limit, q.areaIds)) });
      return rows.map((r) => ({
        key: r.key, id: r.id, customerRef: r.customer_ref, accountRef: r.account_ref, areaId: r.area_id, keepsProfile: r.keeps === 1,
        before: r.b_ts === null || r.b_value === null ? undefined : { ts: r.b_ts, value: r.b_value },
        after: r.a_ts === null || r.a_value === null ? undefined : { ts: r.a_ts, value: r.a_value },
      }));
    });
  }

  meter(id: string, profile: StoredProfile): Promise<BillingMeter | undefined> {
    return settled(() => {
      const row = this.one.get(profile, id);
      return row === undefined ? undefined : toMeter(row);
    });
  }

  quantityCode(name: string): Promise<number | undefined> {
    return settled(() => this.codeStmt.get(name)?.code);
  }

  before(key: number, code: number, at: number, spanMs: number): Promise<RegisterRead | undefined> {
    return settled(() => this.beforeStmt.get(key, code, at, at - spanMs));
  }

  after(key: number, code: number, at: number, spanMs: number): Promise<RegisterRead | undefined> {
    return settled(() => this.afterStmt.get(key, code, at, at + spanMs));
  }

  reads(key: number, code: number, from: number, to: number, max: number): Promise<RegisterRead[]> {
    return settled(() => this.rangeStmt.all(key, code, from, to, max));
  }

  /**
   * The ids of an area subtree's page: each area's meters after `afterId` in id order, one
   * range of meters_area (area_id, id) read lazily, merged, so a page reads at most areas +
   * limit index entries however large the fleet. `area_id IN (…)` walks the fleet's ids instead.
   */
  private subtreeIds(afterId: string, limit: number, areaIds: readonly string[]): string[] {
    // One statement per area: a statement runs one query at a time, and every area's is open until the page is full.
    const heads = areaIds.map((area) => {
      const ids = this.db.prepare<[string, string], { id: string }>(AREA_IDS_AFTER).iterate(area, afterId);
      return { ids, next: ids.next() };
    });
    const page: string[] = [];
    try {
      while (page.length < limit) {
        let lowest: (typeof heads)[number] | undefined;
        for (const h of heads) if (h.next.done !== true && (lowest === undefined || h.next.value.id < (lowest.next.value as { id: string }).id)) lowest = h;
        if (lowest === undefined) break;
        page.push((lowest.next.value as { id: string }).id);
        lowest.next = lowest.ids.next();
      }
    } finally {
      for (const h of heads) h.ids.return?.();
    }
    return page;
  }
}

function toMeter(r: MeterRowDb): BillingMeter {
  return {
    key: r.key, id: r.id, customerRef: r.customer_ref, accountRef: r.account_ref, areaId: r.area_id, keepsProfile: r.keeps === 1,
    keepsLoadProfile: r.keeps_load === 1,
  };
}
