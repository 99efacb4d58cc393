/**
 * Push object lists the head-end learnt per meter, and reading them when a push follows a
 * list it does not know.
 *
 * A push that neither describes itself nor follows a known list is readable only with its
 * sender's push_object_list (Blue Book IC 40 attribute 2). The learner reads every push setup's
 * list of that meter through the terminal's collection lane (the one connection polling uses:
 * no second association beside the poller's), keeps them in the station's store (a restart
 * keeps them), and hands the outcome to the pushes that waited for it.
 *
 * Bounded: one read per meter at a time and at most one per `readRetryMs` (a meter whose lists
 * fit none of its pushes is not read at every push); `maxWaiting` pushes wait in all and
 * `maxWaitingPerMeter` per meter, the rest are refused (the receiver dead-letters them); the
 * store (the station's: src/storage/dlmsPushLists.ts) keeps a bounded number of meters.
 *
 * A waiting push is held in memory (deciphered: a ciphered push's counter is already spent,
 * so its bytes could not be taken again) and its listener goes on: a slow meter holds no TCP
 * connection nor the MQTT session, whose message is acknowledged. A clean stop lets the reads
 * in flight finish (the lane bounds them) and dead-letters what they cannot serve; a crash
 * loses at most `maxWaiting` pushes.
 */
import { ProtocolError } from '../../adapter.js';
import type { PushObjectList } from './pushObjects.js';

/**
 * Where learnt lists are kept (the station's: src/storage/dlmsPushLists.ts, on either driver).
 * Asynchronous, as a network database needs, because every caller can wait without stalling a
 * session: the receiver's handling of a push is itself asynchronous (it awaits the key lookup
 * and the sink) and awaits `get` for that push only (a TCP connection's later frames wait
 * behind it as they wait behind the sink; other connections go on), and a store keeps a bounded
 * cache so that most lookups cost a microtask. `set` follows a read of the meter, not a push,
 * and the learner serves the waiting pushes before it awaits the write.
 */
export interface PushListStore {
  /** The lists learnt for `meterKey` (terminal id / address); undefined when none were. */
  get(meterKey: string): Promise<readonly PushObjectList[] | undefined>;
  /** Keeps the lists; `get` answers with them from the call on, even before the write is done. */
  set(meterKey: string, lists: readonly PushObjectList[]): Promise<void>;
}

export type PushListReadOutcome =
  | { readonly ok: true; readonly lists: readonly PushObjectList[] }
  | { readonly ok: false; readonly error: Error };

/** Why a push may not wait for its meter's lists. */
export type PushListWaitRefusal = 'full' | 'read-recently' | 'stopping';

export interface PushListLearnerOptions {
  readonly store: PushListStore;
  /** Reads every push setup's list of the meter at (terminal, address) through the terminal's lane. */
  readonly read: (terminalId: string, address: string) => Promise<readonly PushObjectList[]>;
  /** Pushes waiting for a read, in all (default 256). */
  readonly maxWaiting?: number;
  /** Pushes of one meter waiting for its read (default 16). */
  readonly maxWaitingPerMeter?: number;
  /** Least time between two reads of one meter (default 60,000 ms). */
  readonly readRetryMs?: number;
  readonly now?: () => number;
}

export interface PushListLearnerCounters {
  reads: number;
  readFailures: number;
  /** Pushes refused because the waiting bounds were reached. */
  refused: number;
}

/** Remembered read times: enough for every meter reading at once, bounded. */
const MAX_READ_TIMES = 100_000;

export class PushListLearner {
  readonly counters: PushListLearnerCounters = { reads: 0, readFailures: 0, refused: 0 };
  private readonly pending = new Map<string, ((outcome: PushListReadOutcome) => Promise<void>)[]>();
  private readonly readAt = new Map<string, number>();
  private readonly running = new Set<Promise<void>>();
  private waitingCount = 0;
  private stopping = false;
  private readonly now: () => number;

  constructor(private readonly o: PushListLearnerOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Pushes waiting for a read now. */
  get waiting(): number {
    return this.waitingCount;
  }

  /** The lists learnt for the meter at (terminal, address), none when never read. */
  async lists(terminalId: string, address: string): Promise<readonly PushObjectList[]> {
    return (await this.o.store.get(keyOf(terminalId, address))) ?? [];
  }

  /**
   * Holds one push until the meter's lists are read (starting the read unless one runs),
   * then runs `then` with the outcome. Undefined when the push waits; otherwise why it may not.
   */
  wait(terminalId: string, address: string, then: (outcome: PushListReadOutcome) => Promise<void>): PushListWaitRefusal | undefined {
    if (this.stopping) return 'stopping';
    const key = keyOf(terminalId, address);
    let waiters = this.pending.get(key);
    if (waiters === undefined) {
      const last = this.readAt.get(key);
      if (last !== undefined && this.now() - last < (this.o.readRetryMs ?? 60_000)) return 'read-recently';
    }
    if (this.waitingCount >= (this.o.maxWaiting ?? 256) || (waiters?.length ?? 0) >= (this.o.maxWaitingPerMeter ?? 16)) {
      this.counters.refused += 1;
      return 'full';
    }
    if (waiters === undefined) {
      waiters = [];
      this.pending.set(key, waiters);
      this.track(this.readFor(key, terminalId, address, waiters));
    }
    waiters.push(then);
    this.waitingCount += 1;
    return undefined;
  }

  /** Settles when every read started so far and the pushes that waited for it are done. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  /** Refuses new waits, then lets the reads in flight finish (their lane bounds them). */
  async close(): Promise<void> {
    this.stopping = true;
    await this.idle();
  }

  private async readFor(key: string, terminalId: string, address: string, waiters: ((outcome: PushListReadOutcome) => Promise<void>)[]): Promise<void> {
    // Deferred a turn: the caller registers its own push before the waiters are served.
    await Promise.resolve();
    this.counters.reads += 1;
    this.noteRead(key);
    let outcome: PushListReadOutcome;
    let stored: Promise<void> = Promise.resolve();
    try {
      const lists = await this.o.read(terminalId, address);
      outcome = { ok: true, lists };
      // The waiting pushes are served from the lists read, not from the store: they do not wait
      // for the write, and a store failure loses the memory of the lists, not these pushes (the
      // next push of this meter reads them again, after readRetryMs). Awaited below, so `idle`
      // and `close` cover the write too.
      stored = this.o.store.set(key, lists).catch(() => undefined);
    } catch (err) {
      this.counters.readFailures += 1;
      outcome = { ok: false, error: err instanceof Error ? err : new Error(String(err)) };
    }
    this.pending.delete(key);
    for (const then of waiters) {
      this.waitingCount -= 1;
      await then(outcome).catch(() => undefined);
    }
    await stored;
  }

  private noteRead(key: string): void {
    this.readAt.delete(key);
    this.readAt.set(key, this.now());
    if (this.readAt.size > MAX_READ_TIMES) {
      const oldest = this.readAt.keys().next();
      if (oldest.done !== true) this.readAt.delete(oldest.value);
    }
  }

  private track(p: Promise<void>): void {
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }
}

/** The meter's session cannot read push object lists (its adapter has no such capability). */
export class PushListUnreadableError extends ProtocolError {
  readonly code = 'DLMS_PUSH_LIST_UNREADABLE';
  constructor(terminalId: string) {
    super(`terminal ${JSON.stringify(terminalId)} cannot be asked for its push object lists`, terminalId);
  }
}

function keyOf(terminalId: string, address: string): string {
  return `${terminalId}/${address}`;
}
