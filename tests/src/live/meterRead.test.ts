/**
 * The on-demand read's reply holds the values as the pipeline takes them: what normalisation
 * refuses is a failure of the read, with its reason. The terminal's lane is a stand-in that
 * answers with fixed raw values (the lane itself is covered by the scheduler tests and
 * tests/integration/commands.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { RawReading } from '../../../protocols/adapter.js';
import { MeterReader } from '../../../src/live/meterRead.js';
import type { OnDemandResult } from '../../../src/collect/onDemand.js';
import { meterId, terminalId, type Meter, type Terminal } from '../../../src/domain/index.js';
import { DEFAULT_PLAUSIBILITY } from '../../../src/ingest/plausibility.js';

const meter: Meter = {
  id: meterId('m1'), name: 'm1', terminalId: terminalId('t1'), address: '1', ctRatio: 40, ptRatio: 1, maxCurrent: 6,
  areaId: null, protected: false, customerRef: null, accountRef: null,
};
const terminal: Terminal = {
  id: terminalId('t1'), name: 't1', protocol: 'modbus', enabled: true, profiles: [],
  modbus: { host: '127.0.0.1', port: 502, framing: 'tcp', registerMap: 'map' },
};

function readerAnswering(readings: readonly RawReading[]): MeterReader {
  const result: OnDemandResult = { terminalId: 't1', readings, failures: [] };
  return new MeterReader({
    meter: (id) => (id === 'm1' ? meter : undefined),
    terminal: (id) => (id === 't1' ? terminal : undefined),
    scheduler: {
      pollNow: () => Promise.resolve(result),
      profileNow: () => Promise.reject(new Error('no profile reads here')),
    },
    plausibility: DEFAULT_PLAUSIBILITY,
  });
}

describe('on-demand meter read', () => {
  it('reports a value outside the meter\'s bounds as a failure with its reason instead of answering it', async () => {
    const reader = readerAnswering([
      { terminalId: 't1', address: '1', quantity: 'current.l1', value: 5, ts: 1_000 },
      // 20 A at the terminals of a 6 A meter behind a 40:1 CT: 800 A, beyond 2 × 6 A × 40.
      { terminalId: 't1', address: '1', quantity: 'current.l2', value: 20, ts: 1_000 },
    ]);
    const result = await reader.read('m1', { kind: 'quantities', quantities: ['current.l1', 'current.l2'] });
    expect(result.values.map((v) => [v.quantity, v.value])).toEqual([['current.l1', 200]]);
    expect(result.failures).toEqual([{ quantity: 'current.l2', code: 'IMPLAUSIBLE_VALUE', message: expect.stringMatching(/current\.l2 = 800 A is outside the plausible range 0 … 480 A/) as unknown }]);
  });
});
