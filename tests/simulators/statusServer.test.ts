/**
 * The fleet's status listener over real sockets: the control operations each simulated meter
 * executed, as the head-end's adapters (DLMS, Modbus) and a raw MQTT command sent them, every
 * execution counted (a resend shows as 2), reads of the state never; and the registry seed a
 * station needs to poll the fleet.
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { DlmsAdapter } from '../../protocols/dlms/adapter.js';
import { ModbusAdapter } from '../../protocols/modbus/adapter.js';
import { commandResponseTopic, commandTopic, encodeJson } from '../../protocols/mqtt/commands.js';
import { QUANTITIES } from '../../src/domain/index.js';
import { startFleet } from '../../simulators/fleet.js';
import { THREE_PHASE_METER_MAP, THREE_PHASE_METER_MAP_NAME } from '../../simulators/modbus/threePhaseMeterMap.js';
import { startFleetStatusServer, type FleetStatus } from '../../simulators/statusServer.js';
import { startAedes } from '../helpers/aedes.js';
import { simulatorConfig } from './scenarios/fleetFixture.js';

const PREFIX = 'gridhead/v1';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const signal = () => AbortSignal.timeout(5_000);

describe('fleet status listener', () => {
  it('counts every control operation each meter executed, a resend twice, a read never, and serves the seed', async () => {
    const broker = await startAedes();
    cleanups.push(() => broker.close());
    const fleet = await startFleet(simulatorConfig({ modbus: 1, modbusMeters: 2, mqtt: 1, dlms: 1, scenarios: [] }), { mqttUrl: broker.url, topicPrefix: PREFIX });
    cleanups.push(() => fleet.stop());
    await fleet.startPublishing();
    const server = await startFleetStatusServer(() => ({ seed: fleet.seed, controls: fleet.controlCounts() }), { host: '127.0.0.1', port: 0 });
    cleanups.push(() => server.close());

    const endpoint = (id: string) => fleet.seed.terminals.find((t) => t.id === id);
    const modbus = new ModbusAdapter({ requestTimeoutMs: 2_000, reconnectMinMs: 100, reconnectMaxMs: 1_000, registerMaps: { [THREE_PHASE_METER_MAP_NAME]: THREE_PHASE_METER_MAP } });
    cleanups.push(() => modbus.close());
    const mb = await modbus.open({ id: 'sim-mb-01', endpoint: endpoint('sim-mb-01')?.modbus ?? expect.unreachable() }, signal());
    await mb.execute?.({ type: 'disconnect', address: '2' }, signal());
    await mb.execute?.({ type: 'set-limit', address: '2', limitKw: 3 }, signal());
    await mb.execute?.({ type: 'read-state', address: '2', of: 'relay' }, signal());
    await mb.close();

    const dlms = new DlmsAdapter({ catalogue: QUANTITIES, timeoutMs: 3_000, passwordFor: () => '12345678' });
    cleanups.push(() => dlms.close());
    const dl = await dlms.open({ id: 'sim-dl-01', endpoint: endpoint('sim-dl-01')?.dlms ?? expect.unreachable() }, signal());
    await dl.execute?.({ type: 'reconnect', address: '1' }, signal());
    await dl.execute?.({ type: 'clear-limit', address: '1' }, signal());
    await dl.close();

    // The same command twice, as a head-end that resends instead of reading back would: executed twice.
    const client = await mqtt.connectAsync(broker.url, { clientId: 'status-test' });
    cleanups.push(() => client.endAsync());
    await client.subscribeAsync(commandResponseTopic(PREFIX, 'sim-mq-01'), { qos: 1 });
    const answered = new Promise<void>((resolve) => {
      let n = 0;
      client.on('message', () => { if (++n === 2) resolve(); });
    });
    const command = encodeJson({ id: 'c-1', meter: '1', type: 'disconnect', params: {} });
    await client.publishAsync(commandTopic(PREFIX, 'sim-mq-01'), command, { qos: 1 });
    await client.publishAsync(commandTopic(PREFIX, 'sim-mq-01'), command, { qos: 1 });
    await answered;

    const res = await fetch(`${server.url}/status`);
    expect(res.status).toBe(200);
    const status = await res.json() as FleetStatus;
    expect(status.controls).toEqual({
      'sim-mb-01-2': { disconnect: 1, 'set-limit': 1 },
      'sim-dl-01-1': { reconnect: 1, 'clear-limit': 1 },
      'sim-mq-01-1': { disconnect: 2 },
    });
    expect(status.seed.meters.map((m) => m.id).sort()).toEqual(['sim-dl-01-1', 'sim-mb-01-1', 'sim-mb-01-2', 'sim-mq-01-1']);
    expect(status.seed.terminals.find((t) => t.id === 'sim-mb-01')?.modbus?.port).toBe(endpoint('sim-mb-01')?.modbus?.port);

    expect((await fetch(`${server.url}/other`)).status).toBe(404);
    expect((await fetch(`${server.url}/status`, { method: 'POST' })).status).toBe(405);
  });
});
