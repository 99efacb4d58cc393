/**
 * Day partitions of `readings`: created ahead of need, dropped whole past retention.
 *
 * Why a day: a 1,000,000-meter fleet at 15-minute intervals writes about 96 M values a day,
 * about 9 GB with its indexes (93 bytes a reading in tests/bench/pg-reading-store.bench.ts).
 * A day partition keeps its primary-key index small enough to stay in memory while it is
 * written (inserts land in today's partition only), a billing day or an area's daily profile
 * reads one partition, and retention drops one table a day instead of deleting 96 M rows (no
 * vacuum debt, no bloat). An hour would mean 24 times as many tables for the planner to
 * consider per query; a month would make retention coarse and the index being written too
 * large for memory.
 *
 * The window is [today − retentionDays + 1, today + daysAhead], in UTC days: late profile
 * data of past days still has its partition, a reading too far in the future or past retention
 * has none and is refused by the store (src/storage/postgres/readingStore.ts).
 */
import type { Queryable, TransactionSql } from './connection.js';
import { ADVISORY_LOCK_SPACE } from './connection.js';

export const DAY_MS = 86_400_000;
const LOCK_PARTITIONS = 2;
const PARTITION_NAME = /^readings_(\d{4})(\d{2})(\d{2})$/;

/** Days since the epoch (UTC), first and last, both inclusive. */
export interface PartitionWindow {
  readonly firstDay: number;
  readonly lastDay: number;
}

export interface MaintenanceResult {
  readonly created: readonly string[];
  readonly dropped: readonly string[];
  /** Every day that has a partition after the step. */
  readonly days: ReadonlySet<number>;
}

export function dayOf(ts: number): number {
  return Math.floor(ts / DAY_MS);
}

export function partitionWindow(now: number, retentionDays: number, daysAhead: number): PartitionWindow {
  const today = dayOf(now);
  return { firstDay: today - retentionDays + 1, lastDay: today + daysAhead };
}

/** `readings_YYYYMMDD` of a day since the epoch. */
export function partitionName(day: number): string {
  return `readings_${new Date(day * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** The day a partition of ours holds; undefined for a table of another name. */
export function partitionDay(name: string): number | undefined {
  const m = PARTITION_NAME.exec(name);
  if (m === null) return undefined;
  return dayOf(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
}

/**
 * Creates the window's missing partitions and drops those wholly before it, in one
 * transaction under an advisory lock, so two nodes maintaining at once do not collide. Bounded:
 * at most the window's days are created. Idempotent: a second run changes nothing.
 */
export async function maintainPartitions(tx: TransactionSql, window: PartitionWindow): Promise<MaintenanceResult> {
  await tx.unsafe(`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_SPACE}, ${LOCK_PARTITIONS})`);
  const existing = await existingDays(tx);
  const created: string[] = [];
  const dropped: string[] = [];
  for (const [day, name] of existing) {
    if (day >= window.firstDay) continue;
    await tx.unsafe(`DROP TABLE ${name}`);
    existing.delete(day);
    dropped.push(name);
  }
  for (let day = window.firstDay; day <= window.lastDay; day++) {
    if (existing.has(day)) continue;
    const name = partitionName(day);
    await tx.unsafe(`CREATE TABLE ${name} PARTITION OF readings FOR VALUES FROM (${day * DAY_MS}) TO (${(day + 1) * DAY_MS})`);
    existing.set(day, name);
    created.push(name);
  }
  return { created, dropped, days: new Set(existing.keys()) };
}

/** The days that have a partition now, read from the catalogue (another node may have changed them). */
export async function partitionDays(sql: Queryable): Promise<Set<number>> {
  return new Set((await existingDays(sql)).keys());
}

async function existingDays(sql: Queryable): Promise<Map<number, string>> {
  const rows = await sql<{ name: string }[]>`
    SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'readings'::regclass`;
  const out = new Map<number, string>();
  for (const r of rows) {
    const day = partitionDay(r.name);
    if (day !== undefined) out.set(day, r.name);
  }
  return out;
}
