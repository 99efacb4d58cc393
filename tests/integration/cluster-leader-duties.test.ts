/**
 * The leader's singleton duties in `sharded` mode, with two head-ends on one throw-away
 * PostgreSQL and one MQTT broker: both collect their areas, but only the leader listens for
 * OPC UA, connects the alarm notifier to the broker and ticks the load-control programs; when
 * the leader stops, the other node takes all three over. An alarm raised or acknowledged on
 * the other node is notified once, by the leader, which heard it through the shared store.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { MessageSecurityMode, OPCUACertificateManager, OPCUAClient, SecurityPolicy } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { areaId, meterId } from '../../src/domain/index.js';
import { startAedes, type TestBroker } from '../helpers/aedes.js';
import { eventually, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the leader duties test: ${unavailable}`);

const REGISTRY = {
  areas: [{ id: 'tx1', name: 'TX 1', kind: 'transformer', transformerKva: 400 }],
  terminals: [{ id: 'lead-t1', protocol: 'mqtt', profiles: [] }],
  meters: [{ id: 'lead-m1', terminalId: 'lead-t1', address: '1', areaId: 'tx1' }],
};
const PROGRAM = { id: 'peak', kind: 'period', area: 'tx1', periods: [{ from: '00:00', to: '00:00', limitKw: 500 }], rounds: [{ afterMs: 60_000, action: 'disconnect', meters: ['lead-m1'] }] };
const NOT_EVALUATED = 'not evaluated yet';

interface NodeHealth { node: { leader: boolean; duties: string; leaderDuties: string } }
interface ProgramView { id: string; basis: string }

/** A TCP port free now, for a node's OPC UA server (two nodes here, one port each). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => { resolve(); }));
  return port;
}

/** The client ids connected to the broker, from its own `$SYS/<id>/new|disconnect/clients` announcements. */
async function watchClients(url: string): Promise<{ connected: Set<string>; client: MqttClient }> {
  const connected = new Set<string>();
  const client = await mqtt.connectAsync(url, { clientId: 'lead-duties-watch', reconnectPeriod: 0 });
  client.on('message', (topic, payload) => {
    const id = payload.toString('utf8');
    if (topic.endsWith('/new/clients')) connected.add(id);
    else connected.delete(id);
  });
  await client.subscribeAsync(['$SYS/+/new/clients', '$SYS/+/disconnect/clients']);
  return { connected, client };
}

