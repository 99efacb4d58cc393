/**
 * The billing queries (src/billing/store.ts) on PostgreSQL, over the readings table
 * range-partitioned by day (src/storage/postgres/readingStore.ts).
 *
 * Readings reference a meter by its compact key only; which meters exist, their key, area and
 * customer references come from the registry's in-memory image (`BillingMeterDirectory`),
 * kept sorted by id for keyset pages and rebuilt when the registry changes. A page of meters
 * then costs one statement: their keys and ids travel as two arrays, and every meter's reads
 * are seeks on the partitions' primary key (meter_key, quantity, ts), "a meter's quantity over
 * a range", bounded in time so only the partitions of the span are read. Whether a meter keeps
 * a stored profile is its collection cursor (profile_cursors, primary key (meter_id, profile)).
 */
import type { MeterId } from '../domain/ids.js';
import type { Meter } from '../domain/topology.js';
import type { PostgresDatabase } from '../storage/postgres/connection.js';
import type { AroundQuery, BillingMeter, BillingStore, MeterAround, StoredProfile } from './store.js';
import type { RegisterRead } from './vee.js';

/** The registry as billing sees it (src/registry/registry.ts satisfies it). */
export interface BillingMeterDirectory {
  listMeters(): readonly Meter[];
  findMeter(id: string): Meter | undefined;
  meterKey(id: MeterId): number | undefined;
  /** Called after every change of the topology; returns the function that stops listening. */
  onChange(listener: (change: { readonly kind: string }) => void): () => void;
}

interface Entry {
  readonly key: number;
  readonly id: string;
  readonly customerRef: string | null;
  readonly accountRef: string | null;
  readonly areaId: string | null;
}

// The nearest reads on both sides of `at`, one LIMIT 1 seek each; pruned to the partitions of [lo, hi].
const AROUND = `
  SELECT m.ord, b.ts AS b_ts, b.value AS b_value, a.ts AS a_ts, a.value AS a_value,
    EXISTS (SELECT 1 FROM profile_cursors pc WHERE pc.meter_id = m.id AND pc.profile = $3) AS keeps
  FROM unnest($1::int4[], $2::text[]) WITH ORDINALITY AS m(key, id, ord)
  LEFT JOIN LATERAL (
    SELECT r.ts, r.value FROM readings r
    WHERE r.meter_key = m.key AND r.quantity = $4::int2 AND r.ts <= $5::int8 AND r.ts >= $6::int8 AND r.quality < 2
    ORDER BY r.ts DESC LIMIT 1
  ) b ON true
  LEFT JOIN LATERAL (
    SELECT r.ts, r.value FROM readings r
    WHERE r.meter_key = m.key AND r.quantity = $4::int2 AND r.ts > $5::int8 AND r.ts <= $7::int8 AND r.quality < 2
    ORDER BY r.ts LIMIT 1
  ) a ON true
  ORDER BY m.ord`;

const CURSORS = `SELECT meter_id, profile FROM profile_cursors WHERE meter_id = ANY($1::text[]) AND profile IN ($2, 'load')`;

const BEFORE = `SELECT ts, value FROM readings
  WHERE meter_key = $1::int4 AND quantity = $2::int2 AND ts <= $3::int8 AND ts >= $4::int8 AND quality < 2 ORDER BY ts DESC LIMIT 1`;
const AFTER = `SELECT ts, value FROM readings
  WHERE meter_key = $1::int4 AND quantity = $2::int2 AND ts > $3::int8 AND ts <= $4::int8 AND quality < 2 ORDER BY ts LIMIT 1`;
const RANGE = `SELECT ts, value FROM readings
  WHERE meter_key = $1::int4 AND quantity = $2::int2 AND ts >= $3::int8 AND ts <= $4::int8 AND quality < 2 ORDER BY ts LIMIT $5`;

interface AroundRow { ord: number; b_ts: number | null; b_value: number | null; a_ts: number | null; a_value: number | null; keeps: boolean }

export class PostgresBillingStore implements BillingStore {
  /** Meters with a key, sorted by id; undefined once the registry changed, rebuilt on the next page. */
  private sorted: readonly Entry[] | undefined;
  /** Quantity codes are kept by name forever once assigned (see the reading store), so a found one is cached. */
  private readonly codes = new Map<string, number>();
  private readonly unlisten: () => void;

  constructor(private readonly db: PostgresDatabase, private readonly directory: BillingMeterDirectory) {
    this.unlisten = directory.onChange(() => { this.sorted = undefined; });
  }

  async meters(afterId: string, limit: number, profile: StoredProfile, areaIds?: readonly string[]): Promise<BillingMeter[]> {
    const page = this.page(afterId, limit, areaIds);
    if (page.length === 0) return [];
    const kept = await this.cursors(page.map((m) => m.id), profile);
    return page.map((m) => ({ ...m, keepsProfile: kept.has(`${m.id}\n${profile}`), keepsLoadProfile: kept.has(`${m.id}\nload`) }));
  }

