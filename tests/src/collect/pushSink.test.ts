/**
 * The one push sink every push adapter gets: a batch's receipt comes back only once its
 * readings are committed, listing what normalisation refused; each pushing terminal is
 * heard (online) from the batch; the collector lends terminals' lanes for reads.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PushReceipt } from '../../../protocols/adapter.js';
import { collectPushSink } from '../../../src/collect/pushSink.js';
import { meterId, terminalId, type Meter } from '../../../src/domain/index.js';
import { IngestPipeline } from '../../../src/ingest/pipeline.js';
import { closeAll, harness, mqttTerminal } from './harness.js';

afterEach(closeAll);

function meterOf(tid: string): Meter {
  return {
    id: meterId(`${tid}-m1`), name: tid, terminalId: terminalId(tid), address: '1',
    ctRatio: 1, ptRatio: 1, areaId: null, protected: false, customerRef: null, accountRef: null,
  };
}

describe('collect push sink', () => {
  it('settles a batch with its refusals only after the store committed it, and hears every terminal in it', async () => {
    const h = harness();
    h.topology.put(mqttTerminal('P1'));
    h.topology.put(mqttTerminal('P2'));
    h.scheduler.start();
    let commit: () => void = () => undefined;
    const stored: number[] = [];
    const pipeline = new IngestPipeline({
      capacity: 100,
      meterAt: (t, a) => (a === '1' ? meterOf(t) : undefined),
      sinks: [{ name: 'store', write: (b) => new Promise<void>((resolve) => { commit = () => { stored.push(b.length); resolve(); }; }) }],
    });
    const sink = collectPushSink('mqtt', 'mqtt', { offer: (b, p, m) => pipeline.offer(b, p, m), collector: h.scheduler, events: () => undefined });
    let receipt: PushReceipt | undefined;
    const settled = Promise.resolve(sink.readings([
      { terminalId: 'P1', address: '1', quantity: 'power.active', value: 1 },
      { terminalId: 'P1', address: '1', quantity: 'voltage.l1', value: 230 },
      { terminalId: 'P2', address: '1', quantity: 'power.active', value: 2 },
      { terminalId: 'P2', address: '9', quantity: 'power.active', value: 3 },
    ])).then((r) => { receipt = r ?? undefined; });
    await vi.advanceTimersByTimeAsync(50);
    expect(receipt).toBeUndefined();
    expect(h.scheduler.terminalState('P1')?.online).toBe(true);
    expect(h.scheduler.terminalState('P2')?.online).toBe(true);
    commit();
    await vi.advanceTimersByTimeAsync(50);
    await settled;
    expect(stored).toEqual([3]);
    expect(receipt?.refused.map((r) => r.code)).toEqual(['UNKNOWN_METER']);
    await pipeline.close();
  });

  it('stores events under its source, passes status on and lends the terminal lanes', async () => {
    const h = harness();
    h.topology.put(mqttTerminal('P1'));
    h.scheduler.start();
    const events: string[] = [];
    const sink = collectPushSink('dlms', 'dlms-push', {
      offer: () => Promise.reject(new Error('no readings in this test')),
      collector: h.scheduler,
      events: (b, source) => { for (const e of b) events.push(`${source}:${e.terminalId}:${e.code}`); },
    });
    await sink.events?.([{ terminalId: 'P1', address: '1', code: 'power-down' }]);
    expect(events).toEqual(['dlms-push:P1:power-down']);
    sink.status?.('P1', false, Date.now());
    expect(h.scheduler.terminalState('P1')?.online).toBe(false);
    await expect(sink.session?.('ghost', 'a read', () => Promise.resolve(1), { timeoutMs: 1_000 })).rejects.toThrow();
  });
});