describe.skipIf(unavailable !== undefined)('the leader duties in sharded mode', () => {
  let postgres: TestPostgres;
  let broker: TestBroker;
  let watch: { connected: Set<string>; client: MqttClient };
  const stations: TestHeadEnd[] = [];
  const pkis: OPCUACertificateManager[] = [];

  beforeAll(async () => {
    postgres = await startPostgres();
    broker = await startAedes();
    watch = await watchClients(broker.url);
  }, 60_000);
  afterAll(async () => {
    for (const s of stations.splice(0).reverse()) await s.stop();
    for (const p of pkis) await p.dispose();
    await watch.client.endAsync(true);
    await broker.close();
    await postgres.dispose();
  });

  it('runs OPC UA, the alarm notifier and the load-control ticks on the leader only, and moves them when it stops', async () => {
    const env = { GRIDHEAD_DATABASE_URL: await postgres.createDatabase(), GRIDHEAD_MASTER_KEY: randomBytes(32).toString('hex') };
    const node = async (id: string, opcuaPort: number): Promise<TestHeadEnd> => {
      const h = await startTestHeadEnd({
        // One broker for both, as in production; each node its own client ids.
        mqtt: { embeddedBroker: { enabled: false }, url: broker.url, clientId: id },
        simulators: { enabled: false }, registry: REGISTRY,
        opcua: { enabled: true, host: '127.0.0.1', port: opcuaPort, allowAnonymous: true },
        loadControl: { tickMs: 200, programs: [PROGRAM] },
        // Both nodes share this process's event loop, which an OPC UA server's start holds for a
        // second or more: a lease of the default length outlasts that, a short one flaps.
        cluster: { mode: 'sharded', nodeId: id, heartbeatMs: 500, leaseMs: 5_000 },
      }, { env });
      stations.push(h);
      return h;
    };
    const health = async (h: TestHeadEnd): Promise<NodeHealth['node']> => ((await h.get('/health')).body as NodeHealth).node;
    const basis = async (h: TestHeadEnd): Promise<string | undefined> => ((await h.get('/api/v1/load-control/programs')).body as { items: ProgramView[] }).items.find((p) => p.id === 'peak')?.basis;
    const [portA, portB] = [await freePort(), await freePort()];

    const a = await node('lead-a', portA);
    await eventually(async () => ((await health(a)).leaderDuties === 'active' ? true : undefined), 10_000, 'lead-a to run the leader duties');
    const b = await node('lead-b', portB);

    expect(await health(b)).toMatchObject({ leader: false, duties: 'active', leaderDuties: 'standby' });
    expect(await health(a)).toMatchObject({ leader: true, duties: 'active', leaderDuties: 'active' });
    // The leader's notifier is at the broker; the other node's never connected.
    await eventually(() => Promise.resolve(watch.connected.has('lead-a-alarms') ? true : undefined), 10_000, 'the leader\'s alarm notifier to connect');
    expect(watch.connected.has('lead-b-alarms')).toBe(false);
    // The leader evaluates the program; the other node's copy was never ticked.
    await eventually(async () => ((await basis(a)) !== NOT_EVALUATED ? true : undefined), 10_000, 'the leader to tick the program');
    expect(await basis(b)).toBe(NOT_EVALUATED);
    // OPC UA: the leader serves, the other node's port is closed.
    expect(a.opcuaEndpoint).toBe(`opc.tcp://127.0.0.1:${portA}/UA/gridhead`);
    expect(b.opcuaEndpoint).toBeUndefined();
    await expect(connectOpcua(a, portA)).resolves.toBe(true);
    await expect(connectOpcua(b, portB)).resolves.toBe(false);

    // An alarm raised by the other node's rules is notified once, by the leader, which heard it.
    const notices: { topic: string; change: string; id: string }[] = [];
    watch.client.on('message', (topic, payload) => {
      if (!topic.startsWith('gridhead/v1/_alarms/')) return;
      const notice = JSON.parse(payload.toString('utf8')) as { change: string; alarm: { id: string } };
      notices.push({ topic, change: notice.change, id: notice.alarm.id });
    });
    await watch.client.subscribeAsync('gridhead/v1/_alarms/#', { qos: 1 });
    const raised = b.alarms.onSignal({
      ruleId: 'lead-over-limit', detector: 'power-over-limit', subject: { kind: 'meter', id: meterId('lead-m1') }, kind: 'raise',
      severity: 'critical', at: Date.now(), since: Date.now() - 60_000, explanation: 'power 12 kW over the 10 kW limit for 60 s', value: 12, areaId: areaId('tx1'),
    });
    const alarmId = raised?.id ?? '';
    await eventually(() => Promise.resolve(notices.some((n) => n.id === alarmId && n.change === 'raised') ? true : undefined), 10_000, 'the leader to notify the alarm raised on the other node');
    const acked = await b.send('POST', `/api/v1/alarms/${alarmId}/ack`, { comment: 'seen' });
    expect(acked.status).toBe(200);
    await eventually(() => Promise.resolve(notices.some((n) => n.id === alarmId && n.change === 'acknowledged') ? true : undefined), 10_000, 'the leader to notify the acknowledgement made on the other node');
    expect(notices.filter((n) => n.id === alarmId && n.change === 'raised')).toHaveLength(1);
    expect(notices.every((n) => n.topic === 'gridhead/v1/_alarms/critical/meter/lead-m1')).toBe(true);

    stations.splice(stations.indexOf(a), 1);
    await a.stop();
    await eventually(async () => ((await health(b)).leaderDuties === 'active' ? true : undefined), 15_000, 'lead-b to take the leader duties over');
    await eventually(() => Promise.resolve(watch.connected.has('lead-b-alarms') ? true : undefined), 10_000, 'the new leader\'s alarm notifier to connect');
    expect(watch.connected.has('lead-a-alarms')).toBe(false);
    await eventually(async () => ((await basis(b)) !== NOT_EVALUATED ? true : undefined), 10_000, 'the new leader to tick the program');
    await expect(connectOpcua(b, portB)).resolves.toBe(true);
  }, 90_000);

  /** Whether an OPC UA client gets a session at the node's port (one attempt: a closed port is an answer). */
  async function connectOpcua(h: TestHeadEnd, port: number): Promise<boolean> {
    const pki = new OPCUACertificateManager({ rootFolder: join(h.dataDir, 'client-pki'), automaticallyAcceptUnknownCertificate: true });
    pkis.push(pki);
    const client = OPCUAClient.create({
      endpointMustExist: false, securityMode: MessageSecurityMode.None, securityPolicy: SecurityPolicy.None,
      connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 }, clientCertificateManager: pki,
    });
    try {
      await client.connect(`opc.tcp://127.0.0.1:${port}/UA/gridhead`);
      const session = await client.createSession();
      await session.close();
      return true;
    } catch {
      return false;
    } finally {
      await client.disconnect();
    }
  }
});
