/**
 * Which terminals keep their session open between requests. A kept session spares the next
 * request its connect and association, but holds a file descriptor and memory while idle, so
 * a station polling 100,000 terminals cannot keep them all. A lane going idle asks to keep its
 * session; it may while fewer than `max` are kept and its terminal is not due again later
 * than `idleMs` from now, and a kept session unused for `idleMs` is closed.
 *
 * Past the bound the new one is refused rather than the oldest evicted: with more terminals
 * than places, evicting would close every session just before its next use (each terminal's
 * place taken by the ones polled after it), whereas refusing lets `max` of them keep theirs.
 *
 * One timer for every kept session: they all wait the same `idleMs`, so the oldest is always
 * the next to expire, and the map's insertion order is their age.
 */
import type { Clock, Timer } from './clock.js';

export interface KeepSessionsPolicy {
  /** Sessions kept open at most between requests. */
  readonly max: number;
  /** A kept session unused this long is closed; one due again later than this is not kept. */
  readonly idleMs: number;
}

/** A holder of a session the keeper may close once it has idled too long (a terminal's lane). */
export interface IdleSessionHolder {
  readonly terminalId: string;
  /** Closes the session if it is still unused. */
  closeIdle(): void;
}

export interface SessionKeeperOptions {
  readonly policy: KeepSessionsPolicy;
  readonly clock: Clock;
  /** When the terminal's next scheduled request is due, epoch ms; undefined when none is. */
  readonly nextDue: (terminalId: string) => number | undefined;
}

export class SessionKeeper {
  readonly #o: SessionKeeperOptions;
  /** Kept sessions by when they went idle, oldest first. */
  readonly #kept = new Map<IdleSessionHolder, number>();
  #open = 0;
  #timer: Timer | undefined;

  constructor(options: SessionKeeperOptions) {
    this.#o = options;
  }

  /** Sessions the lanes hold open, kept or in use. */
  get open(): number {
    return this.#open;
  }

  /** Sessions kept open between requests. */
  get kept(): number {
    return this.#kept.size;
  }

  opened(): void {
    this.#open++;
  }

  /** The holder let its session go (closed, failed, or its terminal retired). */
  closed(holder: IdleSessionHolder): void {
    this.#open--;
    this.release(holder);
  }

  /** The holder went idle with its session open: true when it may keep it, false when it must close it. */
  keep(holder: IdleSessionHolder): boolean {
    const { max, idleMs } = this.#o.policy;
    if (this.#kept.size >= max) return false;
    const now = this.#o.clock.now();
    const due = this.#o.nextDue(holder.terminalId);
    // No cycle scheduled (a terminal only read on demand or commanded): kept, and closed by the idle timer if unused.
    if (due !== undefined && due - now > idleMs) return false;
    this.#kept.delete(holder);
    this.#kept.set(holder, now);
    this.#timer ??= this.#arm();
    return true;
  }

  /** The holder uses its session again: it no longer counts as kept. */
  release(holder: IdleSessionHolder): void {
    if (!this.#kept.delete(holder) || this.#kept.size > 0 || this.#timer === undefined) return;
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): Timer | undefined {
    const oldest = this.#kept.values().next();
    if (oldest.done === true) return undefined;
    const delay = Math.max(0, oldest.value + this.#o.policy.idleMs - this.#o.clock.now());
    return this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#expire();
    }, delay);
  }

  #expire(): void {
    const deadline = this.#o.clock.now() - this.#o.policy.idleMs;
    const expired: IdleSessionHolder[] = [];
    for (const [holder, since] of this.#kept) {
      if (since > deadline) break;
      expired.push(holder);
    }
    for (const holder of expired) {
      this.#kept.delete(holder);
      holder.closeIdle();
    }
    this.#timer ??= this.#arm();
  }
}
