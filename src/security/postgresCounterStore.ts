/**
 * DLMS invocation counters in PostgreSQL, shared by every node of a station
 * (IEC 62056-5-3 §5.3.4.6: an IV, system title ‖ invocation counter, never repeats under one key).
 *
 * Outgoing: each process reserves blocks of numbers with one atomic statement
 * (`INSERT … ON CONFLICT DO UPDATE SET reserved = reserved + block RETURNING reserved`): the
 * row lock makes concurrent reservations from any number of processes queue, so every block
 * is disjoint from every other and above every earlier one. No process ever reads the counter
 * and writes it back. A process hands out numbers of its block from memory (the DLMS engines
 * are synchronous) and reserves the next block in the background once half of the current one
 * is used; a number is never handed out unless its block is committed. A crash skips at most
 * the rest of two blocks; `flush()` gives the unused rest of the last block back only while
 * no other process has reserved after it (compare-and-set), so a clean restart skips nothing.
 *
 * Incoming: `countersFor` reads the last accepted counter from the database, so a node sees
 * what the others accepted up to then; an accept is checked against that, kept in memory and
 * written through a coalescing queue with a monotone update (`WHERE last_accepted < new`),
 * so writes in any order, from any node, only ever raise it. A crash loses the accepts not yet
 * written, at most one drain (milliseconds): an APDU accepted in that window could be accepted
 * once more after a restart. That is acceptable because what it carries is idempotent where it
 * lands (readings are keyed on meter, quantity and time), and awaiting the write inside the
 * synchronous engine is not possible.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SecurityCounters } from '../../protocols/dlms/security/settings.js';
import type { PostgresDatabase } from '../storage/postgres/connection.js';
import { databaseError, type DatabaseError } from '../storage/postgres/errors.js';
import {
  CounterExhaustedError, CounterReplayError, DEFAULT_COUNTER_BLOCK, MAX_INVOCATION_COUNTER, type CounterStore, type CounterStoreOptions,
} from './counterStore.js';

/** Every reserved outgoing number is used and the next block has not come from the database yet. */
export class CounterNotReservedError extends Error {
  readonly code = 'COUNTER_NOT_RESERVED';
  constructor(readonly scope: string, readonly generation: number) {
    super(`no reserved invocation counter left for ${scope} (generation ${generation}): the next block could not be reserved in time`);
    this.name = 'CounterNotReservedError';
  }
}

export interface PostgresCounterStoreOptions extends CounterStoreOptions {
  /** Accepted incoming counters written per statement at most. */
  readonly maxWriteBatch?: number;
  /** Wait before a failed write of incoming counters is tried again. */
  readonly retryDelayMs?: number;
  /** A background reservation or write failed (it is retried); log it throttled. */
  readonly onError?: (error: DatabaseError) => void;
}

export interface PostgresCounterStoreStats {
  /** Blocks of outgoing numbers reserved by this process. */
  readonly blocksReserved: number;
  /** Background reservations and incoming writes that failed (each was retried). */
  readonly failures: number;
  /** Accepted incoming counters not yet written. */
  readonly pendingIncoming: number;
}

export class PostgresCounterStore implements CounterStore {
  private readonly blockSize: number;
  private readonly maxCached: number;
  private readonly maxWriteBatch: number;
  private readonly retryDelayMs: number;
  private readonly outgoing = new Map<string, OutgoingBlocks>();
  /** Accepted incoming counters to write, coalesced per (meter, scope, generation) to the highest. */
  private readonly pending = new Map<string, IncomingRow>();
  private draining: Promise<void> | undefined;
  /** The write of incoming counters in flight, if any. */
  private writing: Promise<void> | undefined;
  private flushing = false;
  private failures = 0;
  private blocksReserved = 0;

  constructor(private readonly db: PostgresDatabase, private readonly options: PostgresCounterStoreOptions = {}) {
    this.blockSize = options.blockSize ?? DEFAULT_COUNTER_BLOCK;
    this.maxCached = options.maxCached ?? 100_000;
    this.maxWriteBatch = options.maxWriteBatch ?? 1_000;
    this.retryDelayMs = options.retryDelayMs ?? 1_000;
    if (!Number.isInteger(this.blockSize) || this.blockSize < 2) throw new RangeError('blockSize must be an integer of at least 2');
  }

  async countersFor(meterId: string, scope: string, generation: number): Promise<SecurityCounters> {
    const out = this.outgoingFor(scope, generation);
    await out.ready();
    const rows = await this.db.run((sql) => sql<{ last_accepted: number }[]>`
      SELECT last_accepted FROM dlms_incoming_counters WHERE meter_id = ${meterId} AND scope = ${scope} AND generation = ${generation}`);
    const key = incomingKey(meterId, scope, generation);
    const stored = rows[0]?.last_accepted;
    const unwritten = this.pending.get(key)?.counter;
    let last = stored === undefined ? unwritten : Math.max(stored, unwritten ?? stored);
    return {
      // This association keeps its own blocks: a key evicted meanwhile is put back, never reloaded
      // (a reload would hand out a new block while this one is still in use).
      nextOutgoing: () => this.touch(scope, generation, out).next(),
      lastIncoming: () => last,
      acceptIncoming: (counter: number) => {
        if (!Number.isInteger(counter) || counter < 0 || counter > MAX_INVOCATION_COUNTER) throw new RangeError(`invalid invocation counter ${counter}`);
        if (last !== undefined && counter <= last) throw new CounterReplayError(meterId, counter, last);
        last = counter;
        this.queueIncoming({ meterId, scope, generation, counter });
      },
    };
  }

