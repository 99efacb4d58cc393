/**
 * Persisted DLMS invocation counters (IEC 62056-5-3 §5.3.4.6: the IV is system title ‖
 * invocation counter, and an IV must never repeat under one key).
 *
 * Outgoing: one counter per key (scope, generation), shared by every meter that uses the
 * key, since a group key with per-meter counters would repeat IVs. Numbers are reserved in
 * blocks: `reserved = current + blockSize` is written before any number of the block is
 * handed out, so a crash skips at most a block but never reuses a number. A graceful
 * `flush()` writes back the last number used, so a clean restart skips nothing.
 *
 * Incoming: the last counter accepted from each meter under a key, written on every accept
 * (an APDU replayed after a restart must still be refused).
 *
 * `CounterStore` is the port; `SqliteCounterStore` (here) is the embedded implementation,
 * `PostgresCounterStore` (postgresCounterStore.ts) the shared one. The DLMS engines are
 * sans-IO and synchronous, so `countersFor` resolves to counters that answer from memory:
 * everything they need from the database is fetched before it resolves.
 */
import type { SecurityCounters } from '../../protocols/dlms/security/settings.js';
import type { Db } from '../storage/db.js';

/** Numbers reserved per database write; a crash skips at most this many. */
export const DEFAULT_COUNTER_BLOCK = 1_000;
/** The invocation counter is a 32-bit unsigned field of the security header. */
export const MAX_INVOCATION_COUNTER = 0xffff_ffff;

export class CounterExhaustedError extends Error {
  readonly code = 'COUNTER_EXHAUSTED';
  constructor(readonly scope: string, readonly generation: number) {
    super(`the invocation counter of ${scope} (generation ${generation}) is exhausted; change the keys`);
    this.name = 'CounterExhaustedError';
  }
}

/** acceptIncoming was given a counter not above the last accepted one. */
export class CounterReplayError extends Error {
  readonly code = 'COUNTER_REPLAY';
  constructor(readonly meterId: string, readonly counter: number, readonly last: number) {
    super(`invocation counter ${counter} from meter ${meterId} is not above the last accepted ${last}`);
    this.name = 'CounterReplayError';
  }
}

export interface CounterStoreOptions {
  readonly blockSize?: number;
  /** Outgoing counters kept in memory at most; the least recently used are flushed and dropped. */
  readonly maxCached?: number;
}

/** The invocation counters as the station's security uses them, on any driver. */
export interface CounterStore {
  /**
   * The counters of one meter under one key (scope and generation from the key store), ready
   * for a synchronous DLMS engine: outgoing numbers are reserved in the database before this
   * resolves, and the last accepted incoming counter is the database's.
   */
  countersFor(meterId: string, scope: string, generation: number): Promise<SecurityCounters>;
  /** Drops the incoming counters of generations before `generation` (all when undefined). */
  discard(scope: string, generation: number | undefined): Promise<void>;
  /** Gives back what is reserved but unused and writes what is pending; at shutdown. */
  flush(): Promise<void>;
}

export class SqliteCounterStore implements CounterStore {
  private readonly blockSize: number;
  private readonly maxCached: number;
  private readonly outgoing = new Map<string, OutgoingCounter>();

  constructor(private readonly db: Db, options: CounterStoreOptions = {}) {
    this.blockSize = options.blockSize ?? DEFAULT_COUNTER_BLOCK;
    this.maxCached = options.maxCached ?? 100_000;
    if (!Number.isInteger(this.blockSize) || this.blockSize < 1) throw new RangeError('blockSize must be a positive integer');
  }

  /** The counters of one meter under one key (scope and generation from the key store). */
  countersFor(meterId: string, scope: string, generation: number): Promise<SecurityCounters> {
    return Promise.resolve(this.countersNow(meterId, scope, generation));
  }

