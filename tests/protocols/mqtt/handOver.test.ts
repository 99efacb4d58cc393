import { describe, expect, it } from 'vitest';
import { SinkHandOver, type HandOverResult } from '../../../protocols/mqtt/handOver.js';

describe('sink hand-over', () => {
  it('answers every pending hand-over with aborted when shutdown aborts, however many are in flight', async () => {
    const handOver = new SinkHandOver({ sinkTimeoutMs: 60_000, sinkMaxAttempts: 1, sinkRetryDelayMs: 1 });
    const stopping = new AbortController();
    const neverSettles = () => new Promise<void>(() => undefined);
    const outcomes: (HandOverResult<void> | 'pending')[] = ['pending', 'pending', 'pending', 'pending'];
    const runs = outcomes.map((_, i) => handOver.run(neverSettles, stopping.signal, () => undefined).then((r) => { outcomes[i] = r; }));
    stopping.abort();
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(outcomes).toEqual(['aborted', 'aborted', 'aborted', 'aborted']);
    await Promise.all(runs);
  });
});
