/**
 * Duties following the leader lease, with active-standby nodes on one PostgreSQL. A node whose
 * lease is taken from it (its renewal refused) steps down at once: it stops polling and lets
 * go of the broker, and no node is active until the lease is free again. A standby that takes
 * over runs its rules as the station last stored them, and judges communication loss from the
 * moment it took over, not from its own start: a standby hears no reading, so judged from its
 * start every meter would be raised for communication loss at its first tick as active. And
 * a standby that starts leaves the active's command in flight alone: taking up what a
 * previous run left open is the active's duty.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../src/domain/index.js';
import { fetchApi } from '../helpers/api.js';
import { eventually, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';
import { postgresUnavailable, queryPostgres, startPostgres, type TestPostgres } from '../helpers/postgres.js';

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the active-standby duties test: ${unavailable}`);

const QUIET = { mqtt: { embeddedBroker: { enabled: true, port: 0 } }, simulators: { enabled: false }, opcua: { enabled: false } };
const REGISTRY = { terminals: [{ id: 'duty-t1', protocol: 'mqtt', profiles: [] }], meters: [{ id: 'duty-m1', terminalId: 'duty-t1', address: '1' }] };
/** Silent after 5 × 1 s without data. */
const COMM_LOSS = { expectedIntervalMs: 1_000, missedIntervals: 5, clearForMs: 0 };
const WINDOW_MS = COMM_LOSS.expectedIntervalMs * COMM_LOSS.missedIntervals;

interface NodeHealth { node: { leader: boolean; duties: string }; components: Record<string, { status: string; detail?: string }> }
const healthOf = async (h: TestHeadEnd): Promise<NodeHealth> => (await h.get('/health')).body as NodeHealth;

