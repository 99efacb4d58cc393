/**
 * Adapter `execute` for every command on every protocol, against the simulators over real
 * sockets: the command's effect is checked in the simulated device itself, not only in what
 * the adapter read back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceCommand, TerminalSession } from '../../protocols/adapter.js';
import { DlmsAdapter } from '../../protocols/dlms/adapter.js';
import { DlmsLimiterUnitError } from '../../protocols/dlms/deviceControl.js';
import { ModbusAdapter } from '../../protocols/modbus/adapter.js';
import { UnmappedControlError } from '../../protocols/modbus/errors.js';
import type { RegisterMapSpec } from '../../protocols/modbus/config.js';
import { MqttAdapter } from '../../protocols/mqtt/adapter.js';
import { UnsupportedOperationError } from '../../protocols/mqtt/errors.js';
import { QUANTITIES } from '../../src/domain/index.js';
import { DlmsMeterSimulator, MANAGEMENT_CLIENT } from '../../simulators/dlms/server.js';
import { THRESHOLD_MAX } from '../../simulators/dlms/limiter.js';
import { NO_LIMIT_W } from '../../simulators/modbus/meterControls.js';
import { ModbusTerminalSimulator } from '../../simulators/modbus/terminal.js';
import { THREE_PHASE_METER_MAP, THREE_PHASE_METER_MAP_NAME } from '../../simulators/modbus/threePhaseMeterMap.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const signal = () => AbortSignal.timeout(5_000);

async function dlmsSession(clock?: () => number) {
  const sim = new DlmsMeterSimulator({
    framing: 'wrapper', seed: 5, serialNumber: '00000005', password: 'secret01', historyDays: 0, customerType: 'commercial',
    ...(clock === undefined ? {} : { clock, startTs: clock() }),
  });
  await sim.start();
  cleanups.push(() => sim.stop());
  const adapter = new DlmsAdapter({ catalogue: QUANTITIES, timeoutMs: 3_000, passwordFor: () => 'secret01' });
  cleanups.push(() => adapter.close());
  const session = await adapter.open({
    id: 'dlms-1', endpoint: { host: '127.0.0.1', port: sim.port, framing: 'wrapper', clientSap: MANAGEMENT_CLIENT, auth: 'low' },
  }, signal());
  return { sim, session: withExecute(session) };
}

async function modbusSession(map: RegisterMapSpec = THREE_PHASE_METER_MAP, options: { clock?: () => number; limitTripAfterMs?: number } = {}) {
  const sim = new ModbusTerminalSimulator({ meters: 2, seed: 3, ...options });
  const { port } = await sim.start();
  cleanups.push(() => sim.stop());
  const adapter = new ModbusAdapter({ requestTimeoutMs: 2_000, reconnectMinMs: 100, reconnectMaxMs: 1_000, registerMaps: { [THREE_PHASE_METER_MAP_NAME]: map } });
  cleanups.push(() => adapter.close());
  const session = await adapter.open({ id: 'mb-1', endpoint: { host: '127.0.0.1', port, framing: 'tcp', registerMap: THREE_PHASE_METER_MAP_NAME } }, signal());
  return { sim, session: withExecute(session) };
}

function withExecute(s: TerminalSession): TerminalSession & Required<Pick<TerminalSession, 'execute'>> {
  const execute = s.execute?.bind(s);
  if (execute === undefined) throw new Error('the session cannot execute commands');
  return Object.assign(s, { execute });
}

describe('DLMS session execute', () => {
  it('disconnects and reconnects through IC 70, the meter relay following, its load dropping to 0 while open', async () => {
    const { sim, session } = await dlmsSession();
    const meter = sim.meter.simulation;
    expect(await session.execute({ type: 'disconnect', address: '1' }, signal())).toEqual({ connected: false });
    expect(meter.outputState).toBe(false);
    expect(meter.reading().activeW).toBe(0);
    const [power] = await session.read([{ address: '1', quantity: 'power.active' }], signal());
    expect(power?.ok && power.reading.value).toBe(0);
    expect(await session.execute({ type: 'reconnect', address: '1' }, signal())).toEqual({ connected: true });
    expect(meter.outputState).toBe(true);
    expect(meter.reading().activeW).toBeGreaterThan(0);
  });

  it('sets threshold_active in the limiter raw unit (W, scaler 0) and clears it to the type maximum', async () => {
    const { sim, session } = await dlmsSession();
    const limiter = sim.meter.simulation.limiter;
    expect(await session.execute({ type: 'set-limit', address: '1', limitKw: 12.5 }, signal())).toEqual({ limitKw: 12.5 });
    expect(limiter.thresholdActive).toBe(12_500);
    expect(await session.execute({ type: 'clear-limit', address: '1' }, signal())).toEqual({ limitKw: null });
    expect(limiter.thresholdActive).toBe(THRESHOLD_MAX);
  });

  it('sets the meter clock and reads it back', async () => {
    let now = Date.UTC(2024, 2, 1, 12, 0, 0);
    const { sim, session } = await dlmsSession(() => now);
    now += 1_000;
    const target = Date.UTC(2024, 2, 1, 12, 5, 0);
    const state = await session.execute({ type: 'sync-clock', address: '1', time: target }, signal());
    expect(state.clock).toBe(target);
    expect(sim.meter.simulation.clock.reading(now)).toBe(target);
  });

  it('exports the limiter unit error for a limiter it cannot express in kW', () => {
    expect(new DlmsLimiterUnitError('x', 't').code).toBe('DLMS_LIMITER_UNIT');
  });
});

describe('Modbus session execute', () => {
  it('switches the relay coil and reads it back; a disconnected meter serves zero power and current', async () => {
    const { sim, session } = await modbusSession();
    expect(await session.execute({ type: 'disconnect', address: '1' }, signal())).toEqual({ connected: false });
    expect(sim.controlsOf(1).connected).toBe(false);
    expect(sim.controlsOf(2).connected).toBe(true);
    const read = await session.read(['power.active', 'current.l1', 'voltage.l1'].map((quantity) => ({ address: '1', quantity })), signal());
    expect(read.map((o) => (o.ok ? o.reading.value : NaN)).slice(0, 2)).toEqual([0, 0]);
    expect(read[2]?.ok && read[2].reading.value).toBeGreaterThan(200);
    expect(await session.execute({ type: 'reconnect', address: '1' }, signal())).toEqual({ connected: true });
    const [power] = await session.read([{ address: '1', quantity: 'power.active' }], signal());
    expect(power?.ok && power.reading.value).toBeGreaterThan(0);
  });

  it('writes the limit register in W and clears it to the no-limit value', async () => {
    const { sim, session } = await modbusSession();
    expect(await session.execute({ type: 'set-limit', address: '2', limitKw: 7.25 }, signal())).toEqual({ limitKw: 7.25 });
    expect(sim.controlsOf(2).limitW).toBe(7_250);
    expect(await session.execute({ type: 'clear-limit', address: '2' }, signal())).toEqual({ limitKw: null });
    expect(sim.controlsOf(2).limitW).toBe(NO_LIMIT_W);
  });

  it('drives a relay kept in a holding register', async () => {
    const map: RegisterMapSpec = { ...THREE_PHASE_METER_MAP, controls: { relay: { register: 512, connected: 7, disconnected: 3 } } };
    const { session } = await modbusSession(map);
    // The simulated meter holds its limit there, so writing 3 reads back 3 (its low word).
    await expect(session.execute({ type: 'disconnect', address: '1' }, signal())).rejects.toThrow(/neither the connected nor the disconnected value|exception/);
  });

  it('refuses a command the register map has no control for', async () => {
    const { points, function: fn, maxGap } = THREE_PHASE_METER_MAP;
    const { session } = await modbusSession({ function: fn, maxGap, points });
    await expect(session.execute({ type: 'disconnect', address: '1' }, signal())).rejects.toBeInstanceOf(UnmappedControlError);
    const sync: DeviceCommand = { type: 'sync-clock', address: '1', time: 0 };
    await expect(session.execute(sync, signal())).rejects.toBeInstanceOf(UnmappedControlError);
  });

  it('trips the relay when the power stays over the limit register for the trip delay', async () => {
    let now = Date.UTC(2024, 5, 12, 10, 0, 0);
    const { sim, session } = await modbusSession(THREE_PHASE_METER_MAP, { clock: () => now, limitTripAfterMs: 5_000 });
    await session.execute({ type: 'set-limit', address: '1', limitKw: 0.001 }, signal());
    now += 4_000;
    await session.read([{ address: '1', quantity: 'power.active' }], signal());
    expect(sim.controlsOf(1).connected).toBe(true);
    now += 1_000;
    const [power] = await session.read([{ address: '1', quantity: 'power.active' }], signal());
    expect(sim.controlsOf(1).connected).toBe(false);
    expect(sim.controlsOf(1).trips).toBe(1);
    expect(power?.ok && power.reading.value).toBe(0);
  });
});

describe('MQTT adapter', () => {
  it('cannot read on demand: a session answers reads with UNSUPPORTED_OPERATION', async () => {
    const adapter = new MqttAdapter({
      url: 'mqtt://127.0.0.1:1', clientId: 't', topicPrefix: 'gridhead/v1', deadLetterTopic: 'gridhead/v1/_dl', maxPayloadBytes: 4096, maxReadingsPerMessage: 10, acceptQuantity: () => true,
    });
    cleanups.push(() => adapter.close());
    const session = await adapter.open({ id: 'mq-1', endpoint: {} }, signal());
    const [outcome] = await session.read([{ address: '1', quantity: 'power.active' }], signal());
    expect(outcome?.ok === false && outcome.error).toBeInstanceOf(UnsupportedOperationError);
  });
});
