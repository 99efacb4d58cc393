/**
 * A whole station on PostgreSQL, chosen by GRIDHEAD_DATABASE_URL alone: the simulated fleet's
 * MQTT readings land in PostgreSQL's `readings` table (no embedded store file is even created), the
 * reading API reads them back, and /health reports the database: ok, degraded (still 200:
 * the station keeps collecting) while the server is stopped, ok again once it is back, with
 * what waited in the pipeline stored then.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeterId } from '../../src/domain/index.js';
import { FAST_FLEET, eventually, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';
import { postgresUnavailable, query, startPostgres, type TestPostgres } from '../helpers/postgres.js';

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the station-on-PostgreSQL tests: ${unavailable}`);

interface DatabaseComponent {
  status: string;
  detail?: string;
  info?: Record<string, string | number | boolean | null>;
}
interface Health { status: string; components: { database?: DatabaseComponent } }

describe.skipIf(unavailable !== undefined)('a station on PostgreSQL (GRIDHEAD_DATABASE_URL)', () => {
  let cluster: TestPostgres;
  let url: string;
  let h: TestHeadEnd;
  let mqttMeters: MeterId[];
  let mqttKeys: number[];

  beforeAll(async () => {
    cluster = await startPostgres();
    url = await cluster.createDatabase();
    h = await startTestHeadEnd(FAST_FLEET, { env: { GRIDHEAD_DATABASE_URL: url } });
    const terminals = new Set(h.registry.listTerminals().filter((t) => t.protocol === 'mqtt').map((t) => t.id));
    mqttMeters = h.registry.listMeters().filter((m) => terminals.has(m.terminalId)).map((m) => m.id);
    mqttKeys = mqttMeters.map((id) => h.registry.meterKey(id) ?? -1);
  }, 60_000);

  afterAll(async () => {
    await h.stop();
    await cluster.dispose();
  });

  /** Pushed readings stored with a device time in [from, to). */
  const pushedRows = async (from = 0, to = Number.MAX_SAFE_INTEGER): Promise<{ meters: number; rows: number }> => {
    const [row] = await query<{ meters: number; rows: number }>(url,
      'SELECT count(DISTINCT meter_key)::int AS meters, count(*)::int AS rows FROM readings WHERE meter_key = ANY($1) AND source = 1 AND ts >= $2 AND ts < $3',
      [mqttKeys, from, to]);
    return row ?? { meters: 0, rows: 0 };
  };
  const health = async (): Promise<{ code: number; body: Health }> => {
    const res = await fetch(`${h.url}/health`);
    return { code: res.status, body: await res.json() as Health };
  };

  it('stores the simulated fleet\'s MQTT readings in PostgreSQL, no embedded store file at all, and serves them from the reading API', async () => {
    expect(mqttMeters.length).toBe(FAST_FLEET.simulators.mqtt.count * FAST_FLEET.simulators.mqtt.metersPerTerminal);
    await eventually(async () => ((await pushedRows()).meters === mqttMeters.length ? true : undefined), 20_000, 'every MQTT meter\'s readings in PostgreSQL');

    // Nothing of the station's state is kept beside PostgreSQL: no embedded store is even created.
    expect(existsSync(join(h.dataDir, 'gridhead.db'))).toBe(false);

    const meter = mqttMeters[0] ?? '';
    const latest = await h.get(`/api/v1/meters/${meter}/latest`);
    expect(latest.status).toBe(200);
    expect((latest.body as { values: unknown[] }).values.length).toBeGreaterThan(0);
    const to = new Date(Date.now() + 60_000).toISOString();
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const series = await h.get(`/api/v1/meters/${meter}/readings?quantity=power.active&from=${from}&to=${to}`);
    expect(series.status).toBe(200);
    expect((series.body as { points: unknown[] }).points.length).toBeGreaterThan(0);
  });

  it('reports the database in /health: degraded while PostgreSQL is stopped, ok once it is back, and stores what waited', async () => {
    const before = await health();
    expect(before.code).toBe(200);
    const database = before.body.components.database;
    expect(database).toMatchObject({ status: 'ok', info: { driver: 'postgres', reachable: true } });
    expect(database?.info?.partitionsFrom).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(database?.info?.partitionsTo).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(JSON.stringify(before.body)).not.toContain(cluster.password);

    await cluster.stop();
    const stoppedAt = Date.now();
    const down = await eventually(async () => {
      const r = await health();
      return r.body.components.database?.status === 'degraded' ? r : undefined;
    }, 20_000, '/health to report the database degraded');
    // Degraded, not down: the station still serves and collects into its bounded pipeline.
    expect(down.code).toBe(200);
    expect(down.body.status).toBe('degraded');
    expect(down.body.components.database?.info?.reachable).toBe(false);
    expect(JSON.stringify(down.body)).not.toContain(cluster.password);
    // A history request meanwhile is a 503 to retry, not a server fault, and names no password.
    const meter = mqttMeters[0] ?? '';
    const series = await h.get(`/api/v1/meters/${meter}/readings?quantity=power.active&from=${new Date(stoppedAt - 60_000).toISOString()}&to=${new Date().toISOString()}`);
    expect(series.status).toBe(503);
    expect(series.body).toMatchObject({ code: 'DB_UNREACHABLE' });
    expect(JSON.stringify(series.body)).not.toContain(cluster.password);

    const restartedAt = Date.now();
    await cluster.start();
    await eventually(async () => ((await health()).body.components.database?.status === 'ok' ? true : undefined), 30_000, '/health to report the database ok again');
    // Readings the fleet published while the server was down reach it once it is back.
    await eventually(async () => ((await pushedRows(stoppedAt, restartedAt)).meters === mqttMeters.length ? true : undefined), 30_000, 'readings published during the outage stored');
    expect((await health()).body.status).not.toBe('down');
  });
});
