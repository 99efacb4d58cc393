import { describe, expect, it } from 'vitest';
import { encodeReadings, escapeTag, fieldName } from '../../../../src/storage/influx/lineProtocol.js';
import { meterId, terminalId, type MeterId } from '../../../../src/domain/ids.js';
import type { Quantity } from '../../../../src/domain/quantity.js';
import type { Quality, Reading } from '../../../../src/domain/reading.js';

function reading(m: string, quantity: Quantity, ts: number, value: number, quality: Quality = 'good', terminal = 't-1'): Reading {
  return { meterId: meterId(m), quantity, value, unit: '', ts, quality, source: { protocol: 'modbus', terminalId: terminalId(terminal), mode: 'poll' } };
}

describe('line protocol', () => {
  it('escapes commas, equals signs, spaces and backslashes in tag keys and values', () => {
    expect(escapeTag('a,b=c d')).toBe('a\\,b\\=c\\ d');
    expect(escapeTag('ends\\')).toBe('ends\\\\');
    expect(escapeTag('line\nbreak\ttab')).toBe('line\\ break\\ tab');
    expect(escapeTag('plain-id_1.2')).toBe('plain-id_1.2');
  });

  it('names fields after the quantity with dots replaced by underscores', () => {
    expect(fieldName('energy.active.import')).toBe('energy_active_import');
    expect(fieldName('voltage.l1')).toBe('voltage_l1');
  });

  it('groups readings of one meter, timestamp and quality into one line with sorted tags', () => {
    const enc = encodeReadings(
      [
        reading('m 1', 'power.active', 1_000, 1.5),
        reading('m 1', 'voltage.l1', 1_000, 230),
        reading('m 1', 'power.active', 2_000, 2),
        reading('m 1', 'current.l1', 1_000, 4, 'suspect'),
        reading('m2', 'energy.active.import', 1_000, 12345.678),
      ],
      (id: MeterId) => (id === meterId('m 1') ? { area: 'North, Zone=1' } : undefined),
    );
    expect(enc.points).toBe(4);
    expect(enc.body.split('\n')).toEqual([
      'meter,area=North\\,\\ Zone\\=1,meter=m\\ 1,protocol=modbus,quality=good,terminal=t-1 power_active=1.5,voltage_l1=230 1000',
      'meter,area=North\\,\\ Zone\\=1,meter=m\\ 1,protocol=modbus,quality=good,terminal=t-1 power_active=2 2000',
      'meter,area=North\\,\\ Zone\\=1,meter=m\\ 1,protocol=modbus,quality=suspect,terminal=t-1 current_l1=4 1000',
      'meter,meter=m2,protocol=modbus,quality=good,terminal=t-1 energy_active_import=12345.678 1000',
      '',
    ]);
  });

  it('drops non-finite values, omits empty extra tags and never lets them override core tags', () => {
    const enc = encodeReadings(
      [reading('m1', 'power.active', 1_000, Number.NaN), reading('m1', 'frequency', 1_000.4, 50), reading('m1', 'power.factor', 1_000, Number.NEGATIVE_INFINITY)],
      () => ({ area: '', meter: 'spoofed', feeder: 'F1' }),
    );
    expect(enc).toEqual({ body: 'meter,feeder=F1,meter=m1,protocol=modbus,quality=good,terminal=t-1 frequency=50 1000\n', points: 1, invalid: 2 });
  });

  it('writes large and tiny values in a float syntax', () => {
    const enc = encodeReadings([reading('m1', 'energy.active.import', 5, 1e21), reading('m1', 'power.active', 5, 1e-7)]);
    expect(enc.body).toBe('meter,meter=m1,protocol=modbus,quality=good,terminal=t-1 energy_active_import=1e+21,power_active=1e-7 5\n');
  });
});
