/**
 * The registry's change log on PostgreSQL (migration 23, table `registry_change_log`): what a
 * node reads to follow the others. Triggers on `areas`, `terminals` and `meters` log every id a
 * transaction touches under the transaction's sequence number; sequence numbers commit in order
 * and without gaps. A writing store notifies channel `registry_changes` with `{"o": origin,
 * "s": seq}` at commit; a follower then reads the log after the last entry it read, in pages of
 * REGISTRY_LOG_PAGE, and hands each page's ids to its sink, waiting on the sink before reading
 * the next (the promise is the backpressure). A batch of any size thus reaches the others as the
 * ids it touched; a notification lost while the listener was down is caught up from the log
 * once it listens again. The one case left for a read of everything: the entries after the
 * follower's place were pruned (REGISTRY_LOG_RETENTION_MS), so it can no longer tell what changed.
 */
import type { PostgresDatabase, TransactionSql } from '../storage/postgres/connection.js';
import { reconnectDelayMs } from '../storage/postgres/connection.js';
import { listenTo, notifyInTransaction } from '../storage/postgres/notifications.js';
import type { TopologyHintSink, TopologyIds } from './store.js';

/** The channel every node's registry listens on. */
export const REGISTRY_CHANNEL = 'registry_changes';
/** Log entries a follower reads at once, and so the most ids one read-back names. */
export const REGISTRY_LOG_PAGE = 5_000;
/** How long entries stay in the log: a node that was away longer reloads everything. */
export const REGISTRY_LOG_RETENTION_MS = 60 * 60 * 1000;
/** Entries one write prunes at most, so pruning never makes a write slow. */
export const REGISTRY_LOG_PRUNE_ROWS = 20_000;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 10_000;
/** The log's kinds (migration 23), parents first. */
const KIND_AREA = 0;
const KIND_TERMINAL = 1;

/** Where a follower is in the log: after all of `seq`, or after one entry of it. */
interface LogPlace {
  readonly seq: number;
  readonly entry?: { readonly kind: number; readonly id: string };
}

interface LogRow {
  readonly seq: number | null;
  readonly kind: number | null;
  readonly id: string | null;
  readonly last: number;
  readonly pruned: number;
}

// One statement, one snapshot: the log's page, the last sequence committed and how far the
// log was pruned agree. Everything up to `last` is committed and visible, so a short page
// means the follower has read all of it.
const PAGE_COLUMNS = 'l.seq::float8 AS seq, l.kind, l.id, s.seq::float8 AS last, s.pruned::float8 AS pruned';
const PAGE_AFTER_SEQ = `
  SELECT ${PAGE_COLUMNS} FROM registry_change_seq s LEFT JOIN LATERAL (
    SELECT seq, kind, id FROM registry_change_log WHERE seq > $1 AND origin IS DISTINCT FROM $2 ORDER BY seq, kind, id LIMIT $3
  ) l ON true`;
const PAGE_AFTER_ENTRY = `
  SELECT ${PAGE_COLUMNS} FROM registry_change_seq s LEFT JOIN LATERAL (
    SELECT seq, kind, id FROM registry_change_log WHERE (seq, kind, id) > ($1, $4, $5) AND origin IS DISTINCT FROM $2 ORDER BY seq, kind, id LIMIT $3
  ) l ON true`;

// Whole sequences are marked pruned even when a bounded delete took only part of one: a
// follower behind the mark reloads, never misses an entry.
const PRUNE_AND_READ_SEQ = `
  WITH gone AS (
    DELETE FROM registry_change_log WHERE ctid = ANY(ARRAY(
      SELECT ctid FROM registry_change_log WHERE at < now() - $1 * interval '1 millisecond' LIMIT ${REGISTRY_LOG_PRUNE_ROWS}))
    RETURNING seq
  ), marked AS (
    UPDATE registry_change_seq SET pruned = greatest(pruned, (SELECT max(seq) FROM gone)) WHERE EXISTS (SELECT 1 FROM gone)
  )
  SELECT seq::float8 AS seq FROM registry_change_seq`;

/** Names the writing store in the entries its triggers log; the first statement of a registry write. */
export async function logAs(tx: TransactionSql, origin: string): Promise<void> {
  await tx`SELECT set_config('gridhead.registry_origin', ${origin}, true)`;
}

/** The last statement of a registry write: prunes what is older than `retentionMs` and notifies the transaction's sequence. */
export async function announce(tx: TransactionSql, origin: string, retentionMs: number): Promise<void> {
  const [row] = await tx.unsafe<{ seq: number }[]>(PRUNE_AND_READ_SEQ, [retentionMs], { prepare: true });
  await notifyInTransaction(tx, REGISTRY_CHANNEL, JSON.stringify({ o: origin, s: row?.seq ?? 0 }));
}

