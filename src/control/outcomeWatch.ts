/**
 * Who waits for which command target's outcome, and the wake-ups that tell them to look at the
 * store again. A wake carries no outcome: the store is the truth, and the waiter re-reads the
 * target (commands.ts `execute`). Wakes come from this node's own dispatcher (a send or a
 * re-verification finished, a target left for another node, a cancel) and, on a shared store,
 * from the `finished` news other nodes send when they settle a target.
 */
import { targetKey } from './commandModel.js';

/** One waiter's next wake-up: `woken` resolves at the first wake of its target after `next()`. */
export interface Wake {
  readonly woken: Promise<void>;
  dispose(): void;
}

export class OutcomeWatch {
  readonly #waiting = new Map<string, Set<() => void>>();

  /**
   * Registers for the next wake of the target. Taken before the store is read, so a wake that
   * comes between the read and the wait is not lost.
   */
  next(commandId: string, meterId: string): Wake {
    const key = targetKey(commandId, meterId);
    let set = this.#waiting.get(key);
    if (set === undefined) this.#waiting.set(key, (set = new Set()));
    const waiting = set;
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => { wake = resolve; });
    waiting.add(wake);
    return {
      woken,
      dispose: () => {
        waiting.delete(wake);
        if (waiting.size === 0 && this.#waiting.get(key) === waiting) this.#waiting.delete(key);
      },
    };
  }

  /** The target moved (or may have): its waiters look at the store again. */
  wake(commandId: string, meterId: string): void {
    const set = this.#waiting.get(targetKey(commandId, meterId));
    if (set === undefined) return;
    for (const wake of [...set]) wake();
  }

  /** News may have been lost (a listening connection dropped): every waiter looks again. */
  wakeAll(): void {
    for (const set of [...this.#waiting.values()]) for (const wake of [...set]) wake();
  }

  /** Targets someone waits for (tests, health). */
  get size(): number {
    return this.#waiting.size;
  }
}
