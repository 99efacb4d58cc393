/**
 * The recent alarm changes, numbered, in a bounded ring: what the SSE stream sends live and
 * replays after a reconnect (`Last-Event-ID`). Sequence numbers start at the station clock
 * in ms when the feed is created, so an id from a previous run is older than anything here
 * and is recognised as a gap rather than mistaken for a recent change.
 */
import type { AlarmChange } from './service.js';

export interface SequencedChange extends AlarmChange {
  readonly seq: number;
}

export type Replay =
  | { readonly ok: true; readonly changes: readonly SequencedChange[] }
  /** The client missed changes the ring no longer holds: it must re-read the list. */
  | { readonly ok: false };

export class AlarmFeed {
  private readonly ring: SequencedChange[] = [];
  private readonly subscribers = new Set<(c: SequencedChange) => void>();
  private nextSeq: number;
  /** The oldest sequence number ever issued by this feed. */
  private readonly firstSeq: number;

  constructor(private readonly capacity = 1000, now: () => number = Date.now) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('feed capacity must be a positive integer');
    this.nextSeq = Math.floor(now());
    this.firstSeq = this.nextSeq;
  }

  /** Numbers the change, keeps it in the ring and hands it to every subscriber. */
  publish(change: AlarmChange): SequencedChange {
    const c: SequencedChange = { ...change, seq: this.nextSeq++ };
    this.ring.push(c);
    if (this.ring.length > this.capacity) this.ring.shift();
    let failure: Error | undefined;
    for (const s of this.subscribers) {
      try {
        s(c);
      } catch (err) {
        failure ??= err instanceof Error ? err : new Error('feed subscriber failed', { cause: err });
      }
    }
    // Every subscriber got the change; the first failure is the caller's to count and report.
    if (failure !== undefined) throw failure;
    return c;
  }

  subscribe(subscriber: (c: SequencedChange) => void): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  /** Changes after `lastSeq`, or a gap when some of them are no longer held. */
  since(lastSeq: number): Replay {
    if (lastSeq >= this.nextSeq - 1) return { ok: true, changes: [] };
    const oldest = this.ring[0]?.seq ?? this.nextSeq;
    // Anything issued before this feed existed, or evicted from the ring, cannot be replayed.
    if (lastSeq < this.firstSeq - 1 || lastSeq + 1 < oldest) return { ok: false };
    return { ok: true, changes: this.ring.filter((c) => c.seq > lastSeq) };
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }
}
