/**
 * The demo's DLMS fleet through the whole head-end: four simulated meters of one meter type
 * (sim-dl-01 residential, registers in Wh; sim-dl-02..04 industrial, in 10 Wh), two of them
 * HLS-ciphered, both framings, pushing over TCP and MQTT while being polled and having their
 * load profile read, with the default rule set. In the demo the industrial meters' pushed
 * energy came out 10× low and raised "energy.active.import went backwards"; here every
 * meter's stored series must rise, whichever path each point came by.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_FLEET, eventually, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';

const METERS = ['sim-dl-01-1', 'sim-dl-02-1', 'sim-dl-03-1', 'sim-dl-04-1'];
/**
 * A poll is stamped when its reply arrives, a push with the meter's clock, so a push sent
 * while a poll is in flight may be stamped before a poll value it exceeds by the energy of
 * the round trip (350 kW × 100 ms ≈ 0.01 kWh, one step of a 10 Wh register). Both checks allow
 * 0.5 kWh for that; a scaler off by ten moves an industrial meter's register by thousands.
 */
const TOLERANCE_KWH = 0.5;
const RULES = `rules:
  - id: register-backwards
    name: Import energy register going backwards
    severity: major
    subject: { all: true }
    detector: register-backwards
    params: { register: energy.active.import, toleranceKwh: ${TOLERANCE_KWH}, clearForMs: 3600000 }
`;
const rulesDir = mkdtempSync(join(tmpdir(), 'gridhead-scale-rules-'));
let h: TestHeadEnd;
let started: number;

beforeAll(async () => {
  started = Date.now();
  writeFileSync(join(rulesDir, 'rules.yaml'), RULES);
  h = await startTestHeadEnd({
    mqtt: { embeddedBroker: { enabled: true, port: 0 } },
    rules: { enabled: true, file: join(rulesDir, 'rules.yaml') },
    dlms: { push: { listen: { enabled: true, port: 0 }, mqtt: { enabled: true } } },
    collect: {
      concurrency: 8,
      profiles: {
        energy: { quantities: ['energy.active.import'], intervalSeconds: 1, align: false, jitterMs: 0, timeoutMs: 3000, retries: 1, retryBackoffMs: 50 },
        lp: { profile: 'load', intervalSeconds: 2, align: false, jitterMs: 0, timeoutMs: 5000, retries: 0, backfillHours: 3 },
      },
    },
    registry: FAST_FLEET.registry,
    simulators: {
      enabled: true, seed: 1, areaIds: ['tx1', 'tx2'],
      modbus: { count: 0 }, mqtt: { count: 0 },
      dlms: { count: 4, framing: 'both', hls: 2, profiles: ['energy', 'lp'], pushIntervalMs: 400, pushTransport: 'both' },
    },
  });
}, 60_000);

afterAll(async () => {
  await h.stop();
  rmSync(rulesDir, { recursive: true, force: true });
});

interface Series { readonly unit: string; readonly points: readonly { ts: string; value: number }[] }

async function series(meter: string): Promise<Series> {
  const from = new Date(started - 4 * 3_600_000).toISOString();
  const to = new Date(Date.now() + 60_000).toISOString();
  const r = await h.get(`/api/v1/meters/${meter}/readings?quantity=energy.active.import&from=${from}&to=${to}`);
  if (r.status !== 200) throw new Error(`readings of ${meter}: ${r.status}`);
  return r.body as Series;
}

describe('DLMS energy through the head-end: polls, load profile and pushes of meters with different scalers', () => {
  it('stores a rising energy.active.import series for every meter and raises no register-backwards alarm', async () => {
    for (const meter of METERS) {
      // Enough points that polls (every second) and pushes (every 400 ms) are both among them, after the profile backfill.
      const s = await eventually(async () => {
        const got = await series(meter);
        return got.points.filter((p) => Date.parse(p.ts) >= started).length >= 12 && got.points.some((p) => Date.parse(p.ts) < started - 15 * 60_000) ? got : undefined;
      }, 30_000, `energy of ${meter} by poll, push and load profile`);
      expect(s.unit).toBe('kWh');
      const values = s.points.map((p) => p.value);
      for (let i = 1; i < values.length; i++) {
        expect(values[i] ?? 0, `${meter} at ${s.points[i]?.ts}`).toBeGreaterThanOrEqual((values[i - 1] ?? 0) - TOLERANCE_KWH);
      }
      // Three hours of load profile and the live values: one consumption, not two magnitudes.
      expect(Math.max(...values) / Math.min(...values)).toBeLessThan(1.5);
    }
    const alarms = await h.get('/api/v1/alarms?rule=register-backwards');
    expect(alarms.status).toBe(200);
    expect((alarms.body as { items: unknown[] }).items).toEqual([]);
  }, 60_000);
});