  async discard(scope: string, generation: number | undefined): Promise<void> {
    const below = generation ?? 2 ** 31 - 1;
    for (const [k, row] of this.pending) if (row.scope === scope && row.generation < below) this.pending.delete(k);
    // A write already sent could land after the delete and bring a row back.
    await this.writing?.catch(() => undefined);
    await this.db.run((sql) => sql`DELETE FROM dlms_incoming_counters WHERE scope = ${scope} AND generation < ${below}`);
  }

  /** Writes every pending accept and gives back the unused outgoing numbers; rejects when the database cannot take them. */
  async flush(): Promise<void> {
    // The background drain stops after its attempt in flight, so a database that is down
    // makes this reject instead of waiting through the drain's retries.
    this.flushing = true;
    try {
      await this.draining;
    } finally {
      this.flushing = false;
    }
    if (this.pending.size > 0) await this.writePending();
    for (const out of this.outgoing.values()) await out.release();
  }

  stats(): PostgresCounterStoreStats {
    return { blocksReserved: this.blocksReserved, failures: this.failures, pendingIncoming: this.pending.size };
  }

  /** Atomically takes the next `blockSize` numbers of a key: (returned − blockSize, returned]. */
  private async reserve(scope: string, generation: number): Promise<number> {
    const rows = await this.db.run((sql) => sql<{ reserved: number }[]>`
      INSERT INTO dlms_outgoing_counters AS c (scope, generation, reserved) VALUES (${scope}, ${generation}, ${this.blockSize})
      ON CONFLICT (scope, generation) DO UPDATE SET reserved = c.reserved + excluded.reserved
      RETURNING reserved`);
    const reserved = rows[0]?.reserved;
    if (reserved === undefined) throw new Error('the reservation returned no row');
    this.blocksReserved += 1;
    return reserved;
  }

  /** Sets `reserved` back to `to` only when `expected` is still the latest reservation of the key. */
  private async giveBack(scope: string, generation: number, expected: number, to: number): Promise<void> {
    await this.db.run((sql) => sql`
      UPDATE dlms_outgoing_counters SET reserved = ${to} WHERE scope = ${scope} AND generation = ${generation} AND reserved = ${expected}`);
  }

  /** `out` as the key's cached blocks when the key has none (it was evicted); the cache stays bounded. */
  private touch(scope: string, generation: number, out: OutgoingBlocks): OutgoingBlocks {
    const k = outgoingKey(scope, generation);
    if (this.outgoing.get(k) === out) return out;
    if (!this.outgoing.has(k)) this.cache(k, out);
    return out;
  }

  private outgoingFor(scope: string, generation: number): OutgoingBlocks {
    const k = outgoingKey(scope, generation);
    let c = this.outgoing.get(k);
    if (c !== undefined) {
      // Most recently used last, so eviction takes the oldest.
      this.outgoing.delete(k);
      this.outgoing.set(k, c);
      return c;
    }
    c = new OutgoingBlocks(scope, generation, this.blockSize, {
      reserve: () => this.reserve(scope, generation),
      giveBack: (expected, to) => this.giveBack(scope, generation, expected, to),
      failed: (err) => { this.failed(err); },
    });
    this.cache(k, c);
    return c;
  }

  /**
   * Keeps at most `maxCached` keys' blocks; the least recently used is dropped without a
   * give-back, since an association may still count with it: its unused numbers are skipped.
   */
  private cache(k: string, blocks: OutgoingBlocks): void {
    this.outgoing.set(k, blocks);
    if (this.outgoing.size > this.maxCached) {
      const oldestKey = this.outgoing.keys().next().value;
      if (oldestKey !== undefined) this.outgoing.delete(oldestKey);
    }
  }

  private queueIncoming(row: IncomingRow): void {
    const key = incomingKey(row.meterId, row.scope, row.generation);
    const queued = this.pending.get(key);
    if (queued === undefined || queued.counter < row.counter) this.pending.set(key, row);
    this.draining ??= this.drain().finally(() => { this.draining = undefined; });
  }

  /** Writes pending accepts until none are left; a failure is reported and retried after a pause. */
  private async drain(): Promise<void> {
    while (this.pending.size > 0 && !this.flushing) {
      try {
        await this.writePending();
      } catch (err) {
        this.failed(err);
        await sleep(this.retryDelayMs);
      }
    }
  }

