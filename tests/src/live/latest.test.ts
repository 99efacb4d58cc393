import { describe, expect, it } from 'vitest';
import { meterId, terminalId, type Quantity, type Reading } from '../../../src/domain/index.js';
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
});
