/**
 * The OPC UA server end to end: a whole head-end with the simulated fleet and the OPC UA
 * server on a free port, a node-opcua client over a real socket. Every effect of a method call
 * is checked in the simulated device itself.
 */
import { join } from 'node:path';
import {
  AttributeIds, ClientMonitoredItem, ClientSubscription, DataType, MessageSecurityMode, OPCUACertificateManager, OPCUAClient, SecurityPolicy,
  StatusCodes, TimestampsToReturn, UserTokenType, constructEventFilter, type ClientSession, type DataValue, type Variant,
} from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchApi } from '../helpers/api.js';
import { eventually, FAST_FLEET, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';

const PASSWORD = 'correct horse battery staple';
const MB_METER = 'sim-mb-01-1';
const MQ_METER = 'sim-mq-01-1';

let he: TestHeadEnd;
let endpoint: string;
let clientPki: OPCUACertificateManager;
const clients: OPCUAClient[] = [];
const sessions: ClientSession[] = [];

beforeAll(async () => {
  he = await startTestHeadEnd({
    ...FAST_FLEET,
    control: { perTerminalRatePerMinute: 600, commandTimeoutMs: 4_000 },
    opcua: { enabled: true, port: 0, staleAfterSeconds: 60, areaRefreshMs: 200 },
  });
  if (he.opcuaEndpoint === undefined) throw new Error('the OPC UA server did not start');
  endpoint = he.opcuaEndpoint;
  for (const [name, role] of [['dispatch', 'operator'], ['watcher', 'viewer'], ['accounts', 'billing'], ['guessed', 'operator']] as const) {
    const res = await he.send('POST', '/api/v1/users', { name, role, password: PASSWORD });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }
  clientPki = new OPCUACertificateManager({ rootFolder: join(he.dataDir, 'client-pki'), automaticallyAcceptUnknownCertificate: true });
}, 60_000);

afterAll(async () => {
  for (const s of sessions) await s.close().catch(() => undefined);
  for (const c of clients) await c.disconnect().catch(() => undefined);
  await (clientPki as OPCUACertificateManager | undefined)?.dispose();
  await (he as TestHeadEnd | undefined)?.stop();
});

async function connect(): Promise<OPCUAClient> {
  const client = OPCUAClient.create({
    applicationName: 'gridhead-test', endpointMustExist: false, securityMode: MessageSecurityMode.None, securityPolicy: SecurityPolicy.None,
    connectionStrategy: { maxRetry: 1, initialDelay: 100, maxDelay: 500 }, clientCertificateManager: clientPki,
  });
  clients.push(client);
  await client.connect(endpoint);
  return client;
}

async function sessionAs(user: string, password = PASSWORD): Promise<ClientSession> {
  const session = await (await connect()).createSession({ type: UserTokenType.UserName, userName: user, password });
  sessions.push(session);
  return session;
}

async function browseNames(session: ClientSession, nodeId: string): Promise<string[]> {
  const result = await session.browse(nodeId);
  expect(result.statusCode).toBe(StatusCodes.Good);
  return (result.references ?? []).map((r) => r.browseName.name ?? '');
}

async function command(type: string, meterId: string): Promise<void> {
  const res = await fetchApi(he, '/api/v1/commands', {
    method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': `opcua-${type}-${meterId}-${Date.now()}` },
    body: JSON.stringify({ type, meterIds: [meterId], reason: 'test' }),
  });
  expect(res.status).toBe(201);
  const id = ((await res.json()) as { id: string }).id;
  await eventually(async () => {
    const c = (await (await fetchApi(he, `/api/v1/commands/${id}`)).json()) as { status: string };
    return c.status === 'open' ? undefined : c.status;
  }, 20_000, `command ${id}`);
}

const relayOf = (): boolean | undefined => he.fleet?.modbus[0]?.controlsOf(1).connected;

describe('address space', () => {
  it('mirrors the topology: Objects → Gridhead → Areas → region → transformer → Meters → meter with its variables and methods', async () => {
    const session = await sessionAs('watcher');
    expect(await browseNames(session, 'i=85')).toContain('Gridhead');
    expect(await browseNames(session, 'ns=1;s=gridhead')).toEqual(expect.arrayContaining(['Areas', 'UnassignedMeters']));
    expect(await browseNames(session, 'ns=1;s=areas')).toEqual(['r1']);
    expect(await browseNames(session, 'ns=1;s=area:r1')).toEqual(expect.arrayContaining(['tx1', 'tx2', 'AggregateLoad', 'Meters']));
    const inTx1 = he.registry.listMeters({ areaId: 'tx1' }).map((m) => m.id).sort();
    expect(inTx1.length).toBeGreaterThan(0);
    expect((await browseNames(session, 'ns=1;s=area:tx1.Meters')).sort()).toEqual(inTx1);
    const meterId = inTx1[0] ?? '';
    expect(await browseNames(session, `ns=1;s=meter:${meterId}`)).toEqual(expect.arrayContaining([
      'ActivePower', 'ActivePowerL1', 'ActivePowerL2', 'ActivePowerL3', 'VoltageL1', 'VoltageL2', 'VoltageL3', 'CurrentL1', 'CurrentL2', 'CurrentL3',
      'PowerFactor', 'EnergyImport', 'EnergyExport', 'RelayConnected', 'Online', 'Disconnect', 'Reconnect', 'SetPowerLimit',
    ]));
    expect(await browseNames(session, `ns=1;s=meter:${meterId}.ActivePower`)).toContain('EngineeringUnits');
  });

  it('adds a meter created in the registry and removes it when deleted', async () => {
    const session = await sessionAs('watcher');
    const terminalId = he.registry.getMeter(MB_METER).terminalId;
    await he.registry.createMeter({ id: 'opcua-new', name: 'new meter', terminalId, address: '9', ctRatio: 1, ptRatio: 1, protected: false, areaId: 'tx2' });
    expect(await browseNames(session, 'ns=1;s=area:tx2.Meters')).toContain('opcua-new');
    const fresh = await session.read({ nodeId: 'ns=1;s=meter:opcua-new.VoltageL1', attributeId: AttributeIds.Value });
    expect(fresh.statusCode).toBe(StatusCodes.BadWaitingForInitialData);
    await he.registry.deleteMeter('opcua-new');
    expect(await browseNames(session, 'ns=1;s=area:tx2.Meters')).not.toContain('opcua-new');
  });
});

describe('live values', () => {
  it('notifies a subscription of a meter\'s ActivePower as the simulated meter publishes, with its reading timestamps', async () => {
    const session = await sessionAs('watcher');
    const subscription = ClientSubscription.create(session, { requestedPublishingInterval: 100, requestedMaxKeepAliveCount: 20, publishingEnabled: true });
    const seen: DataValue[] = [];
    const item = ClientMonitoredItem.create(subscription, { nodeId: `ns=1;s=meter:${MQ_METER}.ActivePower`, attributeId: AttributeIds.Value }, { samplingInterval: 0, queueSize: 10, discardOldest: true }, TimestampsToReturn.Both);
    item.on('changed', (dv: DataValue) => { seen.push(dv); });
    try {
      const good = await eventually(async () => {
        await Promise.resolve();
        const ok = seen.filter((d) => d.statusCode === StatusCodes.Good && d.sourceTimestamp !== null);
        return new Set(ok.map((d) => d.sourceTimestamp?.getTime())).size >= 2 ? ok : undefined;
      }, 20_000, 'two ActivePower updates');
      const latest = good.at(-1);
      expect(typeof latest?.value.value).toBe('number');
      expect(Math.abs((latest?.sourceTimestamp?.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);
    } finally {
      await subscription.terminate();
    }
  });

  it('shows an area\'s aggregate load in kW once its meters report', async () => {
    const session = await sessionAs('watcher');
    const load = await eventually(async () => {
      const dv = await session.read({ nodeId: 'ns=1;s=area:r1.AggregateLoad', attributeId: AttributeIds.Value });
      return dv.statusCode.isGood() || dv.statusCode === StatusCodes.UncertainSubNormal ? dv : undefined;
    }, 20_000, 'area load');
    expect(typeof load.value.value).toBe('number');
    expect(load.value.value).not.toBe(0);
  });
});

describe('control methods', () => {
  const call = async (session: ClientSession, method: string, meterId: string, args: { dataType: DataType; value: unknown }[]) =>
    session.call({ objectId: `ns=1;s=meter:${meterId}`, methodId: `ns=1;s=meter:${meterId}.${method}`, inputArguments: args });

  it('shows a relay switched through the API in RelayConnected: every state a command reads back reaches the OPC UA server', async () => {
    const session = await sessionAs('watcher');
    const relayReads = (want: boolean) => eventually(async () => {
      const dv = await session.read({ nodeId: `ns=1;s=meter:${MB_METER}.RelayConnected`, attributeId: AttributeIds.Value });
      return dv.statusCode === StatusCodes.Good && dv.value.value === want ? true : undefined;
    }, 10_000, `RelayConnected ${String(want)}`);
    await command('disconnect', MB_METER);
    expect(await relayReads(false)).toBe(true);
    await command('reconnect', MB_METER);
    expect(await relayReads(true)).toBe(true);
  });

  it('reconnects a meter disconnected through the API: the simulated relay closes, RelayConnected reads true, the command names the OPC UA user', async () => {
    await command('disconnect', MB_METER);
    expect(relayOf()).toBe(false);
    const session = await sessionAs('dispatch');
    const result = await call(session, 'Reconnect', MB_METER, [{ dataType: DataType.String, value: 'restored from SCADA' }]);
    expect(result.statusCode).toBe(StatusCodes.Good);
    const commandId = String(result.outputArguments?.[0]?.value);
    await eventually(async () => { await Promise.resolve(); return relayOf() === true ? true : undefined; }, 20_000, 'relay connected');
    const relay = await eventually(async () => {
      const dv = await session.read({ nodeId: `ns=1;s=meter:${MB_METER}.RelayConnected`, attributeId: AttributeIds.Value });
      return dv.statusCode === StatusCodes.Good && dv.value.value === true ? dv : undefined;
    }, 10_000, 'RelayConnected true');
    expect(relay.value.value).toBe(true);
    const cmd = (await (await fetchApi(he, `/api/v1/commands/${commandId}`)).json()) as { type: string; origin: { actor: string }; reason: string };
    expect(cmd).toMatchObject({ type: 'reconnect', origin: { actor: 'opcua:dispatch' }, reason: 'restored from SCADA' });
  });

  it('sets a power limit on the simulated meter', async () => {
    const session = await sessionAs('dispatch');
    const result = await call(session, 'SetPowerLimit', MB_METER, [{ dataType: DataType.Double, value: 6.5 }, { dataType: DataType.String, value: 'peak' }]);
    expect(result.statusCode).toBe(StatusCodes.Good);
    await eventually(async () => { await Promise.resolve(); return he.fleet?.modbus[0]?.controlsOf(1).limitW === 6500 ? true : undefined; }, 20_000, 'limit set');
  });

  it('refuses viewer and billing users with BadUserAccessDenied and leaves the relay alone', async () => {
    for (const user of ['watcher', 'accounts']) {
      const session = await sessionAs(user);
      const result = await call(session, 'Disconnect', MB_METER, [{ dataType: DataType.String, value: 'not mine to do' }]);
      expect(result.statusCode).toBe(StatusCodes.BadUserAccessDenied);
    }
    expect(relayOf()).toBe(true);
  });

  it('refuses anonymous sessions and wrong passwords', async () => {
    const client = await connect();
    await expect(client.createSession()).rejects.toThrow(/Anonymous|BadIdentityToken/i);
    await expect(client.createSession({ type: UserTokenType.UserName, userName: 'dispatch', password: 'not the password!' })).rejects.toThrow(/BadUserAccessDenied|BadIdentityToken/);
    // The same client with the right password gets in: the refusals above were about identity.
    const session = await client.createSession({ type: UserTokenType.UserName, userName: 'dispatch', password: PASSWORD });
    sessions.push(session);
    expect(session.sessionId.isEmpty()).toBe(false);
  });
});

describe('login limits', () => {
  it('refuses even the right password once a user name has failed too often, like the dashboard login', async () => {
    const client = await connect();
    for (let i = 0; i < 5; i++) {
      await expect(client.createSession({ type: UserTokenType.UserName, userName: 'guessed', password: `wrong guess number ${i}` })).rejects.toThrow();
    }
    await expect(client.createSession({ type: UserTokenType.UserName, userName: 'guessed', password: PASSWORD })).rejects.toThrow();
  });
});

describe('alarm events', () => {
  it('delivers a raised alarm as an event with its message, severity and source node to subscribers of the Server object and of the meter\'s region', async () => {
    const session = await sessionAs('watcher');
    const subscription = ClientSubscription.create(session, { requestedPublishingInterval: 100, requestedMaxKeepAliveCount: 20, publishingEnabled: true });
    const filter = constructEventFilter(['SourceNode', 'Message', 'Severity', 'SourceName']);
    const watch = async (nodeId: string): Promise<Variant[][]> => {
      const events: Variant[][] = [];
      const item = ClientMonitoredItem.create(subscription, { nodeId, attributeId: AttributeIds.EventNotifier }, { samplingInterval: 0, queueSize: 100, filter, discardOldest: true }, TimestampsToReturn.Both);
      item.on('changed', (values: Variant[] | DataValue) => { if (Array.isArray(values)) events.push(values); });
      await new Promise<void>((resolve) => { item.once('initialized', () => { resolve(); }); });
      return events;
    };
    try {
      const atServer = await watch('i=2253');
      const atRegion = await watch('ns=1;s=area:r1');
      expect(he.registry.getMeter(MQ_METER).areaId).not.toBeNull();
      const now = Date.now();
      he.alarms.onSignal({
        ruleId: 'opcua-test', detector: 'test', subject: { kind: 'meter', id: MQ_METER as never }, kind: 'raise', severity: 'major',
        at: now, since: now, explanation: 'test alarm: 12.5 kW over the 10 kW limit', value: 12.5, areaId: null,
      });
      for (const events of [atServer, atRegion]) {
        const event = await eventually(async () => {
          await Promise.resolve();
          return events.find((e) => String((e[1]?.value as { text?: string } | undefined)?.text).includes('12.5 kW over'));
        }, 15_000, 'alarm event');
        expect(String(event[0]?.value as unknown)).toBe(`ns=1;s=meter:${MQ_METER}`);
        expect(event[2]?.value).toBe(700);
      }
    } finally {
      await subscription.terminate();
    }
  });
});