describe.skipIf(unavailable !== undefined)('duties following the leader lease', () => {
  let postgres: TestPostgres;
  const stations: TestHeadEnd[] = [];

  beforeAll(async () => {
    postgres = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    for (const s of stations.splice(0).reverse()) await s.stop();
    await postgres.dispose();
  });

  it('steps down when its lease is taken, and no node is active until the lease is free', async () => {
    const url = await postgres.createDatabase();
    const env = { GRIDHEAD_DATABASE_URL: url, GRIDHEAD_MASTER_KEY: randomBytes(32).toString('hex') };
    const node = async (id: string): Promise<TestHeadEnd> => {
      const h = await startTestHeadEnd({ ...QUIET, registry: REGISTRY, cluster: { mode: 'active-standby', nodeId: id, heartbeatMs: 300, leaseMs: 3_000 } }, { env });
      stations.push(h);
      return h;
    };
    const a = await node('node-c');
    await eventually(async () => ((await healthOf(a)).node.duties === 'active' ? true : undefined), 10_000, 'node-c to be active');
    expect((await healthOf(a)).components.mqtt).toEqual({ status: 'ok' });
    const b = await node('node-d');

    // Another holder, as a node that won the lease while this one was cut off would be.
    await queryPostgres(url, "UPDATE cluster_leases SET holder = 'node-x', token = token + 1, expires_at = now() + interval '1 hour' WHERE name = 'leader'");
    const down = await eventually(async () => {
      const h = await healthOf(a);
      return h.node.duties === 'standby' ? h : undefined;
    }, 10_000, 'node-c to step down');
    expect(down.node.leader).toBe(false);
    expect(down.components.mqtt?.detail).toMatch(/standby/);
    expect((await healthOf(b)).node).toMatchObject({ leader: false, duties: 'standby' });

    await queryPostgres(url, "UPDATE cluster_leases SET expires_at = now() WHERE name = 'leader'");
    const active = await eventually(async () => {
      const [ha, hb] = [await healthOf(a), await healthOf(b)];
      return ha.node.duties === 'active' || hb.node.duties === 'active' ? [ha, hb] : undefined;
    }, 10_000, 'one node to take the free lease');
    expect(active.filter((h) => h.node.duties === 'active')).toHaveLength(1);
  }, 60_000);

  it('runs the stored rules and judges silence from the takeover, not from its own start', async () => {
    const url = await postgres.createDatabase();
    const env = { GRIDHEAD_DATABASE_URL: url, GRIDHEAD_MASTER_KEY: randomBytes(32).toString('hex') };
    const node = async (id: string, rules: boolean): Promise<TestHeadEnd> => {
      const h = await startTestHeadEnd({
        ...QUIET, registry: REGISTRY, rules: { enabled: rules },
        cluster: { mode: 'active-standby', nodeId: id, heartbeatMs: 300, leaseMs: 3_000 },
      }, { env });
      stations.push(h);
      return h;
    };
    // The active judges nothing (its rules are off), so only the standby's judgement shows.
    const a = await node('node-a', false);
    await eventually(async () => ((await a.get('/health')).body as { node: { duties: string } }).node.duties === 'active' ? true : undefined, 10_000, 'node-a to be active');
    const b = await node('node-b', true);
    const raised: Alarm[] = [];
    // This node's own judgement: alarms heard from another node are not it.
    b.alarms.onChange((c) => { if (c.kind === 'raised' && c.heard !== true) raised.push(c.alarm); });
    const rule = await b.send('POST', '/api/v1/rules', { id: 'comm', name: 'communication loss', severity: 'minor', subject: { all: true }, detector: 'communication-loss', params: COMM_LOSS });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);

    // The standby outlasts the silence window without judging: nothing is raised.
    const standbyUntil = Date.now() + 2 * WINDOW_MS;
    await eventually(() => Promise.resolve(Date.now() >= standbyUntil ? true : undefined), 3 * WINDOW_MS, 'the standby to outlast the window');
    expect(raised).toEqual([]);

    const stoppedAt = Date.now();
    stations.splice(stations.indexOf(a), 1);
    await a.stop();
    await eventually(async () => ((await b.get('/health')).body as { node: { duties: string } }).node.duties === 'active' ? true : undefined, 10_000, 'node-b to take over');
    const alarm = await eventually(() => Promise.resolve(raised.find((x) => x.ruleId === 'comm')), 30_000, 'the silent meter to be raised');
    expect(alarm.subject).toEqual({ kind: 'meter', id: 'duty-m1' });
    // A whole window after the takeover at the earliest: silence counts from when this node began to watch.
    expect(alarm.raisedAt).toBeGreaterThanOrEqual(stoppedAt + WINDOW_MS);
  }, 90_000);
  it('leaves the command the active node has in flight alone when a standby starts', async () => {
    // A terminal that accepts TCP and never answers: the command stays in flight.
    const sockets = new Set<Socket>();
    const silent: Server = createServer((c) => { sockets.add(c); c.on('close', () => sockets.delete(c)); });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const url = await postgres.createDatabase();
      const env = { GRIDHEAD_DATABASE_URL: url, GRIDHEAD_MASTER_KEY: randomBytes(32).toString('hex') };
      const overrides = {
        ...QUIET, control: { commandTimeoutMs: 60_000 }, modbus: { requestTimeoutMs: 60_000 },
      };
      // The default lease: a second station starting in this process holds the event loop long
      // enough to make a 1 s lease lapse on a loaded machine, and a new term rightly takes the
      // sent target up (verified by reading back), which is not what this case is about.
      const node = async (id: string): Promise<TestHeadEnd> => {
        const h = await startTestHeadEnd({ ...overrides, cluster: { mode: 'active-standby', nodeId: id, heartbeatMs: 500, leaseMs: 5_000 } }, { env });
        stations.push(h);
        return h;
      };
      const a = await node('node-e');
      await eventually(async () => ((await healthOf(a)).node.duties === 'active' ? true : undefined), 10_000, 'node-e to be active');
      const port = (silent.address() as { port: number }).port;
      await a.registry.createTerminal({ id: 'bh', name: 'silent', protocol: 'modbus', enabled: true, profiles: [], modbus: { host: '127.0.0.1', port, framing: 'tcp', registerMap: 'three-phase-meter' } });
      await a.registry.createMeter({ id: 'bh-1', name: 'silent 1', terminalId: 'bh', address: '1', ctRatio: 1, ptRatio: 1, protected: false });
      const res = await fetchApi(a, '/api/v1/commands', {
        method: 'POST', body: JSON.stringify({ type: 'disconnect', meterIds: ['bh-1'] }), headers: { 'content-type': 'application/json', 'idempotency-key': 'in-flight-1' },
      });
      expect(res.status).toBe(201);
      const id = (await res.json() as { id: string }).id;
      const statusOf = async (h: TestHeadEnd): Promise<string | undefined> => {
        const v = await (await fetchApi(h, `/api/v1/commands/${id}`)).json() as { targets: { status: string }[] };
        return v.targets[0]?.status;
      };
      await eventually(async () => ((await statusOf(a)) === 'sent' ? true : undefined), 15_000, 'the target to be sent');

      const b = await node('node-f');
      expect((await healthOf(b)).node.duties).toBe('standby');
      expect(await statusOf(b)).toBe('sent');
      expect(await statusOf(a)).toBe('sent');
    } finally {
      for (const c of sockets) c.destroy();
      await new Promise<void>((r) => { silent.close(() => { r(); }); });
    }
  }, 60_000);
});