  /** As `countersFor`, answered at once: the embedded database is in the process. */
  countersNow(meterId: string, scope: string, generation: number): SecurityCounters {
    const db = this.db;
    const read = db.prepare('SELECT last_accepted FROM dlms_incoming_counters WHERE meter_id = ? AND scope = ? AND generation = ?').pluck();
    const write = db.prepare(`INSERT INTO dlms_incoming_counters (meter_id, scope, generation, last_accepted) VALUES (?, ?, ?, ?)
      ON CONFLICT(meter_id, scope, generation) DO UPDATE SET last_accepted = excluded.last_accepted WHERE excluded.last_accepted > last_accepted`);
    return {
      // Looked up on every call: an evicted counter is reloaded from disk, never duplicated in memory.
      nextOutgoing: () => this.outgoingFor(scope, generation).next(),
      lastIncoming: () => read.get(meterId, scope, generation) as number | undefined,
      acceptIncoming: (counter: number) => {
        if (!Number.isInteger(counter) || counter < 0 || counter > MAX_INVOCATION_COUNTER) throw new RangeError(`invalid invocation counter ${counter}`);
        const last = read.get(meterId, scope, generation) as number | undefined;
        if (last !== undefined && counter <= last) throw new CounterReplayError(meterId, counter, last);
        write.run(meterId, scope, generation, counter);
      },
    };
  }

  /**
   * Drops the incoming counters of generations before `generation` (all when undefined):
   * their key is gone. Outgoing rows stay (one per key generation): an association still
   * open under the old key must go on counting upwards, not restart from zero.
   */
  discard(scope: string, generation: number | undefined): Promise<void> {
    const below = generation ?? Number.MAX_SAFE_INTEGER;
    this.db.prepare('DELETE FROM dlms_incoming_counters WHERE scope = ? AND generation < ?').run(scope, below);
    return Promise.resolve();
  }

  /** Writes back the last outgoing number used by each counter, so a clean restart skips none. */
  flush(): Promise<void> {
    if (this.db.open) {
      this.db.transaction(() => {
        for (const c of this.outgoing.values()) c.release();
      })();
    }
    return Promise.resolve();
  }

  private outgoingFor(scope: string, generation: number): OutgoingCounter {
    const k = `${scope}\u0000${generation}`;
    let c = this.outgoing.get(k);
    if (c !== undefined) {
      // Most recently used last, so eviction takes the oldest.
      this.outgoing.delete(k);
      this.outgoing.set(k, c);
      return c;
    }
    c = new OutgoingCounter(this.db, scope, generation, this.blockSize);
    this.outgoing.set(k, c);
    if (this.outgoing.size > this.maxCached) {
      const [oldestKey, oldest] = this.outgoing.entries().next().value ?? [];
      if (oldestKey !== undefined && oldest !== undefined) {
        oldest.release();
        this.outgoing.delete(oldestKey);
      }
    }
    return c;
  }
}

class OutgoingCounter {
  /** The last number handed out. */
  private current: number;
  /** Every number up to this one may have been used (it is on disk). */
  private reserved: number;

  constructor(private readonly db: Db, readonly scope: string, readonly generation: number, private readonly blockSize: number) {
    const row = db.prepare('SELECT reserved FROM dlms_outgoing_counters WHERE scope = ? AND generation = ?').pluck().get(scope, generation) as number | undefined;
    this.current = row ?? 0;
    this.reserved = this.current;
  }

  next(): number {
    if (this.current >= MAX_INVOCATION_COUNTER) throw new CounterExhaustedError(this.scope, this.generation);
    if (this.current + 1 > this.reserved) {
      const reserved = Math.min(MAX_INVOCATION_COUNTER, this.current + this.blockSize);
      // On disk before use: after a crash the counter resumes above every number handed out.
      this.persist(reserved);
      this.reserved = reserved;
    }
    this.current += 1;
    return this.current;
  }

  /** Gives back the unused rest of the block (numbers above `current` were never used). */
  release(): void {
    if (this.reserved === this.current) return;
    this.persist(this.current);
    this.reserved = this.current;
  }

  private persist(reserved: number): void {
    this.db.prepare(`INSERT INTO dlms_outgoing_counters (scope, generation, reserved) VALUES (?, ?, ?)
      ON CONFLICT(scope, generation) DO UPDATE SET reserved = excluded.reserved`).run(this.scope, this.generation, reserved);
  }
}
