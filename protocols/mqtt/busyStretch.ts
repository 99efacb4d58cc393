/**
 * mqtt.js parses the packets of a socket read one after the other through process.nextTick,
 * which never lets timers or other sockets in: with messages going on at once to the sink,
 * a backlog would hold the event loop for as long as it lasts. After `maxBusyMs` of that,
 * the next message waits for one macrotask turn before mqtt.js reads on.
 */
export class BusyStretch {
  private since: number | undefined;

  /** `nextTurn` runs a callback at the next macrotask turn, in the order given (setImmediate). */
  constructor(
    private readonly maxBusyMs: number,
    private readonly now: () => number = () => performance.now(),
    private readonly nextTurn: (fn: () => void) => void = (fn) => { setImmediate(fn); },
  ) {}

  /** Calls `next` now, or at the next turn when this stretch has lasted longer than `maxBusyMs`. */
  readOn(next: () => void): void {
    const now = this.now();
    if (this.since === undefined) {
      // Marks the end of this stretch: runs at the next turn, before any deferred `next`.
      this.since = now;
      this.nextTurn(() => { this.since = undefined; });
    } else if (now - this.since > this.maxBusyMs) {
      this.nextTurn(next);
      return;
    }
    next();
  }
}
