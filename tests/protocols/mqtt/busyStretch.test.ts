import { describe, expect, it } from 'vitest';
import { BusyStretch } from '../../../protocols/mqtt/busyStretch.js';

/** A clock and a next-turn queue the test moves by hand. */
function harness(maxBusyMs: number) {
  let now = 0;
  const turn: (() => void)[] = [];
  const busy = new BusyStretch(maxBusyMs, () => now, (fn) => { turn.push(fn); });
  return {
    busy,
    work: (ms: number) => { now += ms; },
    /** The event loop turns: what was deferred runs, in order. */
    turn: () => { for (const fn of turn.splice(0)) fn(); },
  };
}

describe('busy stretch of back-to-back MQTT messages', () => {
  it('reads on at once while a stretch is short, and waits one event-loop turn once it is longer than maxBusyMs', () => {
    const h = harness(20);
    const read: number[] = [];
    h.busy.readOn(() => read.push(1));
    h.work(15);
    h.busy.readOn(() => read.push(2));
    expect(read).toEqual([1, 2]);
    h.work(10); // 25 ms without a turn
    h.busy.readOn(() => read.push(3));
    expect(read).toEqual([1, 2]);
    h.turn();
    expect(read).toEqual([1, 2, 3]);
  });

  it('starts a new stretch after every turn, so an idle station never defers a message', () => {
    const h = harness(20);
    const read: number[] = [];
    for (let i = 1; i <= 5; i++) {
      h.busy.readOn(() => read.push(i));
      h.work(100);
      h.turn();
    }
    expect(read).toEqual([1, 2, 3, 4, 5]);
  });
});
