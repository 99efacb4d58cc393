/**
 * Dead letters of DLMS pushes that arrived over TCP: a push that yielded nothing (could not be
 * deciphered, its sender or its list not identified, its list not read, ...) is kept with its
 * bytes and the reason, so an operator can see what a meter sent and feed it again once the
 * cause is fixed. Pushes over MQTT go to the broker's dead-letter topic instead (protocols/dlms/net/pushMqtt.ts),
 * as every refused MQTT message does.
 *
 * `PushDeadLetterStore` is the storage port: `SqlitePushDeadLetterStore` here,
 * `PostgresPushDeadLetterStore` in postgres/dlmsPushDeadLetters.ts. `PushDeadLetters` is what
 * the push intake hands its dead letters to, on either driver.
 *
 * The receiver dead-letters from synchronous code (protocols/dlms/push/receiver.ts `fail`, on
 * the push's own handling) and must not hold the meter's connection for a diagnostic write, so
 * `add` never waits for the store: letters go through the ordered write-behind queue of
 * writeBehind.ts, at most `maxQueued` (`dlms.push.deadLetters.maxQueued`; past it a letter is
 * counted as failed, not kept), written in batches, retried with a backoff (failures counted
 * and reported, the caller logs them throttled), drained by `flush()` at shutdown; `list`
 * waits for it first, so a node reads what it queued. On the embedded store the row is written
 * before `add` returns. A crash loses what is still queued: acceptable for a diagnostic record
 * whose every push was already counted and logged by the receiver, and on which nothing waits.
 *
 * Bounded: `maxRows` rows (`dlms.push.deadLetters.maxRows`; the oldest are dropped and counted).
 */
import type { PushDeadLetterSink } from '../../protocols/dlms/push/intake.js';
import type { PushDeadLetter } from '../../protocols/dlms/push/receiver.js';
import { settled, type Db } from './db.js';
import { refusedForGood } from './refusedRows.js';
import { WriteBehindQueue, WritesAbandoned } from './writeBehind.js';

export interface PushDeadLetterRecord extends PushDeadLetter {
  readonly id: number;
}

export interface PushDeadLetterFilter {
  readonly terminalId?: string;
  readonly limit: number;
}

/** Where dead letters are kept, on any driver. */
export interface PushDeadLetterStore {
  /** Keeps the letters in order, all or none, then drops the oldest past `maxRows`; resolves with how many went. */
  append(letters: readonly PushDeadLetter[], maxRows: number): Promise<number>;
  /** Newest first. */
  list(filter: PushDeadLetterFilter): Promise<PushDeadLetterRecord[]>;
}

export interface PushDeadLetterCounters {
  stored: number;
  /** Rows dropped, oldest first, to keep `maxRows`. */
  dropped: number;
  /** Dead letters not kept (counted only): the queue was full, the store refused them, or shutdown gave them up. */
  failed: number;
}

export interface PushDeadLettersOptions {
  /** Rows kept at most (`dlms.push.deadLetters.maxRows`). */
  readonly maxRows: number;
  /** Letters waiting for the store at most (`dlms.push.deadLetters.maxQueued`). */
  readonly maxQueued: number;
  /** First wait before a failed write is tried again, doubling up to `retryMaxMs`. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** Every failed write (it is retried) or refused letter; the caller logs it throttled. */
  readonly onFailure?: (error: unknown, waiting: number) => void;
}

/** How long `flush` at shutdown keeps retrying what is queued before it gives it up (counted as failed). */
export const PUSH_DEAD_LETTERS_FLUSH_MS = 5_000;
const WRITE_BATCH = 100;
const MAX_REASON = 500;
const MAX_NAME = 200;

export class PushDeadLetters implements PushDeadLetterSink {
  readonly counters: PushDeadLetterCounters = { stored: 0, dropped: 0, failed: 0 };
  private readonly queue: WriteBehindQueue<PushDeadLetter>;

  constructor(private readonly store: PushDeadLetterStore, private readonly options: PushDeadLettersOptions) {
    this.queue = new WriteBehindQueue<PushDeadLetter>({
      write: async (letters) => {
        this.counters.dropped += await store.append(letters, options.maxRows);
        this.counters.stored += letters.length;
      },
      max: options.maxQueued,
      maxBatch: WRITE_BATCH,
      retryMinMs: options.retryMinMs ?? 100,
      retryMaxMs: options.retryMaxMs ?? 10_000,
      what: 'DLMS push dead letter',
      // A letter the database refuses is counted and dropped, so it cannot hold up every letter behind it.
      refusedForGood,
      onFailure: (err, _attempt, waiting) => { options.onFailure?.(err, waiting); },
    });
  }

