/**
 * The whole head-end over real sockets: the composition root with its embedded broker,
 * the simulated Modbus and MQTT terminals, the embedded store and the HTTP API.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModbusTerminalSimulator } from '../../simulators/modbus/terminal.js';
import { mosquittoPath, startMosquitto } from '../helpers/mosquitto.js';
import { exportWhenVisible, startVictoriaMetrics, victoriaMetricsPath } from '../helpers/victoriaMetrics.js';
import { fetchApi } from '../helpers/api.js';
import { FAST_FLEET, eventually, startTestHeadEnd, stationMqttLogin, type TestHeadEnd } from '../helpers/headend.js';

interface Latest { meterId: string; values: { quantity: string; value: number; unit: string; ts: string; quality: string }[] }
interface Problem { status: number; code: string; detail: string; errors?: { path: string; message: string }[] }

const latestOf = async (h: TestHeadEnd, id: string, quantity = 'power.active') => {
  const r = await h.get(`/api/v1/meters/${id}/latest`);
  const body = r.body as Latest;
  return r.status === 200 && body.values.some((v) => v.quantity === quantity) ? body : undefined;
};

describe('head-end with the embedded broker and the simulated fleet', () => {
  let h: TestHeadEnd;
  beforeAll(async () => {
    h = await startTestHeadEnd(FAST_FLEET);
  });
  afterAll(async () => {
    await h.stop();
  });

  it('shows readings of a polled Modbus meter with units, device timestamps and quality', async () => {
    const latest = await eventually(() => latestOf(h, 'sim-mb-01-1'), 15_000, 'Modbus readings');
    const byQ = new Map(latest.values.map((v) => [v.quantity, v]));
    expect([...byQ.keys()].sort()).toEqual(['current.l1', 'energy.active.import', 'power.active', 'voltage.l1']);
    expect(byQ.get('voltage.l1')).toMatchObject({ unit: 'V', quality: 'good' });
    expect(byQ.get('voltage.l1')?.value).toBeGreaterThan(200);
    expect(byQ.get('voltage.l1')?.value).toBeLessThan(260);
    expect(byQ.get('energy.active.import')?.unit).toBe('kWh');
    expect(Math.abs(Date.parse(byQ.get('power.active')?.ts ?? '') - Date.now())).toBeLessThan(60_000);
  });

  it('shows readings pushed by an MQTT terminal through the broker', async () => {
    const latest = await eventually(() => latestOf(h, 'sim-mq-02-2'), 15_000, 'MQTT readings');
    expect(latest.values.length).toBeGreaterThanOrEqual(20);
    expect(latest.values.find((v) => v.quantity === 'frequency')?.value).toBeCloseTo(50, 0);
  });

  it('shows readings of polled DLMS meters in both framings, scaled into catalogue units', async () => {
    for (const id of ['sim-dl-01-1', 'sim-dl-02-1']) {
      const latest = await eventually(() => latestOf(h, id, 'energy.active.import'), 20_000, `DLMS readings of ${id}`);
      const byQ = new Map(latest.values.map((v) => [v.quantity, v]));
      expect(byQ.get('voltage.l1')?.value).toBeGreaterThan(200);
      expect(byQ.get('voltage.l1')?.value).toBeLessThan(260);
      expect(byQ.get('energy.active.import')).toMatchObject({ unit: 'kWh', quality: 'good' });
      expect(byQ.get('power.active')?.unit).toBe('kW');
    }
    const terminal = await h.get('/api/v1/terminals/sim-dl-01');
    expect(terminal.body).toMatchObject({ protocol: 'dlms', dlms: { framing: 'wrapper', auth: 'low' }, state: { online: true } });
    expect(JSON.stringify(terminal.body)).not.toContain('12345678');
    // The fleet hands its LLS password to the key store, as it does its HLS keys.
    expect((await h.get('/api/v1/meters/sim-dl-01-1/keys')).body).toMatchObject({ passwordSet: true });
  });

  it('collects the DLMS load profile incrementally: every quarter hour of the backfill once, then only new entries', async () => {
    const now = Date.now();
    const from = new Date(now - 4 * 3_600_000).toISOString();
    const to = new Date(now + 60_000).toISOString();
    const onQuarter = async () => {
      const r = await h.get(`/api/v1/meters/sim-dl-02-1/readings?quantity=energy.active.export&from=${from}&to=${to}`);
      return (r.body as { points: { ts: string; value: number }[] }).points;
    };
    // energy.active.export comes only from the load profile here (the fast profile reads import).
    const points = await eventually(async () => { const p = await onQuarter(); return p.length >= 12 ? p : undefined; }, 20_000, 'load profile rows');
    expect(points).toHaveLength(12); // the quarter hours of 3 h of backfill, each once
    expect(points.every((p) => Date.parse(p.ts) % 900_000 === 0)).toBe(true);
    // Further cycles start after the newest entry: nothing is read twice, nothing is missed.
    await new Promise((r) => setTimeout(r, 4_500));
    expect(await onQuarter()).toHaveLength(12);
    const drift = await eventually(() => latestOf(h, 'sim-dl-01-1', 'clock.drift'), 10_000, 'clock drift');
    expect(drift.values.find((v) => v.quantity === 'clock.drift')).toMatchObject({ unit: 's' });
    expect(Math.abs(drift.values.find((v) => v.quantity === 'clock.drift')?.value ?? 99)).toBeLessThan(2);
  });

  it('serves history, aggregated by step', async () => {
    await eventually(async () => {
      const r = await h.get(`/api/v1/meters/sim-mb-02-1/readings?quantity=power.active&from=${new Date(Date.now() - 3_600_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}`);
      const pts = (r.body as { points: unknown[] }).points;
      return r.status === 200 && pts.length >= 2 ? true : undefined;
    }, 15_000, 'two raw points');
    const r = await h.get(`/api/v1/meters/sim-mb-02-1/readings?quantity=power.active&from=${new Date(Date.now() - 3_600_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}&step=3600&agg=max`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ meterId: 'sim-mb-02-1', quantity: 'power.active', unit: 'kW', step: 3600, agg: 'max' });
    expect((r.body as { points: unknown[] }).points.length).toBeGreaterThanOrEqual(1);
  });

  it('reports collection success per area and day', async () => {
    const body = await eventually(async () => {
      const r = await h.get('/api/v1/stats/collection?area=tx1');
      const b = r.body as { expected: number; collected: number; successRate: number | null; terminals: { terminalId: string }[] };
      return b.expected > 0 && b.terminals.some((t) => t.terminalId.startsWith('sim-mb')) ? b : undefined;
    }, 20_000, 'collection statistics');
    expect(body.successRate).toBeGreaterThan(0.5);
    expect(body.collected).toBeLessThanOrEqual(body.expected);
  });

  it('serves its OpenAPI document and the browsable docs', async () => {
    const doc = await h.get('/docs/json');
    expect(doc.status).toBe(200);
    const paths = Object.keys((doc.body as { paths: Record<string, unknown> }).paths);
    expect(paths).toEqual(expect.arrayContaining(['/health', '/api/v1/meters', '/api/v1/meters/{id}/latest', '/api/v1/stats/collection']));
    const ui = await h.get('/docs/static/index.html');
    expect(ui.status).toBe(200);
    expect(ui.type).toContain('text/html');
  });

  it('is healthy and exposes Prometheus metrics', async () => {
    const health = await h.get('/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok' });
    const metrics = await h.get('/metrics');
    expect(metrics.type).toContain('text/plain');
    expect(String(metrics.body)).toMatch(/gridhead_ingest_accepted_total [1-9]/);
    expect(String(metrics.body)).toMatch(/gridhead_collect_items_total\{outcome="collected"\} [1-9]/);
  });

  it('dead-letters a garbage MQTT payload and keeps ingesting', async () => {
    const client = await mqtt.connectAsync(h.mqttUrl, { clientId: 'garbage-test', ...stationMqttLogin(h) });
    const deadLetters: string[] = [];
    await client.subscribeAsync('gridhead/v1/_deadletter', { qos: 1 });
    client.on('message', (_t, payload) => deadLetters.push(payload.toString()));
    await client.publishAsync('gridhead/v1/sim-mq-01/telemetry', 'this is not json', { qos: 1 });
    await eventually(async () => Promise.resolve(deadLetters.length > 0 ? true : undefined), 10_000, 'a dead letter');
    expect(JSON.parse(deadLetters[0] ?? '{}')).toMatchObject({ terminalId: 'sim-mq-01', code: 'INVALID_JSON' });
    await client.endAsync();
    const metrics = await h.get('/metrics');
    expect(String(metrics.body)).toMatch(/gridhead_mqtt_messages_total\{outcome="malformed"\} [1-9]/);
    const before = (await h.get('/metrics')).body as string;
    const accepted = (s: string) => Number(/gridhead_ingest_accepted_total (\d+)/.exec(s)?.[1] ?? 0);
    await eventually(async () => accepted(String((await h.get('/metrics')).body)) > accepted(before) ? true : undefined, 10_000, 'more readings');
  });

  it('answers bad requests with problem+json naming the field', async () => {
    const bad = await h.send('POST', '/api/v1/meters', { id: 'x1', terminalId: 'sim-mb-01', address: 5, ctRatio: -1, colour: 'red' });
    expect(bad.status).toBe(400);
    expect(bad.type).toContain('application/problem+json');
    const problem = bad.body as Problem;
    expect(problem.code).toBe('VALIDATION');
    const paths = problem.errors?.map((e) => e.path) ?? [];
    expect(paths).toContain('body.colour');
    expect(paths).toContain('body.ctRatio');

    const dangling = await h.send('POST', '/api/v1/meters', { id: 'x2', terminalId: 'no-such-terminal', address: '1' });
    expect(dangling.status).toBe(400);
    expect((dangling.body as Problem).detail).toMatch(/no-such-terminal/);

    const taken = await h.send('POST', '/api/v1/meters', { id: 'x3', terminalId: 'sim-mb-01', address: '1' });
    expect(taken.status).toBe(409);

    const missing = await h.get('/api/v1/meters/nope/latest');
    expect(missing.status).toBe(404);
    expect((missing.body as Problem).code).toBe('NOT_FOUND');

    const badQuery = await h.get('/api/v1/meters/sim-mb-01-1/readings?quantity=power.apparent&from=x&to=y');
    expect(badQuery.status).toBe(400);

    const notJson = await fetchApi(h, '/api/v1/areas', { method: 'POST', body: '{"id":', headers: { 'content-type': 'application/json' } });
    expect(notJson.status).toBe(400);
    expect(notJson.headers.get('content-type')).toContain('application/problem+json');
  });

  it('polls a terminal added through the API without a restart, and stops when it is removed', async () => {
    const sim = new ModbusTerminalSimulator({ host: '127.0.0.1', port: 0, meters: 1, seed: 99 });
    const { port } = await sim.start();
    try {
      const t = await h.send('POST', '/api/v1/terminals', {
        id: 'field-1', protocol: 'modbus', profiles: ['fast'], modbus: { host: '127.0.0.1', port, registerMap: 'three-phase-meter' },
      });
      expect(t.status).toBe(201);
      const m = await h.send('POST', '/api/v1/meters', { id: 'field-1-m1', terminalId: 'field-1', address: '1', ctRatio: 50, areaId: 'tx2', customerRef: 'C-0001' });
      expect(m.status).toBe(201);
      expect(m.body).toMatchObject({ ctRatio: 50, ptRatio: 1, protected: false, customerRef: 'C-0001' });
      const latest = await eventually(() => latestOf(h, 'field-1-m1', 'current.l1'), 15_000, 'readings of the new meter');
      // CT ratio 50: primary current is 50 × the secondary current the simulator serves (a few A).
      expect(latest.values.find((v) => v.quantity === 'current.l1')?.value).toBeGreaterThan(10);
      const state = await h.get('/api/v1/terminals/field-1');
      expect(state.body).toMatchObject({ id: 'field-1', state: { online: true } });

      expect((await h.send('DELETE', '/api/v1/terminals/field-1')).status).toBe(409); // still has a meter
      expect((await h.send('DELETE', '/api/v1/meters/field-1-m1')).status).toBe(204);
      expect((await h.send('DELETE', '/api/v1/terminals/field-1')).status).toBe(204);
      const served = sim.requestsServed;
      await new Promise((r) => setTimeout(r, 2_500));
      expect(sim.requestsServed - served).toBeLessThanOrEqual(1);
    } finally {
      await sim.stop();
    }
  });
});

describe('head-end restart', () => {
  it('keeps registry changes and readings across a restart on the same data directory', async () => {
    const first = await startTestHeadEnd({ ...FAST_FLEET, simulators: { ...FAST_FLEET.simulators, mqtt: { count: 0 } } });
    const dataDir = first.dataDir;
    try {
      expect((await first.send('POST', '/api/v1/areas', { id: 'tx9', name: 'TX 9', kind: 'transformer', parentId: 'r1', transformerKva: 250 })).status).toBe(201);
      await eventually(() => latestOf(first, 'sim-mb-01-2'), 15_000, 'readings');
    } finally {
      await first.close();
    }
    const { buildConfig } = await import('../../src/config/load.js');
    const { startHeadEnd } = await import('../../src/main.js');
    const { createLogger } = await import('../../src/observe/logger.js');
    const again = await startHeadEnd(buildConfig({ dataDir, http: { port: 0 }, log: { level: 'silent' }, mqtt: { embeddedBroker: { enabled: true, port: 0 } } }, 'restart'), {
      logger: createLogger('silent'),
      // Without simulators the station needs the master key the first run generated (demo mode).
      env: { GRIDHEAD_MASTER_KEY: readFileSync(join(dataDir, 'master.key'), 'utf8').trim() },
    });
    try {
      // The admin token of the first run still holds: bootstrap runs only while no admin exists.
      const area = await fetchApi({ url: again.url, token: first.token }, '/api/v1/areas/tx9');
      expect(area.status).toBe(200);
      const latest = await fetchApi({ url: again.url, token: first.token }, '/api/v1/meters/sim-mb-01-2/latest');
      expect(latest.status).toBe(200);
      const body = (await latest.json()) as Latest;
      expect(body.values.map((v) => v.quantity)).toContain('power.active');
    } finally {
      await again.close();
    }
  });
});

const mosquitto = mosquittoPath();
describe('head-end with an external Mosquitto broker', () => {
  if (mosquitto === null) console.warn('skipping the Mosquitto head-end test: mosquitto is not installed (apt-get install mosquitto)');
  it.skipIf(mosquitto === null)('takes MQTT telemetry through Debian mosquitto', async () => {
    const broker = await startMosquitto();
    const h = await startTestHeadEnd({
      ...FAST_FLEET,
      mqtt: { embeddedBroker: { enabled: false }, url: broker.url, clientId: 'gridhead-e2e' },
      simulators: { ...FAST_FLEET.simulators, modbus: { count: 0 } },
    });
    try {
      const latest = await eventually(() => latestOf(h, 'sim-mq-01-1'), 15_000, 'MQTT readings through mosquitto');
      expect(latest.values.find((v) => v.quantity === 'voltage.l2')?.unit).toBe('V');
      expect((await h.get('/health')).body).toMatchObject({ status: 'ok', components: { mqtt: { status: 'ok' } } });
    } finally {
      await h.stop();
      await broker.close();
    }
  });
});

const vmBinary = victoriaMetricsPath();
describe('head-end streaming to InfluxDB (VictoriaMetrics)', () => {
  if (vmBinary === undefined) console.warn('skipping the head-end InfluxDB test: victoria-metrics is not installed (apt-get install victoria-metrics)');
  it.skipIf(vmBinary === undefined)('writes every stored reading to /api/v2/write with meter, terminal and area tags', async () => {
    const vm = await startVictoriaMetrics();
    const h = await startTestHeadEnd({
      ...FAST_FLEET,
      influx: { enabled: true, url: vm.url, token: 'test', org: 'utility', bucket: 'ami', flushIntervalMs: 50 },
      simulators: { ...FAST_FLEET.simulators, mqtt: { count: 0 }, modbus: { ...FAST_FLEET.simulators.modbus, count: 1, metersPerTerminal: 1 } },
    });
    try {
      await eventually(() => latestOf(h, 'sim-mb-01-1'), 15_000, 'a first poll');
      const series = await exportWhenVisible(vm.url, 'meter_voltage_l1{meter="sim-mb-01-1"}', 1);
      expect(series.length).toBeGreaterThanOrEqual(1);
      expect(series[0]?.metric).toMatchObject({ __name__: 'meter_voltage_l1', meter: 'sim-mb-01-1', terminal: 'sim-mb-01', protocol: 'modbus', quality: 'good', area: 'tx1' });
      const health = await h.get('/health');
      expect(health.body).toMatchObject({ components: { influx: { status: 'ok' } } });
      expect(String((await h.get('/metrics')).body)).toMatch(/gridhead_influx_sent_points_total [1-9]/);
    } finally {
      await h.stop();
      await vm.dispose();
    }
  });
});
