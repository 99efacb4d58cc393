/**
 * The whole head-end with simulated DLMS meters that are never polled (no collection
 * profile): whatever their latest values show arrived by push, one meter over the TCP
 * wrapper listener, the other over MQTT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_FLEET, eventually, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';

let h: TestHeadEnd;

beforeAll(async () => {
  h = await startTestHeadEnd({
    ...FAST_FLEET,
    dlms: { push: { listen: { enabled: true, port: 0 }, mqtt: { enabled: true } } },
    simulators: {
      ...FAST_FLEET.simulators,
      modbus: { ...FAST_FLEET.simulators.modbus, count: 0 },
      mqtt: { ...FAST_FLEET.simulators.mqtt, count: 0 },
      dlms: { count: 2, framing: 'wrapper', profiles: [], pushIntervalMs: 300, pushTransport: 'both' },
    },
  });
}, 30_000);

afterAll(async () => {
  await h.stop();
});

const latest = async (id: string) => {
  const r = await h.get(`/api/v1/meters/${id}/latest`);
  const values = r.status === 200 ? (r.body as { values: { quantity: string; value: number; unit: string }[] }).values : [];
  return values.some((v) => v.quantity === 'voltage.l1') ? values : undefined;
};

describe('DLMS push through the head-end', () => {
  it('shows pushed values of never-polled DLMS meters at /latest, over TCP and over MQTT', async () => {
    for (const id of ['sim-dl-01-1', 'sim-dl-02-1']) {
      const values = await eventually(() => latest(id), 20_000, `pushed values of ${id}`);
      const byQuantity = new Map(values.map((v) => [v.quantity, v]));
      expect([...byQuantity.keys()].sort()).toEqual(['energy.active.import', 'power.active', 'voltage.l1']);
      expect(byQuantity.get('voltage.l1')?.unit).toBe('V');
      expect(byQuantity.get('energy.active.import')?.unit).toBe('kWh');
      expect(byQuantity.get('voltage.l1')?.value).toBeGreaterThan(200);
    }
  }, 40_000);
});
