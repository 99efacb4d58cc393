import { describe, expect, it } from 'vitest';
import {
  detectAbnormalArea, detectAreaLineLoss, detectDeviceEvent, detectTransformerOverload, initialCondition, initialDeviceEventState,
  type AbnormalAreaParams, type AreaLineLossParams, type DeviceEventInput, type DeviceEventParams, type TransformerOverloadParams,
} from '../../../../src/rules/detectors/index.js';
import { MIN, T0, drive, series, timeline } from './drive.js';

describe('transformer overload', () => {
  const params: TransformerOverloadParams = { powerFactor: 0.9, maxLoadPct: 100, hysteresisPct: 10, freshMs: 900_000, minReportingPct: 80, forMs: 5 * MIN, clearForMs: 5 * MIN };
  const input = (loadKw: number, reporting = 10) => ({ areaName: 'TX1', limitKw: 360, limitBasis: '400 kVA × PF 0.90', loadKw, reporting, meters: 10 });
  const run = (loads: (number | [number, number])[]) => drive(
    (s, v: number | [number, number], now) => detectTransformerOverload(s, typeof v === 'number' ? input(v) : input(v[0], v[1]), params, now),
    initialCondition(), series(0, MIN, loads),
  );

  it('raises after the duration over the rating and explains load, limit and basis', () => {
    const r = run([370, 380, 375, 390, 400, 380]);
    expect(timeline(r.events)).toEqual(['raise@5']);
    expect(r.events[0]?.explanation).toBe('transformer overload in TX1: load 380.0 kW is 106% of 360.0 kW (400 kVA × PF 0.90; bound 100%; 10 of 10 meters reporting) for 5 min (since 02:00:00Z)');
  });

  it('holds in the hysteresis band and clears after the clear time', () => {
    const r = run([400, 400, 400, 400, 400, 400, 340, 330, 320, 320, 320, 320, 320, 320]);
    expect(timeline(r.events)).toEqual(['raise@5', 'clear@13']);
  });

  it('does not judge a sum with too few meters reporting', () => {
    const r = run([[500, 5], [500, 5], [500, 5], [500, 5], [500, 5], [500, 5], [500, 5]]);
    expect(r.events).toEqual([]);
  });
});

describe('area line loss', () => {
  const params: AreaLineLossParams = { supplyMeter: 'sup', register: 'energy.active.import', intervalMs: 3_600_000, maxReadingAgeMs: 900_000, minLossPct: -1, maxLossPct: 8, hysteresisPct: 1, forMs: 0, clearForMs: 0 };
  const input = (supplyDelta: number | undefined, customersDelta: number, missing: string[] = []) => ({ areaName: 'TX1', intervalMs: 3_600_000, supplyDelta, customersDelta, customers: 3, missing });
  type In = ReturnType<typeof input>;
  const run = (xs: In[]) => drive((s, v: In, now) => detectAreaLineLoss(s, v, params, now), initialCondition(), series(0, 60 * MIN, xs));

  it('raises on loss over the bound and on negative loss under it, clears inside', () => {
    const r = run([input(100, 95), input(100, 88), input(100, 92.5), input(100, 94), input(100, 102), input(100, 99.5)]);
    expect(timeline(r.events)).toEqual(['raise@60', 'clear@180', 'raise@240', 'clear@300']);
    expect(r.events[0]?.explanation).toBe('line loss in TX1 12% is over the bound 8% (supply 100.0 kWh, customers 88.0 kWh over 1 h (3 customer meters))');
    expect(r.events[2]?.explanation).toContain('line loss in TX1 -2% is under the bound -1%');
  });

  it('treats incomplete data as unknown, never as a loss', () => {
    const r = run([input(100, 95), input(100, 60, ['c2']), input(undefined, 60), input(0, 0), input(100, 50, ['c1'])]);
    expect(r.events).toEqual([]);
  });
});

describe('abnormal area', () => {
  const params: AbnormalAreaParams = { maxSharePct: 30, hysteresisPct: 5, detectors: [], minMeters: 5, forMs: 0, clearForMs: 2 * MIN };
  const share = (inAlarm: number, by: [string, number][], meters = 20) => ({ areaName: 'TX1', meters, inAlarm, byDetector: new Map(by) });
  type In = ReturnType<typeof share>;
  const run = (xs: In[]) => drive((s, v: In, now) => detectAbnormalArea(s, v, params, now), initialCondition(), series(0, MIN, xs));

  it('names the share, the detectors and the bound', () => {
    const r = run([share(6, [['voltage-out-of-limits', 6]]), share(7, [['power-over-limit', 2], ['voltage-out-of-limits', 5]])]);
    expect(timeline(r.events)).toEqual(['raise@1']);
    expect(r.events[0]?.explanation).toBe('abnormal area TX1: 7 of 20 meters (35%) in alarm: voltage-out-of-limits ×5, power-over-limit ×2, bound 30%');
  });

  it('clears only once the share stays under the band, and skips small areas', () => {
    const r = run([share(8, [['x', 8]]), share(6, [['x', 6]]), share(5, [['x', 5]]), share(5, [['x', 5]]), share(4, [['x', 4]])]);
    expect(timeline(r.events)).toEqual(['raise@0', 'clear@4']);
    expect(run([share(4, [['x', 4]], 4)]).events).toEqual([]);
  });
});

describe('device event', () => {
  const params: DeviceEventParams = { codes: ['cover-open'], clearOn: ['power-up'], clearAfterMs: 30 * MIN };
  const ev = (code: 'cover-open' | 'power-up' | 'power-down'): DeviceEventInput => ({ kind: 'event', code, ts: T0, detail: null });
  const tick: DeviceEventInput = { kind: 'tick' };
  const run = (xs: [number, DeviceEventInput][]) => drive((s, v: DeviceEventInput, now) => detectDeviceEvent(s, v, params, now), initialDeviceEventState(), xs);

  it('raises on the event, once, and clears after the quiet time counted from the last repeat', () => {
    const r = run([[0, ev('cover-open')], [10 * MIN, ev('cover-open')], [35 * MIN, tick], [40 * MIN, tick]]);
    expect(timeline(r.events)).toEqual(['raise@0', 'clear@40']);
    expect(r.events[0]?.explanation).toBe('device reported cover-open at 02:00:00Z (device time); clears on power-up or after 30 min without a repeat');
  });

  it('clears on the paired event and ignores unrelated codes', () => {
    const r = run([[0, ev('power-down')], [MIN, ev('cover-open')], [2 * MIN, ev('power-down')], [3 * MIN, ev('power-up')]]);
    expect(timeline(r.events)).toEqual(['raise@1', 'clear@3']);
  });
});