  async metersAround(q: AroundQuery): Promise<MeterAround[]> {
    const page = this.page(q.afterId, q.limit, q.areaIds);
    if (page.length === 0) return [];
    const params = [page.map((m) => m.key), page.map((m) => m.id), q.profile, q.code, q.at, q.at - q.spanMs, q.at + q.spanMs];
    const rows = await this.db.run((sql) => sql.unsafe<AroundRow[]>(AROUND, params, { prepare: true }));
    const out: MeterAround[] = [];
    for (const r of rows) {
      const m = page[r.ord - 1];
      if (m === undefined) continue;
      out.push({
        ...m, keepsProfile: r.keeps,
        before: r.b_ts === null || r.b_value === null ? undefined : { ts: r.b_ts, value: r.b_value },
        after: r.a_ts === null || r.a_value === null ? undefined : { ts: r.a_ts, value: r.a_value },
      });
    }
    return out;
  }

  async meter(id: string, profile: StoredProfile): Promise<BillingMeter | undefined> {
    const m = this.directory.findMeter(id);
    const key = m === undefined ? undefined : this.directory.meterKey(m.id);
    if (m === undefined || key === undefined) return undefined;
    const entry = entryOf(m, key);
    const kept = await this.cursors([entry.id], profile);
    return { ...entry, keepsProfile: kept.has(`${entry.id}\n${profile}`), keepsLoadProfile: kept.has(`${entry.id}\nload`) };
  }

  async quantityCode(name: string): Promise<number | undefined> {
    const known = this.codes.get(name);
    if (known !== undefined) return known;
    const rows = await this.db.run((sql) => sql<{ code: number }[]>`SELECT code FROM quantity_codes WHERE name = ${name}`);
    const code = rows[0]?.code;
    if (code !== undefined) this.codes.set(name, code);
    return code;
  }

  async before(key: number, code: number, at: number, spanMs: number): Promise<RegisterRead | undefined> {
    return (await this.query(BEFORE, [key, code, at, at - spanMs]))[0];
  }

  async after(key: number, code: number, at: number, spanMs: number): Promise<RegisterRead | undefined> {
    return (await this.query(AFTER, [key, code, at, at + spanMs]))[0];
  }

  reads(key: number, code: number, from: number, to: number, max: number): Promise<RegisterRead[]> {
    return this.query(RANGE, [key, code, from, to, max]);
  }

  /** Stops following the registry; the pool belongs to its opener. */
  close(): void {
    this.unlisten();
  }

  private async query(text: string, params: (number | string)[]): Promise<RegisterRead[]> {
    const rows = await this.db.run((sql) => sql.unsafe<{ ts: number; value: number }[]>(text, params, { prepare: true }));
    return rows.map((r) => ({ ts: r.ts, value: r.value }));
  }

  /** `meter_id\nprofile` of each cursor the meters have for `profile` or the load profile. */
  private async cursors(ids: readonly string[], profile: StoredProfile): Promise<Set<string>> {
    const rows = await this.db.run((sql) => sql.unsafe<{ meter_id: string; profile: string }[]>(CURSORS, [[...ids], profile], { prepare: true }));
    return new Set(rows.map((r) => `${r.meter_id}\n${r.profile}`));
  }

  /** Up to `limit` meters after `afterId` in id order, in the given areas when set. */
  private page(afterId: string, limit: number, areaIds: readonly string[] | undefined): Entry[] {
    const all = this.entries();
    const areas = areaIds === undefined ? undefined : new Set(areaIds);
    const out: Entry[] = [];
    for (let i = firstAfter(all, afterId); i < all.length && out.length < limit; i++) {
      const e = all[i];
      if (e !== undefined && (areas === undefined || (e.areaId !== null && areas.has(e.areaId)))) out.push(e);
    }
    return out;
  }

  private entries(): readonly Entry[] {
    if (this.sorted !== undefined) return this.sorted;
    const entries: Entry[] = [];
    for (const m of this.directory.listMeters()) {
      const key = this.directory.meterKey(m.id);
      if (key !== undefined) entries.push(entryOf(m, key));
    }
    // Ids are ASCII (the configuration's Id pattern): code-unit order is the embedded store's byte order.
    entries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.sorted = entries;
    return entries;
  }
}

function entryOf(m: Meter, key: number): Entry {
  return { key, id: m.id, customerRef: m.customerRef, accountRef: m.accountRef, areaId: m.areaId };
}

/** Index of the first entry whose id sorts after `afterId` (binary search). */
function firstAfter(sorted: readonly Entry[], afterId: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid]?.id ?? '') <= afterId) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
