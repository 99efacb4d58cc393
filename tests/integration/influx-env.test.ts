/**
 * InfluxDB from the environment alone: the shipped configuration leaves `influx.enabled`
 * false, and GRIDHEAD_INFLUX_URL turns the stream on. Run through the real `gridhead`
 * process against Debian's VictoriaMetrics, with a time-series outage under the simulated
 * fleet's load: afterwards the series hold exactly what the station stored, each once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCli, stationEnv, type CliInstall, type RunningCli } from '../helpers/cli.js';
import { exportSeries, exportWhenVisible, freePort, startVictoriaMetrics, victoriaMetricsPath, type VictoriaMetrics } from '../helpers/victoriaMetrics.js';

const binary = victoriaMetricsPath();
if (binary === undefined) console.log('skipping the InfluxDB-from-environment test: victoria-metrics not installed (apt-get install victoria-metrics)');

/** The stream is off in the file, as in config/default.yaml; a small MQTT fleet is the load. */
const CONFIG = `
http: { host: 127.0.0.1, port: 0 }
log: { level: warn }
mqtt: { embeddedBroker: { enabled: true, port: 0 } }
influx: { enabled: false, flushIntervalMs: 100, retryMinMs: 50, retryMaxMs: 300 }
rules: { enabled: false }
simulators:
  enabled: true
  seed: 3
  mqtt: { count: 3, metersPerTerminal: 3, publishIntervalMs: 200 }
`;

interface Health { status: string; components: Record<string, { status: string; detail?: string } | undefined> }

describe.skipIf(binary === undefined)('InfluxDB enabled by GRIDHEAD_INFLUX_URL', () => {
  let cli: CliInstall;
  let vm: VictoriaMetrics;
  let dir: string;

  beforeAll(async () => {
    [cli, vm] = await Promise.all([installCli(), startVictoriaMetrics()]);
    dir = mkdtempSync(join(tmpdir(), 'gridhead-influx-env-'));
    writeFileSync(join(dir, 'station.yaml'), CONFIG);
  });
  afterAll(async () => {
    await cli.dispose();
    await vm.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('streams every stored reading exactly once across a time-series outage', async () => {
    const http = await freePort();
    const dataDir = join(dir, 'data');
    const station = cli.start(['start', '--config', join(dir, 'station.yaml')], { env: stationEnv(dataDir, {
      GRIDHEAD_HTTP_PORT: String(http),
      GRIDHEAD_INFLUX_URL: vm.url,
      GRIDHEAD_INFLUX_TOKEN: 'test-token',
      GRIDHEAD_INFLUX_ORG: 'utility',
      GRIDHEAD_INFLUX_BUCKET: 'ami',
    }) });
    const url = `http://127.0.0.1:${http}`;
    let stopped = false;
    try {
      const influxStatus = async () => (await health(url, station))?.components.influx?.status;
      expect(await until(async () => (await influxStatus()) === 'ok' ? true : undefined, 'influx listed in /health')).toBe(true);
      await until(async () => ((await exportSeries(vm.url, '{__name__=~"meter_.*"}')).length > 0 ? true : undefined), 'first series in VictoriaMetrics');

      // Outage under load: the station spools (and says so), then catches up once the server is back.
      await vm.stop();
      await until(async () => ((await influxStatus()) === 'degraded' ? true : undefined), '/health to report the outage');
      await vm.restart();
      await until(async () => ((await influxStatus()) === 'ok' ? true : undefined), '/health to report the catch-up');

      const result = await station.stop();
      stopped = true;
      expect(result.code, result.stderr).toBe(0);

      const stored = storedTimestamps(join(dataDir, 'gridhead.db'));
      expect(stored.size).toBeGreaterThan(0);
      const total = [...stored.values()].reduce((n, t) => n + t.length, 0);
      // Waits until as many samples as stored are searchable, then looks again so late duplicates show too.
      const series = await exportWhenVisible(vm.url, 'meter_voltage_l1', total);
      const streamed = new Map<string, number[]>();
      for (const s of series) {
        const meter = s.metric.meter ?? '?';
        streamed.set(meter, [...(streamed.get(meter) ?? []), ...s.timestamps].sort((a, b) => a - b));
      }
      expect(Object.fromEntries(streamed)).toEqual(Object.fromEntries(stored));
    } finally {
      if (!stopped) await station.stop();
    }
  }, 120_000);
});

/** Device timestamps of voltage.l1 per meter in the station's own store, ascending. */
function storedTimestamps(file: string): Map<string, number[]> {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare(`
      SELECT m.id AS meter, r.ts AS ts FROM readings r
      JOIN meters m ON m.key = r.meter_key JOIN quantity_codes q ON q.code = r.quantity
      WHERE q.name = 'voltage.l1' ORDER BY m.id, r.ts`).all() as { meter: string; ts: number }[];
    const out = new Map<string, number[]>();
    for (const r of rows) out.set(r.meter, [...(out.get(r.meter) ?? []), r.ts]);
    return out;
  } finally {
    db.close();
  }
}

async function health(url: string, station: RunningCli): Promise<Health | undefined> {
  if (station.child.exitCode !== null) throw new Error(`station exited with ${station.child.exitCode}: ${station.stderr()}`);
  try {
    return await (await fetch(`${url}/health`)).json() as Health;
  } catch {
    return undefined; // not listening yet
  }
}

async function until<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
