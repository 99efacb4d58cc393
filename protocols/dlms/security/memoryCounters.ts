/**
 * SecurityCounters kept in memory: enough for a simulated meter, a test or a one-shot CLI run,
 * where nothing must survive the process. The head-end persists its counters instead
 * (an outgoing counter reused after a restart would repeat a GCM IV under the same key).
 */
import { acceptCounter, nextCounter } from './invocationCounter.js';
import type { SecurityCounters } from './settings.js';

export class MemorySecurityCounters implements SecurityCounters {
  private outgoing: number;
  private incoming: number | undefined;

  /**
   * `firstOutgoing` is the first counter `nextOutgoing` returns (default 1; Green Book §9.2.7.2.4.2
   * leaves the start to the implementation); `lastIncoming` seeds the replay guard.
   */
  constructor(firstOutgoing = 1, lastIncoming?: number) {
    // nextCounter refuses to pass 2^32 - 1, so the first value is stored as "one before".
    this.outgoing = firstOutgoing - 1;
    this.incoming = lastIncoming;
  }

  nextOutgoing(): number {
    this.outgoing = this.outgoing < 0 ? 0 : nextCounter(this.outgoing);
    return this.outgoing;
  }

  lastIncoming(): number | undefined {
    return this.incoming;
  }

  acceptIncoming(counter: number): void {
    const check = acceptCounter(this.incoming, counter);
    if (!check.ok) throw check.error;
    this.incoming = check.value;
  }
}
