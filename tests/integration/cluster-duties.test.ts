/**
 * What a standby does when it takes over, with two active-standby nodes on one PostgreSQL:
 * its rules run as the station last stored them, and it judges communication loss from the
 * moment it took over, not from its own start. A standby hears no reading; judged from its
 * start, every meter would be raised for communication loss at its first tick as active.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../src/domain/index.js';
import { eventually, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the active-standby duties test: ${unavailable}`);

const QUIET = { mqtt: { embeddedBroker: { enabled: true, port: 0 } }, simulators: { enabled: false }, opcua: { enabled: false } };
const REGISTRY = { terminals: [{ id: 'duty-t1', protocol: 'mqtt', profiles: [] }], meters: [{ id: 'duty-m1', terminalId: 'duty-t1', address: '1' }] };
/** Silent after 5 × 1 s without data. */
const COMM_LOSS = { expectedIntervalMs: 1_000, missedIntervals: 5, clearForMs: 0 };
const WINDOW_MS = COMM_LOSS.expectedIntervalMs * COMM_LOSS.missedIntervals;

describe.skipIf(unavailable !== undefined)('a standby taking over', () => {
  let postgres: TestPostgres;
  const stations: TestHeadEnd[] = [];

  beforeAll(async () => {
    postgres = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    for (const s of stations.splice(0).reverse()) await s.stop();
    await postgres.dispose();
  });

  it('runs the stored rules and judges silence from the takeover, not from its own start', async () => {
    const url = await postgres.createDatabase();
    const env = { GRIDHEAD_DATABASE_URL: url, GRIDHEAD_MASTER_KEY: randomBytes(32).toString('hex') };
    const node = async (id: string, rules: boolean): Promise<TestHeadEnd> => {
      const h = await startTestHeadEnd({
        ...QUIET, registry: REGISTRY, rules: { enabled: rules },
        cluster: { mode: 'active-standby', nodeId: id, heartbeatMs: 200, leaseMs: 1_000 },
      }, { env });
      stations.push(h);
      return h;
    };
    // The active judges nothing (its rules are off), so only the standby's judgement shows.
    const a = await node('node-a', false);
    await eventually(async () => ((await a.get('/health')).body as { node: { duties: string } }).node.duties === 'active' ? true : undefined, 10_000, 'node-a to be active');
    const b = await node('node-b', true);
    const raised: Alarm[] = [];
    b.alarms.onChange((c) => { if (c.kind === 'raised') raised.push(c.alarm); });
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
});
