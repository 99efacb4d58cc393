/**
 * The whole head-end with simulated DLMS meters that are never polled (no collection
 * profile): whatever their latest values show arrived by push, one meter over the TCP
 * wrapper listener, the other over MQTT. A push nobody can read is a dead letter the API
 * and the metrics show.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWrapper } from '../../protocols/dlms/wrapper/wrapper.js';
import { fetchApi } from '../helpers/api.js';
import { FAST_FLEET, eventually, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';
import { freePort } from '../helpers/victoriaMetrics.js';

let h: TestHeadEnd;
let pushPort: number;

beforeAll(async () => {
  pushPort = await freePort();
  h = await startTestHeadEnd({
    ...FAST_FLEET,
    dlms: { push: { listen: { enabled: true, port: pushPort }, mqtt: { enabled: true } } },
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

  it('keeps an unreadable push as a dead letter with its bytes, shown to admins and counted in the metrics', async () => {
    // general-glo-ciphering from a system title no key belongs to: 8 octets of title, then SC, IC, ciphertext and tag.
    const apdu = Buffer.from(`DB085354520000000001 1D 30 00000001 ${'A5'.repeat(24)}`.replace(/ /g, ''), 'hex');
    const s = connect({ host: '127.0.0.1', port: pushPort });
    s.on('error', () => undefined);
    await new Promise<void>((resolve) => s.once('connect', () => { resolve(); }));
    s.write(encodeWrapper({ source: 1, destination: 0x66, apdu }));
    interface Letters { items: { code: string; sender: string; apduHex: string }[] }
    const letters = await eventually(async () => {
      const r = await h.get('/api/v1/dlms/push/dead-letters');
      const items = r.status === 200 ? (r.body as Letters).items : [];
      return items.length > 0 ? items : undefined;
    }, 15_000, 'the dead letter');
    s.destroy();
    expect(letters[0]).toMatchObject({ code: 'unknown-sender', sender: '5354520000000001', apduHex: apdu.toString('hex') });
    const metrics = await (await fetchApi(h, '/metrics')).text();
    expect(metrics).toMatch(/gridhead_dlms_push_dead_letters_total\{store="database",outcome="stored"\} 1\b/);
    expect(metrics).toMatch(/gridhead_dlms_push_problems_total\{code="unknown-sender"\} 1\b/);
  }, 30_000);
});