  private async writePending(): Promise<void> {
    while (this.pending.size > 0) {
      const batch = [...this.pending.entries()].slice(0, this.maxWriteBatch);
      for (const [k] of batch) this.pending.delete(k);
      const rows = batch.map(([, r]) => r);
      try {
        this.writing = this.db.run((sql) => sql`
          INSERT INTO dlms_incoming_counters AS c (meter_id, scope, generation, last_accepted)
          SELECT * FROM unnest(${rows.map((r) => r.meterId)}::text[], ${rows.map((r) => r.scope)}::text[],
                               ${rows.map((r) => r.generation)}::int4[], ${rows.map((r) => r.counter)}::int8[])
          ON CONFLICT (meter_id, scope, generation) DO UPDATE SET last_accepted = excluded.last_accepted
          WHERE c.last_accepted < excluded.last_accepted`).then(() => undefined);
        await this.writing;
      } catch (err) {
        // Back in the queue, unless a later accept of the same key is already there.
        for (const [k, r] of batch) {
          const queued = this.pending.get(k);
          if (queued === undefined || queued.counter < r.counter) this.pending.set(k, r);
        }
        throw err;
      }
    }
  }

  private failed(err: unknown): void {
    this.failures += 1;
    this.options.onError?.(databaseError(err, this.db.target));
  }
}

interface IncomingRow {
  readonly meterId: string;
  readonly scope: string;
  readonly generation: number;
  readonly counter: number;
}

interface BlockSource {
  reserve(): Promise<number>;
  giveBack(expected: number, to: number): Promise<void>;
  failed(err: unknown): void;
}

/** This process's blocks of one key's outgoing numbers: the one in use and the next, reserved ahead. */
class OutgoingBlocks {
  /** The last number handed out (0: none yet). */
  private current = 0;
  /** The last number of the block in use; `current === end` when it is used up. */
  private end = 0;
  /** The first number of the block in use, for the give-back. */
  private start = 1;
  private ahead: { readonly start: number; readonly end: number } | undefined;
  private reserving: Promise<void> | undefined;

  constructor(readonly scope: string, readonly generation: number, private readonly blockSize: number, private readonly source: BlockSource) {}

  /** Resolves once at least half a block is reserved and unused; rejects when the database cannot reserve one. */
  async ready(): Promise<void> {
    while (this.available() < this.blockSize / 2 && !this.exhausted()) {
      await this.reserveNext();
      this.advance();
    }
  }

  next(): number {
    if (this.current >= MAX_INVOCATION_COUNTER) throw new CounterExhaustedError(this.scope, this.generation);
    if (this.current >= this.end) this.advance();
    if (this.current >= this.end) {
      this.prefetch();
      throw new CounterNotReservedError(this.scope, this.generation);
    }
    this.current += 1;
    if (this.end - this.current <= this.blockSize / 2) this.prefetch();
    return this.current;
  }

  /** Gives the unused numbers back when this process holds the latest reservation; otherwise they stay skipped. */
  async release(): Promise<void> {
    await this.reserving?.catch(() => undefined);
    const latestEnd = this.ahead?.end ?? this.end;
    if (latestEnd === 0) return;
    // With the block ahead right after the one in use, no other process holds numbers between
    // them, and everything above `current` can go back; otherwise only the block ahead can.
    const contiguous = this.ahead === undefined || this.ahead.start === this.end + 1;
    const usedUpTo = contiguous ? this.current : (this.ahead?.start ?? 1) - 1;
    if (usedUpTo === latestEnd) return;
    // Given up in memory before the database hears of it: nothing above `usedUpTo` is handed
    // out by this process from now on, whether or not the give-back lands.
    if (contiguous) this.end = this.current;
    this.ahead = undefined;
    await this.source.giveBack(latestEnd, usedUpTo);
  }

  private available(): number {
    return (this.end - this.current) + (this.ahead === undefined ? 0 : this.ahead.end - this.ahead.start + 1);
  }

  private exhausted(): boolean {
    return this.current >= MAX_INVOCATION_COUNTER || (this.ahead ?? { start: this.end + 1 }).start > MAX_INVOCATION_COUNTER;
  }

  /** Moves to the reserved-ahead block once the one in use is spent. */
  private advance(): void {
    if (this.current < this.end || this.ahead === undefined) return;
    this.start = this.ahead.start;
    this.end = Math.min(this.ahead.end, MAX_INVOCATION_COUNTER);
    // Blocks of other processes may lie between: skip them, counting only upwards.
    this.current = this.start - 1;
    this.ahead = undefined;
  }

  private prefetch(): void {
    if (this.ahead !== undefined || this.reserving !== undefined || this.exhausted()) return;
    this.reserveNext().catch((err: unknown) => { this.source.failed(err); });
  }

  private reserveNext(): Promise<void> {
    if (this.ahead !== undefined) return Promise.resolve();
    this.reserving ??= this.source.reserve()
      .then((reserved) => { this.ahead = { start: reserved - this.blockSize + 1, end: reserved }; })
      .finally(() => { this.reserving = undefined; });
    return this.reserving;
  }
}

function outgoingKey(scope: string, generation: number): string {
  return `${scope}\u0000${generation}`;
}

function incomingKey(meterId: string, scope: string, generation: number): string {
  return `${meterId}\u0000${scope}\u0000${generation}`;
}
