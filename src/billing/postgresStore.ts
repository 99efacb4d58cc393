/**
 * The billing queries (src/billing/store.ts) on PostgreSQL, over the readings table
 * range-partitioned by day (src/storage/postgres/readingStore.ts).
 *
 * Meters page by keyset on the registry's table: `id > cursor ORDER BY id LIMIT n` in byte
 * order (COLLATE "C", the embedded store's order), one range of the index `meters_id_bytes`, or
 * of `meters_area` per area asked, so a page costs the same at a million meters as at a
 * thousand. A page of meters with their reads costs one statement: every meter's reads are
 * seeks on the partitions' primary key (meter_key, quantity, ts), "a meter's quantity over a
 * range", bounded in time so only the partitions of the span are read. Whether a meter keeps a
 * stored profile is its collection cursor (profile_cursors, primary key (meter_id, profile)).
 */
import type { PostgresDatabase } from '../storage/postgres/connection.js';
import type { AroundQuery, BillingMeter, BillingStore, MeterAround, StoredProfile } from './store.js';
import type { RegisterRead } from './vee.js';

const METER_COLUMNS = 'key, id, customer_ref, account_ref, area_id';

// $1 the last id of the previous page ('' for the first), $2 the page size.
const PAGE = `SELECT ${METER_COLUMNS} FROM meters WHERE id COLLATE "C" > $1 ORDER BY id COLLATE "C" LIMIT $2`;
// The same in the areas of $3: one index range per area, merged, so a page reads at most
// areas × page rows however many meters the areas hold.
const AREA_PAGE = `SELECT m.* FROM unnest($3::text[]) AS a(area_id) CROSS JOIN LATERAL (
    SELECT ${METER_COLUMNS} FROM meters WHERE area_id = a.area_id AND id COLLATE "C" > $1 ORDER BY id COLLATE "C" LIMIT $2
  ) m ORDER BY m.id COLLATE "C" LIMIT $2`;

/**
 * A page of meters (PAGE, or AREA_PAGE) with the nearest reads on both sides of `at`, one
 * LIMIT 1 seek each, pruned to the partitions of [lo, hi]; its own parameters follow the
 * page's: code, at, lo, hi, profile.
 */
function around(page: string, first: number): string {
  const [code, at, lo, hi, profile] = [0, 1, 2, 3, 4].map((i) => `$${first + i}`);
  return `
  WITH m AS (${page})
  SELECT m.*, b.ts AS b_ts, b.value AS b_value, a.ts AS a_ts, a.value AS a_value,
    EXISTS (SELECT 1 FROM profile_cursors pc WHERE pc.meter_id = m.id AND pc.profile = ${profile}) AS keeps
  FROM m
  LEFT JOIN LATERAL (
    SELECT r.ts, r.value FROM readings r
    WHERE r.meter_key = m.key AND r.quantity = ${code}::int2 AND r.ts <= ${at}::int8 AND r.ts >= ${lo}::int8 AND r.quality < 2
    ORDER BY r.ts DESC LIMIT 1
  ) b ON true
  LEFT JOIN LATERAL (
    SELECT r.ts, r.value FROM readings r
    WHERE r.meter_key = m.key AND r.quantity = ${code}::int2 AND r.ts > ${at}::int8 AND r.ts <= ${hi}::int8 AND r.quality < 2
    ORDER BY r.ts LIMIT 1
  ) a ON true
  ORDER BY m.id COLLATE "C"`;
}
const AROUND = around(PAGE, 3);
const AREA_AROUND = around(AREA_PAGE, 4);

const CURSORS = `SELECT meter_id, profile FROM profile_cursors WHERE meter_id = ANY($1::text[]) AND profile IN ($2, 'load')`;

const BEFORE = `SELECT ts, value FROM readings
  WHERE meter_key = $1::int4 AND quantity = $2::int2 AND ts <= $3::int8 AND ts >= $4::int8 AND quality < 2 ORDER BY ts DESC LIMIT 1`;
