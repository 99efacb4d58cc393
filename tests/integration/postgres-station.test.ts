/**
 * The whole demo station on PostgreSQL, chosen by GRIDHEAD_DATABASE_URL alone: the simulated
 * fleet's Modbus, MQTT and DLMS readings land in PostgreSQL's `readings` table (no
 * embedded store file is even created), a rule raises an alarm kept in PostgreSQL, a
 * disconnect is verified with its command and audit rows there, the billing export and an OPC UA client read the station, and
 * /health reports the database (degraded, still 200, while the server is stopped). A second
 * station started on the same database with a new, empty data directory finds the alarms,
 * commands, audit and readings the first one left: nothing came from an embedded file.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { AttributeIds, OPCUACertificateManager, OPCUAClient, MessageSecurityMode, SecurityPolicy, StatusCodes, UserTokenType } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meterId, type MeterId } from '../../src/domain/index.js';
import { fetchApi } from '../helpers/api.js';
import { FAST_FLEET, eventually, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';
import { postgresUnavailable, queryPostgres, startPostgres, type TestPostgres } from '../helpers/postgres.js';

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the station-on-PostgreSQL tests: ${unavailable}`);

const RULE = 'pg-any-load';
const RULE_METER = 'sim-mq-01-1';
const SWITCHED_METER = meterId('sim-mb-01-1');
const OPCUA_USER = { name: 'dispatch', password: 'correct horse battery staple' };
const STATION = {
  ...FAST_FLEET,
  control: { perTerminalRatePerMinute: 600, commandTimeoutMs: 8_000 },
  opcua: { enabled: true, port: 0, staleAfterSeconds: 60, areaRefreshMs: 200 },
};

interface DatabaseComponent {
  status: string;
  detail?: string;
  info?: Record<string, string | number | boolean | null>;
}
interface Health { status: string; components: { database?: DatabaseComponent } }
interface Alarm { id: string; ruleId: string; state: string; subject: { kind: string; id: string } }
interface Command { id: string; status: string; targets: { meterId: string; status: string }[] }
interface AuditEntry { action: string; target: string | null; outcome: string; actor: string }

describe.skipIf(unavailable !== undefined)('the demo station on PostgreSQL (GRIDHEAD_DATABASE_URL)', () => {
  let cluster: TestPostgres;
  let url: string;
  // Shared by both station starts: DLMS keys sealed in PostgreSQL by the first open in the second.
  const masterKey = randomBytes(32).toString('hex');
  const env = (): NodeJS.ProcessEnv => ({ GRIDHEAD_DATABASE_URL: url, GRIDHEAD_MASTER_KEY: masterKey });
  let h: TestHeadEnd;
  const started = Date.now();
  let alarm: Alarm;
  let command: Command;

  beforeAll(async () => {
    cluster = await startPostgres();
    url = await cluster.createDatabase();
    h = await startTestHeadEnd(STATION, { env: env() });
  }, 60_000);

  afterAll(async () => {
    await h.stop();
    await cluster.dispose();
  });

  const metersOf = (protocol: string): MeterId[] => {
    const terminals = new Set(h.registry.listTerminals().filter((t) => t.protocol === protocol).map((t) => t.id));
    return h.registry.listMeters().filter((m) => terminals.has(m.terminalId)).map((m) => m.id);
  };
  /** Meters among `ids` with readings of `source` (0 poll, 1 push) in PostgreSQL, device time in [from, to). */
  const storedMeters = async (ids: readonly MeterId[], source: number, from = 0, to = Number.MAX_SAFE_INTEGER): Promise<number> => {
    const keys = ids.map((id) => h.registry.meterKey(id) ?? -1);
    const [row] = await queryPostgres<{ meters: number }>(url,
      'SELECT count(DISTINCT meter_key)::int AS meters FROM readings WHERE meter_key = ANY($1) AND source = $2 AND ts >= $3 AND ts < $4',
      [keys, source, from, to]);
    return row?.meters ?? 0;
  };
  const health = async (): Promise<{ code: number; body: Health }> => {
    const res = await fetch(`${h.url}/health`);
    return { code: res.status, body: await res.json() as Health };
  };
  const powerSeries = async (meter: string, from: number, to: number): Promise<{ ts: string; value: number }[]> => {
    const r = await h.get(`/api/v1/meters/${meter}/readings?quantity=power.active&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return (r.body as { points: { ts: string; value: number }[] }).points;
  };

  it('stores the fleet\'s Modbus, MQTT and DLMS readings in PostgreSQL, no embedded store file, and serves them from the reading API', async () => {
    const polled = [...metersOf('modbus'), ...metersOf('dlms')];
    const pushed = metersOf('mqtt');
    expect(polled.length).toBe(FAST_FLEET.simulators.modbus.count * FAST_FLEET.simulators.modbus.metersPerTerminal + FAST_FLEET.simulators.dlms.count);
    expect(pushed.length).toBe(FAST_FLEET.simulators.mqtt.count * FAST_FLEET.simulators.mqtt.metersPerTerminal);
    await eventually(async () => ((await storedMeters(polled, 0)) === polled.length ? true : undefined), 30_000, 'every polled (Modbus, DLMS) meter\'s readings in PostgreSQL');
    await eventually(async () => ((await storedMeters(pushed, 1)) === pushed.length ? true : undefined), 20_000, 'every MQTT meter\'s readings in PostgreSQL');

    // Nothing of the station's state is kept beside PostgreSQL: no embedded store is even created.
    expect(existsSync(join(h.dataDir, 'gridhead.db'))).toBe(false);

    for (const meter of [SWITCHED_METER, RULE_METER, 'sim-dl-01-1']) {
      const latest = await h.get(`/api/v1/meters/${meter}/latest`);
      expect(latest.status).toBe(200);
      expect((latest.body as { values: unknown[] }).values.length, meter).toBeGreaterThan(0);
      expect((await powerSeries(meter, started - 60_000, Date.now() + 60_000)).length, meter).toBeGreaterThan(0);
    }
  });

  it('counts the statements it sends to PostgreSQL on /metrics, the readings\' inserts among them', async () => {
    const scrape = async (): Promise<Map<string, number>> => {
      const text = String((await h.get('/metrics')).body);
      return new Map([...text.matchAll(/^gridhead_database_statements_total\{command="(\w+)"\} (\d+)$/gm)].map((m) => [m[1] ?? '', Number(m[2])]));
    };
    const first = await eventually(async () => {
      const counts = await scrape();
      return (counts.get('insert') ?? 0) > 0 ? counts : undefined;
    }, 20_000, 'inserts counted');
    expect(first.get('select')).toBeGreaterThan(0);
    // The fleet keeps sending, so the count keeps growing.
    await eventually(async () => ((await scrape()).get('insert') ?? 0) > (first.get('insert') ?? 0) ? true : undefined, 20_000, 'more inserts counted');
  });

  it('raises an alarm from a rule created through the API, both kept in PostgreSQL', async () => {
    const rule = await h.send('POST', '/api/v1/rules', {
      id: RULE, name: 'any load on one meter', severity: 'major', subject: { meter: RULE_METER },
      detector: 'power-over-limit', params: { limitKw: 0.001, forMs: 0, clearForMs: 600_000 },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    alarm = await eventually(async () => {
      const r = await h.get(`/api/v1/alarms?rule=${RULE}`);
      return (r.body as { items: Alarm[] }).items[0];
    }, 20_000, 'the rule\'s alarm');
    expect(alarm).toMatchObject({ ruleId: RULE, state: 'raised', subject: { kind: 'meter', id: RULE_METER } });

    const rows = await queryPostgres<{ id: string; state: string; subject_id: string }>(url, 'SELECT id::text, state, subject_id FROM alarms WHERE rule_id = $1', [RULE]);
    expect(rows).toEqual([{ id: alarm.id, state: 'raised', subject_id: RULE_METER }]);
    expect(await queryPostgres(url, 'SELECT detector FROM rules WHERE id = $1', [RULE])).toEqual([{ detector: 'power-over-limit' }]);
  });

  it('verifies a disconnect, with the command, its target and the audit entry in PostgreSQL', async () => {
    const res = await fetchApi(h, '/api/v1/commands', {
      method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'pg-disconnect-1' },
      body: JSON.stringify({ type: 'disconnect', meterIds: [SWITCHED_METER], reason: 'station on PostgreSQL' }),
    });
    expect(res.status).toBe(201);
    const id = (await res.json() as { id: string }).id;
    command = await eventually(async () => {
      const c = await (await fetchApi(h, `/api/v1/commands/${id}`)).json() as Command;
      return c.status === 'open' ? undefined : c;
    }, 30_000, `command ${id} to finish`);
    expect(command).toMatchObject({ status: 'verified', targets: [{ meterId: SWITCHED_METER, status: 'verified' }] });
    expect(h.fleet?.modbus[0]?.controlsOf(1).connected).toBe(false);

    expect(await queryPostgres(url, 'SELECT type, reason FROM commands WHERE id = $1', [id])).toEqual([{ type: 'disconnect', reason: 'station on PostgreSQL' }]);
    expect(await queryPostgres(url, 'SELECT meter_id, status FROM command_targets WHERE command_id = $1', [id])).toEqual([{ meter_id: SWITCHED_METER, status: 'verified' }]);
    const audit = await queryPostgres<{ action: string; target: string; outcome: string }>(url,
      'SELECT action, target, outcome FROM audit_log WHERE target = $1 OR target = $2 ORDER BY id', [`command:${id}`, `meter:${SWITCHED_METER}`]);
    expect(audit).toEqual(expect.arrayContaining([
      { action: 'command.create', target: `command:${id}`, outcome: 'ok' },
      { action: 'command.disconnect', target: `meter:${SWITCHED_METER}`, outcome: 'ok' },
    ]));
  });

  it('answers the daily billing export with every meter of the fleet', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const r = await h.get(`/api/v1/billing/daily?date=${today}&limit=1000`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const rows = (r.body as { items: { meter: string; date: string; quantity: string }[] }).items;
    expect(rows.map((row) => row.meter).sort()).toEqual(h.registry.listMeters().map((m) => m.id).sort());
    expect(rows.every((row) => row.date === today && row.quantity === 'energy.active.import')).toBe(true);
  });

  it('serves a meter\'s live value to an OPC UA client signed in as a station user', async () => {
    const user = await h.send('POST', '/api/v1/users', { name: OPCUA_USER.name, role: 'operator', password: OPCUA_USER.password });
    expect(user.status, JSON.stringify(user.body)).toBe(201);
    const endpoint = h.opcuaEndpoint;
    if (endpoint === undefined) throw new Error('the OPC UA server did not start');
    const pki = new OPCUACertificateManager({ rootFolder: join(h.dataDir, 'client-pki'), automaticallyAcceptUnknownCertificate: true });
    const client = OPCUAClient.create({
      endpointMustExist: false, securityMode: MessageSecurityMode.None, securityPolicy: SecurityPolicy.None,
      connectionStrategy: { maxRetry: 1, initialDelay: 100, maxDelay: 500 }, clientCertificateManager: pki,
    });
    try {
      await client.connect(endpoint);
      const session = await client.createSession({ type: UserTokenType.UserName, userName: OPCUA_USER.name, password: OPCUA_USER.password });
      try {
        const power = await eventually(async () => {
          const dv = await session.read({ nodeId: `ns=1;s=meter:${RULE_METER}.ActivePower`, attributeId: AttributeIds.Value });
          return dv.statusCode === StatusCodes.Good ? dv : undefined;
        }, 15_000, 'a good ActivePower over OPC UA');
        expect(typeof power.value.value).toBe('number');
        expect(power.sourceTimestamp?.getTime()).toBeGreaterThanOrEqual(started);
      } finally {
        await session.close();
      }
    } finally {
      await client.disconnect();
      await pki.dispose();
    }
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

    const restartedAt = Date.now();
    await cluster.start();
    await eventually(async () => ((await health()).body.components.database?.status === 'ok' ? true : undefined), 30_000, '/health to report the database ok again');
    // Readings the fleet published while the server was down reach it once it is back.
    const pushed = metersOf('mqtt');
    await eventually(async () => ((await storedMeters(pushed, 1, stoppedAt, restartedAt)) === pushed.length ? true : undefined), 30_000, 'readings published during the outage stored');
    expect((await health()).body.status).not.toBe('down');
  });

  it('a station restarted on the same database with a new data directory finds the alarms, commands, audit and readings', async () => {
    const first = h;
    await first.stop();
    const stoppedAt = Date.now();
    // What the first station left of one meter's power, counted in PostgreSQL itself.
    const [left] = await queryPostgres<{ n: number }>(url,
      `SELECT count(*)::int AS n FROM readings r JOIN quantity_codes q ON q.code = r.quantity
        WHERE r.meter_key = $1 AND q.name = 'power.active' AND r.ts >= $2 AND r.ts < $3`,
      [first.registry.meterKey(SWITCHED_METER) ?? -1, started - 60_000, stoppedAt]);
    expect(left?.n).toBeGreaterThan(0);

    h = await startTestHeadEnd(STATION, { env: env() });
    expect(h.dataDir).not.toBe(first.dataDir);

    const alarms = (await h.get(`/api/v1/alarms?rule=${RULE}`)).body as { items: Alarm[] };
    expect(alarms.items.map((a) => a.id)).toEqual([alarm.id]);
    const again = await (await fetchApi(h, `/api/v1/commands/${command.id}`)).json() as Command;
    expect(again).toMatchObject({ id: command.id, status: 'verified', targets: [{ meterId: SWITCHED_METER, status: 'verified' }] });
    const audit = (await h.get(`/api/v1/audit?target=${encodeURIComponent(`meter:${SWITCHED_METER}`)}&action=command.disconnect`)).body as { items: AuditEntry[] };
    expect(audit.items).toEqual([expect.objectContaining({ action: 'command.disconnect', outcome: 'ok', actor: 'token:bootstrap' })]);
    expect((await powerSeries(SWITCHED_METER, started - 60_000, stoppedAt)).length).toBe(left?.n);
  }, 60_000);
});
