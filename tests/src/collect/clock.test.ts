import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { linkSignals, systemClock } from '../../../src/collect/clock.js';

describe('linked signals', () => {
  it('hangs any number of requests on a shared parent by one abort listener, and aborts them all with its reason', () => {
    const run = new AbortController();
    const links = Array.from({ length: 1_000 }, () => linkSignals([run.signal]));

    expect(getEventListeners(run.signal, 'abort')).toHaveLength(1);
    const stopped = new Error('stopped');
    run.abort(stopped);
    expect(links.every((l) => l.signal.aborted && l.signal.reason === stopped)).toBe(true);
  });

  it('leaves a disposed link alone when the parent aborts later', () => {
    const run = new AbortController();
    const done = linkSignals([run.signal], { clock: systemClock, timeoutMs: 60_000, onTimeout: () => new Error('late') });
    const open = linkSignals([run.signal]);
    done.dispose();
    run.abort(new Error('stopped'));

    expect(done.signal.aborted).toBe(false);
    expect(open.signal.aborted).toBe(true);
  });

  it('is aborted at once when linked to a parent already aborted', () => {
    const run = new AbortController();
    run.abort(new Error('gone'));
    expect(linkSignals([run.signal]).signal.reason).toEqual(new Error('gone'));
  });
});
