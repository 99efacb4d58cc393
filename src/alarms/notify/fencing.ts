/**
 * Alarm notifications from the leader only. Before a change reaches the notifiers (MQTT,
 * webhooks), its mark is written in the shared store under the leader's fencing token
 * (table `alarm_notifications`, src/cluster/fencing.ts): a paused or cut-off old leader that
 * wakes up finds a newer token, the write is refused and nothing is sent. A node that knows it
 * does not lead sends nothing and writes nothing.
 *
 * Changes pass one at a time, in order, so the receivers still see them as they happened.
 * Bounded: at most `capacity` changes wait for their mark; beyond, the newest is dropped,
 * counted and reported. A mark that cannot be written (the database unreachable) is not sent
 * either: without it, nothing proves this node still leads; counted and reported.
 */
import { StaleFencingToken, fenced, type FencingToken, type Leadership } from '../../cluster/fencing.js';
import type { PostgresDatabase } from '../../storage/postgres/connection.js';
import type { AlarmChange, AlarmChangeKind } from '../service.js';

/** Where the leader marks the changes it notifies. */
export interface AlarmNotificationLog {
  /** Writes the mark under `fence`; rejects with `StaleFencingToken` when that token is no longer current. */
  record(alarmId: string, change: AlarmChangeKind, at: number, fence: FencingToken): Promise<void>;
}

export class PostgresAlarmNotificationLog implements AlarmNotificationLog {
  constructor(private readonly db: PostgresDatabase) {}

  async record(alarmId: string, change: AlarmChangeKind, at: number, fence: FencingToken): Promise<void> {
    await fenced(this.db, fence, (tx) => tx`
      INSERT INTO alarm_notifications (alarm_id, change, lease, token, at) VALUES (${Number(alarmId)}, ${change}, ${fence.lease}, ${fence.token}, ${at})
      ON CONFLICT (alarm_id, change) DO UPDATE SET lease = excluded.lease, token = excluded.token, at = excluded.at`);
  }
}

export interface FencedNoticeStats {
  /** Marked under a current token and handed to the notifiers. */
  readonly sent: number;
  /** Not sent: this node did not lead. */
  readonly notLeading: number;
  /** Not sent: the store found the token stale, a newer leader acts. */
  readonly stale: number;
  /** Not sent: the mark could not be written. */
  readonly unrecorded: number;
  /** Not sent: `capacity` changes were already waiting. */
  readonly dropped: number;
}

export interface FencedNoticeOptions {
  readonly leadership: Leadership;
  readonly log: AlarmNotificationLog;
  /** Changes waiting for their mark, at most (`alarms.storeQueueMax`). */
  readonly capacity: number;
  /** Hands a marked change to the notifiers. */
  readonly send: (change: AlarmChange) => void;
  readonly onProblem: (problem: { readonly code: 'STALE_FENCING_TOKEN' | 'UNRECORDED' | 'QUEUE_FULL' | 'SEND_FAILED'; readonly message: string; readonly err?: unknown }) => void;
  readonly now?: () => number;
}

export class FencedNotices {
  #chain: Promise<void> = Promise.resolve();
  #waiting = 0;
  readonly #counts = { sent: 0, notLeading: 0, stale: 0, unrecorded: 0, dropped: 0 };

  constructor(private readonly o: FencedNoticeOptions) {}

  offer(change: AlarmChange): void {
    if (this.#waiting >= this.o.capacity) {
      this.#counts.dropped += 1;
      this.o.onProblem({ code: 'QUEUE_FULL', message: `${this.o.capacity} alarm changes waiting for their notification mark; dropped the newest` });
      return;
    }
    this.#waiting += 1;
    this.#chain = this.#chain.then(() => this.#pass(change)).finally(() => { this.#waiting -= 1; });
  }

  stats(): FencedNoticeStats {
    return { ...this.#counts };
  }

  /** Resolves when every change offered so far was sent or refused. */
  idle(): Promise<void> {
    return this.#chain;
  }

  async #pass(change: AlarmChange): Promise<void> {
    // Taken when its turn comes, not when offered: a change waits behind others meanwhile.
    const fence = this.o.leadership.fence();
    if (fence === undefined) {
      this.#counts.notLeading += 1;
      return;
    }
    try {
      await this.o.log.record(change.alarm.id, change.kind, (this.o.now ?? Date.now)(), fence);
    } catch (err) {
      if (err instanceof StaleFencingToken) {
        this.#counts.stale += 1;
        this.o.onProblem({ code: 'STALE_FENCING_TOKEN', message: `not sent: ${err.message}` });
      } else {
        this.#counts.unrecorded += 1;
        this.o.onProblem({ code: 'UNRECORDED', message: 'not sent: the notification mark could not be written, so this node cannot show it still leads', err });
      }
      return;
    }
    this.#counts.sent += 1;
    try {
      this.o.send(change);
    } catch (err) {
      // The notifiers only enqueue; a throw is a bug, reported, and the next change still passes.
      this.o.onProblem({ code: 'SEND_FAILED', message: 'a notifier threw while taking the change', err });
    }
  }
}
