/**
 * Rule definitions and alarm changes across two head-ends on one PostgreSQL (active-standby):
 * an operator on the standby creates a rule and the active's engine runs it at once; the alarm
 * it raises appears on the standby's alarm stream (SSE over a real HTTP connection); the
 * standby's acknowledgement appears on the active's stream; deleting the rule on the standby
 * stops the active's engine, whose clear appears on the standby's stream. No restart anywhere.
 */
import { randomBytes } from 'node:crypto';
import { get, type ClientRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the rules and alarms across nodes test: ${unavailable}`);

const QUIET = { mqtt: { embeddedBroker: { enabled: true, port: 0 } }, simulators: { enabled: false }, opcua: { enabled: false } };
const REGISTRY = { terminals: [{ id: 'x-t1', protocol: 'mqtt', profiles: [] }], meters: [{ id: 'x-m1', terminalId: 'x-t1', address: '1' }] };
/** The meter never reports: silent after one second once the rule runs. */
const COMM_LOSS = { expectedIntervalMs: 1_000, missedIntervals: 1, clearForMs: 0 };

interface AlarmEvent { change: string; alarm: { id: string; ruleId: string; state: string; acknowledgedBy: string | null } }

/** An alarm stream read over HTTP: every `event: alarm` frame so far, parsed. */
interface AlarmStream {
  readonly events: AlarmEvent[];
  readonly request: ClientRequest;
}

async function openStream(h: TestHeadEnd): Promise<AlarmStream> {
  const events: AlarmEvent[] = [];
  let text = '';
  let opened = false;
  const request = await new Promise<ClientRequest>((resolve, reject) => {
    const req = get(`${h.url}/api/v1/alarms/stream`, { headers: { authorization: `Bearer ${h.token}` } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        // WHATWG HTML §9.2.6: an event ends at a blank line.
        for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
          const frame = text.slice(0, end);
          text = text.slice(end + 2);
          if (frame.startsWith('retry:')) opened = true;
          const data = /^event: alarm\ndata: (.*)$/m.test(frame) ? /^data: (.*)$/m.exec(frame)?.[1] : undefined;
          if (data !== undefined) events.push(JSON.parse(data) as AlarmEvent);
        }
      });
      res.on('error', () => undefined);
    });
    req.on('error', reject);
    resolve(req);
  });
  await eventually(() => Promise.resolve(opened ? true : undefined), 5_000, 'the alarm stream to open');
  return { events, request };
}

describe.skipIf(unavailable !== undefined)('rules and alarms across nodes', () => {
  let postgres: TestPostgres;
  const stations: TestHeadEnd[] = [];
  const streams: ClientRequest[] = [];

  beforeAll(async () => {
    postgres = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    for (const s of stations.splice(0).reverse()) await s.stop();
    for (const s of streams) s.destroy();
    await postgres.dispose();
  });

  it('runs a rule created on the standby on the active, streams its alarm on both, and stops it when deleted on the standby', async () => {
    const url = await postgres.createDatabase();
    const env = { GRIDHEAD_DATABASE_URL: url, GRIDHEAD_MASTER_KEY: randomBytes(32).toString('hex') };
    const node = async (id: string): Promise<TestHeadEnd> => {
      const h = await startTestHeadEnd({ ...QUIET, registry: REGISTRY, cluster: { mode: 'active-standby', nodeId: id, heartbeatMs: 300, leaseMs: 3_000 } }, { env });
      stations.push(h);
      return h;
    };
    const duties = async (h: TestHeadEnd) => ((await h.get('/health')).body as { node: { duties: string } }).node.duties;
    const active = await node('notify-a');
    await eventually(async () => ((await duties(active)) === 'active' ? true : undefined), 10_000, 'notify-a to be active');
    const standby = await node('notify-b');
    expect(await duties(standby)).toBe('standby');
    const [onActive, onStandby] = [await openStream(active), await openStream(standby)];
    streams.push(onActive.request, onStandby.request);

    const created = await standby.send('POST', '/api/v1/rules', { id: 'silent', name: 'communication loss', severity: 'minor', subject: { all: true }, detector: 'communication-loss', params: COMM_LOSS });
    expect(created.status, JSON.stringify(created.body)).toBe(201);

    // The active's engine runs the rule the standby stored; the standby's stream shows its alarm.
    const raised = await eventually(() => Promise.resolve(onStandby.events.find((e) => e.alarm.ruleId === 'silent' && e.change === 'raised')), 20_000, 'the alarm on the standby\'s stream');
    const id = raised.alarm.id;
    expect(active.alarms.openAlarms().map((a) => a.id)).toEqual([id]);

    const ack = await standby.send('POST', `/api/v1/alarms/${id}/ack`);
    expect(ack.status, JSON.stringify(ack.body)).toBe(200);
    const acked = await eventually(() => Promise.resolve(onActive.events.find((e) => e.alarm.id === id && e.change === 'acknowledged')), 20_000, 'the acknowledgement on the active\'s stream');
    expect(acked.alarm).toMatchObject({ state: 'acknowledged', acknowledgedBy: expect.any(String) as string });
    expect(active.alarms.openAlarms().map((a) => a.state)).toEqual(['acknowledged']);

    const deleted = await standby.send('DELETE', '/api/v1/rules/silent');
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(204);
    const cleared = await eventually(() => Promise.resolve(onStandby.events.find((e) => e.alarm.id === id && e.change === 'cleared')), 20_000, 'the clear on the standby\'s stream');
    expect(cleared.alarm.state).toBe('cleared');
    expect(active.alarms.openAlarms()).toEqual([]);
    expect(standby.alarms.openAlarms()).toEqual([]);
    // The dashboard's list, read from the shared store on either node, agrees.
    for (const h of [active, standby]) {
      const list = await h.get('/api/v1/alarms?rule=silent');
      expect((list.body as { items: { id: string; state: string }[] }).items.map((a) => [a.id, a.state])).toEqual([[id, 'cleared']]);
    }
  }, 90_000);
});
