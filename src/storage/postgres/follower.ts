/**
 * Following what other nodes commit to a shared table that this node keeps a copy of in
 * memory (rule definitions, open alarms): the writer notifies the ids it touched in its own
 * transaction (notifications.ts), and this node gathers them and runs one catch-up at a time,
 * which reads those rows back and applies what differs.
 *
 * A burst is coalesced: ids that arrive while a catch-up runs, or within FOLLOW_COALESCE_MS of
 * the first, wait and go together into the next one. Bounded: past FOLLOW_PENDING_MAX_IDS ids
 * waiting, they are dropped for one read of everything, as after a lost listener. A catch-up
 * that fails (the database unreachable) keeps its work and is tried again after a backoff
 * doubling from FOLLOW_RETRY_MIN_MS to FOLLOW_RETRY_MAX_MS, however many failures: the copy
 * must catch up once the database is back, and nothing else would bring it.
 *
 * Each id carries a note of what was heard about it (a bit set, say), merged when the id is
 * heard again before its catch-up; a reader that needs none passes `true`.
 */
import { randomBytes } from 'node:crypto';
import { reconnectDelayMs, type PostgresDatabase, type TransactionSql } from './connection.js';
import { listenTo, notifyInTransaction, type Listening } from './notifications.js';

/** How long the first id of a burst waits for the others. */
export const FOLLOW_COALESCE_MS = 20;
/** Ids waiting for a catch-up, beyond which one read of everything is cheaper and bounded. */
export const FOLLOW_PENDING_MAX_IDS = 10_000;
export const FOLLOW_RETRY_MIN_MS = 100;
export const FOLLOW_RETRY_MAX_MS = 10_000;

/** What a catch-up reads back: the rows named (with what was heard of each), or everything. */
export type FollowCatchUp<N> = { readonly all: true } | { readonly all: false; readonly ids: ReadonlyMap<string, N> };

export interface ChangeFollowerOptions<N> {
  /** Reads and applies a catch-up; called one at a time. */
  readonly apply: (work: FollowCatchUp<N>) => Promise<void>;
  /** Two notes of one id, heard before its catch-up, as one. */
  readonly merge: (a: N, b: N) => N;
  /** A catch-up failed; it is tried again after a backoff. */
  readonly onError: (err: unknown) => void;
}

/** Gathers the ids heard and runs the catch-ups; `stop()` ends them. */
export class ChangeFollower<N> {
  private readonly ids = new Map<string, N>();
  private all = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private failures = 0;
  private stopped = false;

  constructor(private readonly options: ChangeFollowerOptions<N>) {}

  /** Another node changed the row `id`. */
  changed(id: string, note: N): void {
    if (!this.all) {
      const before = this.ids.get(id);
      this.ids.set(id, before === undefined ? note : this.options.merge(before, note));
      if (this.ids.size > FOLLOW_PENDING_MAX_IDS) this.changedAll();
    }
    this.schedule(FOLLOW_COALESCE_MS);
  }

  /** Anything may have changed (the listener was lost, or too much is waiting): read everything once. */
  changedAll(): void {
    this.all = true;
    this.ids.clear();
    this.schedule(FOLLOW_COALESCE_MS);
  }

  /** Ends the catch-ups, waiting for one in progress; what is still pending is left. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** At most one timer and one catch-up at a time; a catch-up that ends looks for more work itself. */
  private schedule(delayMs: number): void {
    if (this.stopped || this.timer !== undefined || this.running !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.catchUp().finally(() => {
        this.running = undefined;
        if (this.all || this.ids.size > 0) this.schedule(this.failures === 0 ? 0 : reconnectDelayMs(this.failures, FOLLOW_RETRY_MIN_MS, FOLLOW_RETRY_MAX_MS));
      });
    }, delayMs);
    this.timer.unref();
  }

  private async catchUp(): Promise<void> {
    const work: FollowCatchUp<N> = this.all ? { all: true } : { all: false, ids: new Map(this.ids) };
    this.all = false;
    this.ids.clear();
    try {
      await this.options.apply(work);
      this.failures = 0;
    } catch (err) {
      this.failures += 1;
      // Put back, so the retry covers it as well as whatever arrived meanwhile.
      if (work.all) this.changedAll();
      else for (const [id, note] of work.ids) this.changed(id, note);
      this.options.onError(err);
    }
  }
}

/** What a store that notifies ids tells the node following it. */
export interface NoticeSink {
  /** Another node changed row `id`; `note` is what its writer said of the change. */
  changed(id: string, note: number): void;
  /** Notifications were lost (the listener was re-established): anything may have changed. */
  changedAll(): void;
  /** Something on the channel that is not a notice of this family; it is ignored. */
  broken(payload: string): void;
}

/** A name for one store instance in its notices, so the node that wrote is told from the others. */
export function noticeOrigin(): string {
  return randomBytes(8).toString('hex');
}

/** Listens on `channel` for the notices of other stores than `origin`. */
export function listenForNotices(db: PostgresDatabase, channel: string, origin: string, sink: NoticeSink): Promise<Listening> {
  return listenTo(db, channel, {
    heard: (payload) => {
      const notice = parseNotice(payload);
      if (notice === undefined) sink.broken(payload);
      else if (notice.origin !== origin) sink.changed(notice.id, notice.note);
    },
    missed: () => { sink.changedAll(); },
  });
}

/**
 * A notification of this family: `{"o": origin, "id": id, "n": note}`. `o` names the store that
 * wrote, so a node skips its own (it applied the change when the write returned). Undefined for
 * anything else sent on the channel.
 */
function parseNotice(payload: string): { readonly origin: string; readonly id: string; readonly note: number } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || !('o' in v) || !('id' in v)) return undefined;
  const note = 'n' in v ? v.n : 0;
  if (typeof v.o !== 'string' || typeof v.id !== 'string' || v.id.length === 0 || typeof note !== 'number' || !Number.isInteger(note)) return undefined;
  return { origin: v.o, id: v.id, note };
}

/** `work` and, when it changed a row, the notice of `id` on `channel`, in one transaction; says whether it changed one. */
export function writeNotifying(
  db: PostgresDatabase, channel: string, origin: string, id: string, work: (tx: TransactionSql) => Promise<boolean>, note = 0,
): Promise<boolean> {
  return db.run((sql) => sql.begin(async (tx) => {
    const changed = await work(tx);
    if (changed) await notifyInTransaction(tx, channel, noticePayload(origin, id, note));
    return changed;
  }));
}

/** The payload `parseNotice` reads; an id is at most a few hundred bytes, far inside MAX_NOTIFY_PAYLOAD_BYTES. */
export function noticePayload(origin: string, id: string, note = 0): string {
  return JSON.stringify({ o: origin, id, n: note });
}