  /** Queues one dead letter (trimmed to what the store keeps); false when the queue is full (counted). */
  add(d: PushDeadLetter): boolean {
    if (!this.queue.hasRoom()) {
      this.counters.failed += 1;
      return false;
    }
    const letter: PushDeadLetter = {
      ...d, from: d.from.slice(0, MAX_NAME), sender: d.sender.slice(0, MAX_NAME), reason: d.reason.slice(0, MAX_REASON),
    };
    this.queue.push(letter).catch(() => { this.counters.failed += 1; });
    return true;
  }

  /** Newest first, including every letter queued before the call. */
  async list(filter: PushDeadLetterFilter): Promise<PushDeadLetterRecord[]> {
    // Letters given up are counted already; the store answers with what it has.
    await this.queue.settled().catch(() => undefined);
    return this.store.list(filter);
  }

  /** Letters waiting for the store now. */
  get waiting(): number {
    return this.queue.stats().waiting;
  }

  /**
   * Writes what is queued, retrying for up to `deadlineMs`; at shutdown (later letters are
   * refused). Rejects with `WritesAbandoned` when the store cannot take it in time (the letters
   * are counted as failed).
   */
  async flush(deadlineMs = PUSH_DEAD_LETTERS_FLUSH_MS): Promise<void> {
    const abandoned = await this.queue.drain(deadlineMs);
    if (abandoned > 0) throw new WritesAbandoned(abandoned, 'DLMS push dead letter');
  }
}

export class SqlitePushDeadLetterStore implements PushDeadLetterStore {
  private readonly insert;
  private readonly prune;
  private readonly appendAll;

  constructor(private readonly db: Db) {
    this.insert = db.prepare('INSERT INTO dlms_push_dead_letters (received_at, origin, peer, sender, terminal_id, code, reason, apdu) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.prune = db.prepare('DELETE FROM dlms_push_dead_letters WHERE id <= ?');
    this.appendAll = db.transaction((letters: readonly PushDeadLetter[], maxRows: number): number => {
      let last = 0;
      for (const d of letters) {
        last = Number(this.insert.run(d.receivedAt, d.origin, d.from, d.sender, d.terminalId ?? null, d.code, d.reason, Buffer.from(d.apdu)).lastInsertRowid);
      }
      return this.prune.run(last - maxRows).changes;
    });
  }

  append(letters: readonly PushDeadLetter[], maxRows: number): Promise<number> {
    return settled(() => (letters.length === 0 ? 0 : this.appendAll(letters, maxRows)));
  }

  list(filter: PushDeadLetterFilter): Promise<PushDeadLetterRecord[]> {
    return settled(() => {
      const rows = this.db.prepare(`SELECT id, received_at, origin, peer, sender, terminal_id, code, reason, apdu FROM dlms_push_dead_letters
        ${filter.terminalId === undefined ? '' : 'WHERE terminal_id = ?'} ORDER BY id DESC LIMIT ?`)
        .all(...(filter.terminalId === undefined ? [] : [filter.terminalId]), filter.limit) as PushDeadLetterRow[];
      return rows.map(recordOf);
    });
  }
}

/** A dead letter as both drivers return it. */
export interface PushDeadLetterRow {
  readonly id: number;
  readonly received_at: number;
  readonly origin: 'tcp' | 'mqtt';
  readonly peer: string;
  readonly sender: string;
  readonly terminal_id: string | null;
  readonly code: string;
  readonly reason: string;
  readonly apdu: Buffer;
}

export function recordOf(r: PushDeadLetterRow): PushDeadLetterRecord {
  return {
    id: r.id, receivedAt: r.received_at, origin: r.origin, from: r.peer, sender: r.sender, code: r.code, reason: r.reason,
    apdu: new Uint8Array(r.apdu.buffer, r.apdu.byteOffset, r.apdu.byteLength),
    ...(r.terminal_id === null ? {} : { terminalId: r.terminal_id }),
  };
}