const AFTER = `SELECT ts, value FROM readings
  WHERE meter_key = $1::int4 AND quantity = $2::int2 AND ts > $3::int8 AND ts <= $4::int8 AND quality < 2 ORDER BY ts LIMIT 1`;
const RANGE = `SELECT ts, value FROM readings
  WHERE meter_key = $1::int4 AND quantity = $2::int2 AND ts >= $3::int8 AND ts <= $4::int8 AND quality < 2 ORDER BY ts LIMIT $5`;

interface MeterRow { key: number; id: string; customer_ref: string | null; account_ref: string | null; area_id: string | null }
interface AroundRow extends MeterRow { b_ts: number | null; b_value: number | null; a_ts: number | null; a_value: number | null; keeps: boolean }

export class PostgresBillingStore implements BillingStore {
  /** Quantity codes are kept by name forever once assigned (see the reading store), so a found one is cached. */
  private readonly codes = new Map<string, number>();

  constructor(private readonly db: PostgresDatabase) {}

  async meters(afterId: string, limit: number, profile: StoredProfile, areaIds?: readonly string[]): Promise<BillingMeter[]> {
    const page = await this.db.run((sql) => areaIds === undefined
      ? sql.unsafe<MeterRow[]>(PAGE, [afterId, limit], { prepare: true })
      : sql.unsafe<MeterRow[]>(AREA_PAGE, [afterId, limit, [...areaIds]], { prepare: true }));
    if (page.length === 0) return [];
    const kept = await this.cursors(page.map((m) => m.id), profile);
    return page.map((r) => ({ ...meterOf(r), keepsProfile: kept.has(`${r.id}\n${profile}`), keepsLoadProfile: kept.has(`${r.id}\nload`) }));
  }

  async metersAround(q: AroundQuery): Promise<MeterAround[]> {
    const reads = [q.code, q.at, q.at - q.spanMs, q.at + q.spanMs, q.profile];
    const rows = await this.db.run((sql) => q.areaIds === undefined
      ? sql.unsafe<AroundRow[]>(AROUND, [q.afterId, q.limit, ...reads], { prepare: true })
      : sql.unsafe<AroundRow[]>(AREA_AROUND, [q.afterId, q.limit, [...q.areaIds], ...reads], { prepare: true }));
    return rows.map((r) => ({
      ...meterOf(r), keepsProfile: r.keeps,
      before: r.b_ts === null || r.b_value === null ? undefined : { ts: r.b_ts, value: r.b_value },
      after: r.a_ts === null || r.a_value === null ? undefined : { ts: r.a_ts, value: r.a_value },
    }));
  }

  async meter(id: string, profile: StoredProfile): Promise<BillingMeter | undefined> {
    const [row] = await this.db.run((sql) => sql.unsafe<MeterRow[]>(`SELECT ${METER_COLUMNS} FROM meters WHERE id = $1`, [id], { prepare: true }));
    if (row === undefined) return undefined;
    const kept = await this.cursors([row.id], profile);
    return { ...meterOf(row), keepsProfile: kept.has(`${row.id}\n${profile}`), keepsLoadProfile: kept.has(`${row.id}\nload`) };
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

  private async query(text: string, params: (number | string)[]): Promise<RegisterRead[]> {
    const rows = await this.db.run((sql) => sql.unsafe<{ ts: number; value: number }[]>(text, params, { prepare: true }));
    return rows.map((r) => ({ ts: r.ts, value: r.value }));
  }

  /** `meter_id\nprofile` of each cursor the meters have for `profile` or the load profile. */
  private async cursors(ids: readonly string[], profile: StoredProfile): Promise<Set<string>> {
    const rows = await this.db.run((sql) => sql.unsafe<{ meter_id: string; profile: string }[]>(CURSORS, [[...ids], profile], { prepare: true }));
    return new Set(rows.map((r) => `${r.meter_id}\n${r.profile}`));
  }
}

function meterOf(r: MeterRow): Omit<BillingMeter, 'keepsProfile'> {
  return { key: r.key, id: r.id, customerRef: r.customer_ref, accountRef: r.account_ref, areaId: r.area_id };
}
