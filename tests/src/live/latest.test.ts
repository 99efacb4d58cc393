import { describe, expect, it } from 'vitest';
import { areaId, meterId, terminalId, type Quantity, type Reading } from '../../../src/domain/index.js';
import { LatestValues } from '../../../src/live/latest.js';

const reading = (meter: string, quantity: Quantity, value: number, ts: number, quality: Reading['quality'] = 'good'): Reading => ({
  meterId: meterId(meter), quantity, value, unit: 'kW', ts, quality, source: { protocol: 'modbus', terminalId: terminalId('t'), mode: 'poll' },
});

describe('latest values', () => {
  it('keeps the newest device timestamp even when an older reading arrives later', () => {
    const live = new LatestValues();
    live.write([reading('m1', 'power.active', 5, 2_000)]);
    live.write([reading('m1', 'power.active', 3, 1_000)]);
    expect(live.value(meterId('m1'), 'power.active')).toMatchObject({ value: 5, ts: 2_000 });
  });

  it('sums the fresh, usable power of an area and counts who reported', () => {
    const live = new LatestValues();
    live.write([
      reading('m1', 'power.active', 10, 9_000),
      reading('m2', 'power.active', 20, 1_000), // stale
      reading('m3', 'power.active', 40, 9_500, 'bad'),
      reading('m4', 'power.active', 1.5, 9_900),
    ]);
    const meters = ['m1', 'm2', 'm3', 'm4', 'm5'].map((id) => ({ id: meterId(id), areaId: areaId('tx') }));
    expect(live.areaLoad(meters, 10_000, 5_000)).toEqual({ powerActiveKw: 11.5, meters: 5, reporting: 2 });
  });
});
