/**
 * One request in flight per association (Green Book §9.4.6: a client may pipeline only if
 * the lower layers allow it; ours do not, and invoke-ids are only 4 bits). Calls made while
 * one is running wait in arrival order; the wait is bounded and overflow is refused with
 * ClientBusy instead of growing memory.
 */
import { ClientBusy } from './errors.js';

export class RequestQueue {
  private tail: Promise<unknown> = Promise.resolve();
  /** Running plus waiting tasks. */
  private pending = 0;

  constructor(
    /** Most tasks allowed to wait behind the running one. */
    private readonly maxWaiting: number,
    private readonly terminalId?: string,
  ) {}

  /** Tasks waiting behind the running one. */
  get waiting(): number {
    return Math.max(0, this.pending - 1);
  }

  /** Runs `task` after every task queued before it has settled. */
  run<T>(task: () => Promise<T>): Promise<T> {
    if (this.pending > this.maxWaiting) return Promise.reject(new ClientBusy(this.waiting, this.terminalId));
    this.pending++;
    const result = this.tail.then(task).finally(() => {
      this.pending--;
    });
    // The chain continues whatever this task's outcome; the caller sees the outcome itself.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
