/**
 * After a restart the meter page's latest values include what only the store knows yet: the
 * energy registers read before the restart, while the live table holds only the power read
 * since. Two head-end runs on one data directory with simulated Modbus meters.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, FAST_FLEET, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';

const METER = 'sim-mb-01-1';
/** Only Modbus meters, polled with the given profile. */
const fleet = (profile: 'fast' | 'power') => ({
  ...FAST_FLEET,
  collect: {
    ...FAST_FLEET.collect,
    profiles: {
      ...FAST_FLEET.collect.profiles,
      // Power only, as between two register reads of the real schedule (registers every 5 min).
      power: { quantities: ['power.active'], intervalSeconds: 1, align: false, jitterMs: 0, timeoutMs: 1000, retries: 1, retryBackoffMs: 50 },
    },
  },
  simulators: { ...FAST_FLEET.simulators, modbus: { ...FAST_FLEET.simulators.modbus, profiles: [profile] }, mqtt: { count: 0 }, dlms: { count: 0 } },
});

interface Latest { values: { quantity: string; value: number; ts: string }[] }

let dataDir = '';
let second: TestHeadEnd | undefined;

afterAll(async () => {
  await second?.close();
  if (dataDir !== '') rmSync(dataDir, { recursive: true, force: true });
});

describe('latest values after a restart', () => {
  it('shows the stored energy registers next to the live power read since the restart', async () => {
    const first = await startTestHeadEnd(fleet('fast'));
    dataDir = first.dataDir;
    const before = await eventually(async () => {
      const v = (await first.get(`/api/v1/meters/${METER}/latest`)).body as Latest;
      return v.values.find((x) => x.quantity === 'energy.active.import');
    }, 20_000, 'an energy register read');
    await first.close();

    second = await startTestHeadEnd(fleet('power'), { dataDir });
    const started = Date.now();
    const after = await eventually(async () => {
      const v = (await second?.get(`/api/v1/meters/${METER}/latest`))?.body as Latest;
      // Wait for power read by this run: the live table is no longer empty.
      return v.values.some((x) => x.quantity === 'power.active' && Date.parse(x.ts) >= started) ? v : undefined;
    }, 20_000, 'power read after the restart');
    const energy = after.values.find((x) => x.quantity === 'energy.active.import');
    expect(energy?.ts).toBeDefined();
    expect(Date.parse(energy?.ts ?? '')).toBeGreaterThanOrEqual(Date.parse(before.ts));
    expect(Date.parse(energy?.ts ?? '')).toBeLessThan(started);
  }, 60_000);
});