/**
 * Follows the log for the store named `origin` (whose own entries it skips), from the last
 * sequence committed when listening starts: what was committed before is in the load that
 * follows. Resolves once listening.
 */
export async function followChangeLog(db: PostgresDatabase, origin: string, sink: TopologyHintSink): Promise<{ stop(): Promise<void> }> {
  const follower = new ChangeLogFollower(db, origin, sink);
  const listening = await listenTo(db, REGISTRY_CHANNEL, {
    heard: (payload) => { follower.heard(payload); },
    // Notifications of the gap are lost, not the log: read it from where this node is.
    missed: () => { follower.wake(); },
  });
  try {
    await follower.begin();
  } catch (err) {
    await listening.stop();
    throw err;
  }
  return {
    stop: async () => {
      await listening.stop();
      await follower.stop();
    },
  };
}

class ChangeLogFollower {
  private place: LogPlace | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;

  constructor(private readonly db: PostgresDatabase, private readonly origin: string, private readonly sink: TopologyHintSink) {}

  async begin(): Promise<void> {
    const [row] = await this.db.run((sql) => sql<{ seq: number }[]>`SELECT seq::float8 AS seq FROM registry_change_seq`);
    this.place = { seq: row?.seq ?? 0 };
    if (this.again) this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Another node's notification wakes the reader unless it names a sequence already read; anything else on the channel is ignored. */
  heard(payload: string): void {
    const notice = parseNotice(payload);
    if (notice === undefined || notice.origin === this.origin) return;
    if (this.place !== undefined && this.running === undefined && notice.seq <= this.place.seq && this.place.entry === undefined) return;
    this.wake();
  }

  /** One read at a time; a wake during a read makes it read again at its end. */
  wake(): void {
    this.again = true;
    if (this.stopped || this.place === undefined || this.running !== undefined || this.timer !== undefined) return;
    this.again = false;
    this.running = this.read().finally(() => {
      this.running = undefined;
      if (this.again) this.wake();
    });
  }

  private async read(): Promise<void> {
    try {
      await this.readToEnd();
      this.failures = 0;
    } catch (err) {
      // The database unreachable: the log keeps what this node has not read; try again after a backoff.
      this.failures += 1;
      this.sink.failed(err);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.wake();
      }, reconnectDelayMs(this.failures, RETRY_MIN_MS, RETRY_MAX_MS));
      this.timer.unref();
    }
  }

  private async readToEnd(): Promise<void> {
    for (;;) {
      if (this.stopped || this.place === undefined) return;
      const place = this.place;
      const rows = await this.db.run((sql) => (place.entry === undefined
        ? sql.unsafe<LogRow[]>(PAGE_AFTER_SEQ, [place.seq, this.origin, REGISTRY_LOG_PAGE], { prepare: true })
        : sql.unsafe<LogRow[]>(PAGE_AFTER_ENTRY, [place.seq, this.origin, REGISTRY_LOG_PAGE, place.entry.kind, place.entry.id], { prepare: true })));
      const head = rows[0];
      if (head === undefined) return;
      // The mark covers whole sequences, so a place within the sequence marked last is behind it as well.
      if (place.entry === undefined ? place.seq < head.pruned : place.seq <= head.pruned) {
        // What changed after this node's place is gone from the log: everything, then follow on from the last sequence committed.
        this.place = { seq: head.last };
        this.sink.changedAll();
        continue;
      }
      const ids = { areas: [] as string[], terminals: [] as string[], meters: [] as string[] } satisfies TopologyIds;
      let end: LogPlace = place;
      for (const r of rows) {
        if (r.seq === null || r.kind === null || r.id === null) continue;
        (r.kind === KIND_AREA ? ids.areas : r.kind === KIND_TERMINAL ? ids.terminals : ids.meters).push(r.id);
        end = { seq: r.seq, entry: { kind: r.kind, id: r.id } };
      }
      const full = rows.length === REGISTRY_LOG_PAGE && end !== place;
      // A short page read the log to `last` (the entries skipped as this node's own included).
      this.place = full ? end : { seq: Math.max(head.last, end.seq) };
      if (end !== place) await this.sink.changed(ids);
      if (!full) return;
    }
  }
}

interface Notice {
  readonly origin: string;
  readonly seq: number;
}

function parseNotice(payload: string): Notice | undefined {
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || !('o' in v) || typeof v.o !== 'string' || !('s' in v) || typeof v.s !== 'number') return undefined;
  return { origin: v.o, seq: v.s };
}
