import { describe, expect, it } from 'vitest';
import type { RawReading } from '../../../protocols/adapter.js';
import { meterId, terminalId, type Meter, type Reading } from '../../../src/domain/index.js';
import type { Rejection } from '../../../src/ingest/normalise.js';
import { IngestPipeline, PipelineClosedError, type Offer, type ReadingSink } from '../../../src/ingest/pipeline.js';
import { DEFAULT_PLAUSIBILITY } from '../../../src/ingest/plausibility.js';

const meters = new Map<string, Meter>([
  ['t1/1', { id: meterId('m1'), name: 'm1', terminalId: terminalId('t1'), address: '1', ctRatio: 40, ptRatio: 100, areaId: null, protected: false, customerRef: null, accountRef: null }],
  ['t1/2', { id: meterId('m2'), name: 'm2', terminalId: terminalId('t1'), address: '2', ctRatio: 1, ptRatio: 1, areaId: null, protected: false, customerRef: null, accountRef: null }],
]);
const meterAt = (t: string, a: string) => meters.get(`${t}/${a}`);
const raw = (n: number, address = '2', quantity = 'power.active'): RawReading[] =>
  Array.from({ length: n }, (_, i) => ({ terminalId: 't1', address, quantity, value: i, ts: 1_000 + i }));

class CollectingSink implements ReadingSink {
  readonly name = 'collect';
  readonly got: Reading[] = [];
  write(batch: readonly Reading[]): void {
    this.got.push(...batch);
  }
}

/** A sink that holds every write until released, to model a slow store. */
class GatedSink implements ReadingSink {
  readonly name = 'gated';
  readonly got: Reading[] = [];
  private release: (() => void) | undefined;
  writes = 0;
  write(batch: readonly Reading[]): Promise<void> {
    this.writes += 1;
    return new Promise((resolve) => {
      this.release = () => {
        this.got.push(...batch);
        resolve();
      };
    });
  }
  open(): void {
    const release = this.release;
    this.release = undefined;
    release?.();
  }
}

const tick = () => new Promise((r) => setTimeout(r, 10));

describe('ingest pipeline', () => {
  it('normalises: CT/PT ratios, unit conversion, device timestamp, quality', async () => {
    const sink = new CollectingSink();
    const p = new IngestPipeline({ capacity: 100, sinks: [sink], meterAt, now: () => 10_000 });
    await p.offer([
      { terminalId: 't1', address: '1', quantity: 'power.active', value: 1.5, ts: 9_000 },
      { terminalId: 't1', address: '1', quantity: 'current.l1', value: 2, ts: 9_000 },
      { terminalId: 't1', address: '1', quantity: 'voltage.l1', value: 100, ts: 9_000 },
      { terminalId: 't1', address: '2', quantity: 'energy.active.import', value: 2500, unit: 'Wh' },
      { terminalId: 't1', address: '2', quantity: 'power.active', value: 1, ts: 10_000 + 3_600_000, quality: 'good' },
    ], 'modbus', 'poll');
    await p.close();
    expect(sink.got.map((r) => [r.meterId, r.quantity, r.value, r.unit, r.ts, r.quality])).toEqual([
      ['m1', 'power.active', 1.5 * 40 * 100, 'kW', 9_000, 'good'],
      ['m1', 'current.l1', 80, 'A', 9_000, 'good'],
      ['m1', 'voltage.l1', 10_000, 'V', 9_000, 'good'],
      ['m2', 'energy.active.import', 2.5, 'kWh', 10_000, 'good'],
      ['m2', 'power.active', 1, 'kW', 10_000 + 3_600_000, 'suspect'],
    ]);
    expect(sink.got[0]?.source).toEqual({ protocol: 'modbus', terminalId: 't1', mode: 'poll' });
  });

  it('rejects unknown meters, quantities and units, counting each reason, and keeps the rest', async () => {
    const sink = new CollectingSink();
    const reasons: string[] = [];
    const p = new IngestPipeline({ capacity: 100, sinks: [sink], meterAt, onReject: (r) => reasons.push(r.reason) });
    const offer = await p.offer([
      { terminalId: 't1', address: '9', quantity: 'power.active', value: 1 },
      { terminalId: 't1', address: '2', quantity: 'power.apparent', value: 1 },
      { terminalId: 't1', address: '2', quantity: 'power.active', value: 1, unit: 'hp' },
      { terminalId: 't1', address: '2', quantity: 'power.active', value: Number.NaN },
      { terminalId: 't1', address: '2', quantity: 'power.active', value: 3 },
    ], 'mqtt', 'push');
    await p.close();
    expect(offer.accepted).toBe(1);
    expect(reasons).toEqual(['UNKNOWN_METER', 'UNKNOWN_QUANTITY', 'UNKNOWN_UNIT', 'NON_FINITE_VALUE']);
    // The producer learns what was refused, and why, not only the log.
    expect(offer.rejections.map((r) => [r.reason, r.detail])).toEqual([
      ['UNKNOWN_METER', 'no meter at address "9"'],
      ['UNKNOWN_QUANTITY', 'quantity "power.apparent" is not in the catalogue'],
      ['UNKNOWN_UNIT', 'unit "hp" cannot be converted to "kW" for power.active'],
      ['NON_FINITE_VALUE', 'power.active is not a finite number after unit conversion and CT/PT scaling (NaN)'],
    ]);
    expect(p.stats().rejected.mqtt).toEqual({ UNKNOWN_METER: 1, UNKNOWN_QUANTITY: 1, UNKNOWN_UNIT: 1, NON_FINITE_VALUE: 1, IMPLAUSIBLE_VALUE: 0 });
    expect(sink.got).toHaveLength(1);
  });

  it('refuses a value outside the meter\'s physical bounds, with its quantity, value and bound, and hands it to no sink', async () => {
    const sink = new CollectingSink();
    const rejections: Rejection[] = [];
    const p = new IngestPipeline({ capacity: 100, sinks: [sink], meterAt, onReject: (r) => rejections.push(r) });
    const { accepted: n } = await p.offer([
      { terminalId: 't1', address: '2', quantity: 'power.active', value: -1e300 },
      { terminalId: 't1', address: '2', quantity: 'voltage.l1', value: 600 },
      { terminalId: 't1', address: '2', quantity: 'power.factor', value: 1.5 },
      { terminalId: 't1', address: '2', quantity: 'frequency', value: 0 },
      { terminalId: 't1', address: '2', quantity: 'energy.active.import', value: -3 },
      { terminalId: 't1', address: '2', quantity: 'power.active', value: -12.5 },
    ], 'mqtt', 'push');
    await p.close();
    expect(n).toBe(1);
    expect(sink.got.map((r) => r.value)).toEqual([-12.5]);
    expect(rejections.map((r) => [r.reason, r.quantity])).toEqual([
      ['IMPLAUSIBLE_VALUE', 'power.active'], ['IMPLAUSIBLE_VALUE', 'voltage.l1'], ['IMPLAUSIBLE_VALUE', 'power.factor'],
      ['IMPLAUSIBLE_VALUE', 'frequency'], ['IMPLAUSIBLE_VALUE', 'energy.active.import'],
    ]);
    expect(rejections[0]).toMatchObject({ terminalId: 't1', address: '2', meterId: 'm2', value: -1e300, bound: { min: -276, max: 276 } });
    expect(rejections[0]?.detail).toMatch(/power\.active .*-1e\+300 kW.*outside.*m2/);
    expect(p.stats().rejected.mqtt.IMPLAUSIBLE_VALUE).toBe(5);
  });

  it('bounds the value after CT/PT scaling: what overflows is refused as non-finite, what the ratios allow is kept', async () => {
    // A ratio the API now refuses, as a meter stored before it did may still carry.
    const huge: Meter = { id: meterId('m3'), name: 'm3', terminalId: terminalId('t1'), address: '3', ctRatio: 1e308, ptRatio: 1, areaId: null, protected: false, customerRef: null, accountRef: null };
    const sink = new CollectingSink();
    const rejections: Rejection[] = [];
    const p = new IngestPipeline({
      capacity: 100, sinks: [sink], meterAt: (t, a) => (a === '3' ? huge : meterAt(t, a)), onReject: (r) => rejections.push(r),
      plausibility: { ...DEFAULT_PLAUSIBILITY, maxCurrent: 5 },
    });
    await p.offer([
      { terminalId: 't1', address: '3', quantity: 'power.active', value: 10 },
      // m1 has CT 40: 9 A at its terminals is 360 A on the primary side, inside 2 × 5 A × 40 = 400 A; 11 A is not.
      { terminalId: 't1', address: '1', quantity: 'current.l1', value: 9 },
      { terminalId: 't1', address: '1', quantity: 'current.l1', value: 11 },
    ], 'modbus', 'poll');
    await p.close();
    expect(sink.got.map((r) => [r.quantity, r.value])).toEqual([['current.l1', 360]]);
    expect(rejections.map((r) => r.reason)).toEqual(['NON_FINITE_VALUE', 'IMPLAUSIBLE_VALUE']);
    expect(rejections[1]).toMatchObject({ meterId: 'm1', value: 440, bound: { min: 0, max: 400 } });
    expect(p.stats().rejected.modbus).toMatchObject({ NON_FINITE_VALUE: 1, IMPLAUSIBLE_VALUE: 1 });
    expect(p.stats().rejected.mqtt).toMatchObject({ NON_FINITE_VALUE: 0, IMPLAUSIBLE_VALUE: 0 });
  });

  it('applies backpressure: offers wait while the queue is full, and nothing is lost', async () => {
    const sink = new GatedSink();
    const p = new IngestPipeline({ capacity: 10, drainBatch: 10, sinks: [sink], meterAt });
    await p.offer(raw(6), 'mqtt', 'push'); // taken by the drain loop and held in the sink: still counted
    await tick();
    await p.offer(raw(4), 'mqtt', 'push'); // 6 + 4 = capacity: accepted
    let thirdAccepted = false;
    const third = p.offer(raw(6), 'mqtt', 'push').then(() => (thirdAccepted = true));
    await tick();
    expect(thirdAccepted).toBe(false);
    expect(p.stats()).toMatchObject({ waitingProducers: 1, queued: 10 });
    sink.open(); // the first 6 reach the sink: room for the waiting 6
    await tick();
    expect(thirdAccepted).toBe(true);
    expect(p.stats().queued).toBe(10);
    for (let i = 0; i < 3; i++) {
      sink.open();
      await tick();
    }
    await third;
    await p.close();
    expect(sink.got).toHaveLength(16);
  });

  it('retries a failing sink with the same batch instead of dropping it', async () => {
    let failures = 2;
    const got: Reading[] = [];
    const errors: number[] = [];
    const p = new IngestPipeline({
      capacity: 100, meterAt, retryMinMs: 1, retryMaxMs: 2,
      onSinkError: (_s, _e, attempt) => errors.push(attempt),
      sinks: [{ name: 'flaky', write: (b) => { if (failures-- > 0) throw new Error('disk busy'); got.push(...b); } }],
    });
    await p.offer(raw(5), 'modbus', 'poll');
    await p.close();
    expect(errors).toEqual([1, 2]);
    expect(got.map((r) => r.value)).toEqual([0, 1, 2, 3, 4]);
  });

  it('reports a stall while a sink fails: which sink, since when, attempts, the error code without its message, readings held', async () => {
    const clock = { now: 50_000 };
    let failing = true;
    const errors: number[] = [];
    class StoreDown extends Error {
      readonly code = 'DB_UNREACHABLE';
    }
    const after = new CollectingSink();
    const p = new IngestPipeline({
      capacity: 10, meterAt, retryMinMs: 1, retryMaxMs: 2, now: () => clock.now,
      onSinkError: (_s, _e, attempt) => errors.push(attempt),
      sinks: [{ name: 'store', write: () => { if (failing) throw new StoreDown('postgres://gridhead:secret@db/gridhead refused'); } }, after],
    });
    expect(p.stall()).toBeUndefined();
    await p.offer(raw(8), 'modbus', 'poll');
    // Past the capacity: this offer waits for room, and its readings are held too.
    const waiting = p.offer(raw(5), 'modbus', 'poll');
    while (errors.length < 3) await tick();
    clock.now = 80_000;
    while (errors.length < 5) await tick();
    const stall = p.stall();
    expect(stall).toMatchObject({ sink: 'store', since: 50_000, errorCode: 'DB_UNREACHABLE', held: 13 });
    expect(stall?.attempts).toBeGreaterThanOrEqual(5);
    expect(JSON.stringify(stall)).not.toContain('secret');
    expect(after.got).toHaveLength(0);
    failing = false;
    await waiting;
    await p.close();
    expect(p.stall()).toBeUndefined();
    expect(after.got).toHaveLength(13);
  });

  it('delivers to every sink in order and refuses offers after close', async () => {
    const a = new CollectingSink();
    const b = new CollectingSink();
    const p = new IngestPipeline({ capacity: 1000, drainBatch: 7, sinks: [a, b], meterAt });
    for (let i = 0; i < 10; i++) await p.offer(raw(5), 'modbus', 'poll');
    await p.close();
    expect(a.got).toHaveLength(50);
    expect(b.got.map((r) => r.value)).toEqual(a.got.map((r) => r.value));
    await expect(p.offer(raw(1), 'modbus', 'poll')).rejects.toBeInstanceOf(PipelineClosedError);
  });

  it('resolves an offer\'s committed promise only once every sink wrote its readings', async () => {
    const first = new CollectingSink();
    const slow = new GatedSink();
    const p = new IngestPipeline({ capacity: 100, sinks: [first, slow], meterAt });
    const offer = await p.offer(raw(3), 'mqtt', 'push');
    let committed = false;
    void offer.committed.then(() => { committed = true; });
    await tick();
    expect(first.got).toHaveLength(3);
    expect(committed).toBe(false);
    slow.open();
    await offer.committed;
    expect(slow.got).toHaveLength(3);
    await p.close();
  });

  it('resolves committed at once for an offer whose readings were all refused', async () => {
    const p = new IngestPipeline({ capacity: 100, sinks: [new GatedSink()], meterAt });
    const offer = await p.offer(raw(2, '9'), 'mqtt', 'push');
    expect(offer.accepted).toBe(0);
    await offer.committed;
    await p.close();
  });

  it('writes the offers made in one event-loop turn in one batch (group commit)', async () => {
    const sink = new CollectingSink();
    let writes = 0;
    const p = new IngestPipeline({ capacity: 1000, sinks: [{ name: 'count', write: (b) => { writes += 1; sink.write(b); } }], meterAt });
    const committed: Promise<void>[] = [];
    // One after the other, as a push adapter hands over the messages of one socket read.
    for (let i = 0; i < 20; i++) committed.push((await p.offer(raw(3), 'mqtt', 'push')).committed);
    await Promise.all(committed);
    expect(writes).toBe(1);
    expect(sink.got).toHaveLength(60);
    await p.close();
  });

  it('waits one turn for company only when little is queued: a large batch goes to the sinks at once', async () => {
    const batches: number[] = [];
    const p = new IngestPipeline({ capacity: 10_000, sinks: [{ name: 'sizes', write: (b) => { batches.push(b.length); } }], meterAt, groupCommitMinReadings: 100 });
    // An offer made in the next turn joins a small batch that waited for it...
    const small = p.offer(raw(3), 'mqtt', 'push');
    const joining = new Promise<Offer>((resolve) => { setImmediate(() => { resolve(p.offer(raw(3, '2', 'voltage.l1'), 'mqtt', 'push')); }); });
    await Promise.all([(await small).committed, (await joining).committed]);
    expect(batches).toEqual([6]);
    // ...but not a batch large enough to go alone: the rules behind the store see it sooner.
    batches.length = 0;
    const large = p.offer(raw(150), 'mqtt', 'push');
    const later = new Promise<Offer>((resolve) => { setImmediate(() => { resolve(p.offer(raw(3, '2', 'voltage.l1'), 'mqtt', 'push')); }); });
    await Promise.all([(await large).committed, (await later).committed]);
    expect(batches).toEqual([150, 3]);
    await p.close();
  });

  it('queues offers in the order made: a small offer never overtakes a larger one waiting for room', async () => {
    const sink = new GatedSink();
    const p = new IngestPipeline({ capacity: 10, drainBatch: 10, sinks: [sink], meterAt });
    await p.offer(raw(8), 'mqtt', 'push');
    await tick(); // held in the sink
    const large = p.offer(raw(6, '2', 'voltage.l1'), 'mqtt', 'push');
    const small = p.offer(raw(1, '2', 'current.l1'), 'mqtt', 'push');
    for (let i = 0; i < 4; i++) {
      sink.open();
      await tick();
    }
    await Promise.all([large, small]);
    await p.close();
    expect(sink.got.map((r) => r.quantity)).toEqual([
      ...Array<string>(8).fill('power.active'), ...Array<string>(6).fill('voltage.l1'), 'current.l1',
    ]);
  });
});
