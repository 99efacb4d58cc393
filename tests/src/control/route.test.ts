/**
 * A command's way to its terminal: through the collector's lane, or over the adapter's push
 * channel when the adapter declares commandsOverPush (one session, always closed), and
 * every state read back handed to onState whichever way it went. The lanes and the adapter
 * are stand-ins here; tests/integration/commands.test.ts drives both ways through the station.
 */
import { describe, expect, it } from 'vitest';
import { PaymentMeteringUnsupported, type DeviceControlState, type MeterAccountState, type TerminalSession, type TransportAdapter } from '../../../protocols/adapter.js';
import type { StationCommand } from '../../../src/control/commandModel.js';
import { commandRoute } from '../../../src/control/route.js';

const PROTOCOLS = { 'dlms-1': 'dlms', 'mqtt-1': 'mqtt' } as const;
const PLAIN_SESSION: TerminalSession = { read: () => Promise.resolve([]), close: () => Promise.resolve() };
const AMOUNT = { raw: 100, scale: -2, value: 1, currency: 'CNY' };
const ACCOUNT: MeterAccountState = {
  account: '0.0.19.0.0.255', mode: 'prepayment', status: 'active', unit: 'monetary', availableCredit: AMOUNT, amountToClear: AMOUNT,
  aggregatedDebt: AMOUNT, lowCreditThreshold: AMOUNT, creditStatus: [], credits: [], charges: [],
};

function rig(execute: (c: StationCommand) => Promise<DeviceControlState>, laneSession: TerminalSession = PLAIN_SESSION) {
  const log: string[] = [];
  const lanes = {
    executeNow: (terminalId: string, c: StationCommand): Promise<DeviceControlState> => {
      log.push(`lane ${terminalId} ${c.type}`);
      return Promise.resolve({ connected: c.type === 'reconnect' });
    },
    sessionNow: <T>(terminalId: string, what: string, work: (session: TerminalSession, signal: AbortSignal) => Promise<T>): Promise<T> => {
      log.push(`lane session ${terminalId} ${what}`);
      return work(laneSession, new AbortController().signal);
    },
  };
  const mqtt: TransportAdapter = {
    protocol: 'mqtt',
    capabilities: { pollable: false, commandsOverPush: true },
    open: (t) => {
      log.push(`open ${t.id}`);
      const session: TerminalSession = {
        read: () => Promise.resolve([]),
        execute: (c) => { log.push(`push ${t.id} ${c.type}`); return execute(c); },
        close: () => { log.push(`close ${t.id}`); return Promise.resolve(); },
      };
      return Promise.resolve(session);
    },
    close: () => Promise.resolve(),
  };
  const states: string[] = [];
  const run = commandRoute({
    lanes, protocolOf: (id) => (id in PROTOCOLS ? PROTOCOLS[id as keyof typeof PROTOCOLS] : undefined), adapters: { mqtt },
    onState: (t, c, s) => { states.push(`${t} ${c.type} ${String(s.connected)}`); },
  });
  const options = { timeoutMs: 1_000, signal: new AbortController().signal };
  return { run, log, states, options };
}

describe('command route', () => {
  it('sends a polled terminal\'s command through its lane and a push-only terminal\'s over its push channel', async () => {
    const { run, log, states, options } = rig(() => Promise.resolve({ connected: false }));
    expect(await run('dlms-1', { type: 'reconnect', address: '1' }, options)).toEqual({ connected: true });
    expect(await run('mqtt-1', { type: 'disconnect', address: '1' }, options)).toEqual({ connected: false });
    expect(log).toEqual(['lane dlms-1 reconnect', 'open mqtt-1', 'push mqtt-1 disconnect', 'close mqtt-1']);
    expect(states).toEqual(['dlms-1 reconnect true', 'mqtt-1 disconnect false']);
  });

  it('follows the adapter\'s commandsOverPush capability, not the protocol\'s name', async () => {
    const log: string[] = [];
    const adapter = (protocol: 'dlms' | 'mqtt', commandsOverPush: boolean): TransportAdapter => ({
      protocol,
      capabilities: { pollable: !commandsOverPush, commandsOverPush },
      open: (t) => Promise.resolve<TerminalSession>({
        read: () => Promise.resolve([]),
        execute: (c) => { log.push(`push ${t.id} ${c.type}`); return Promise.resolve({ connected: false }); },
        close: () => Promise.resolve(),
      }),
      close: () => Promise.resolve(),
    });
    const run = commandRoute({
      lanes: {
        executeNow: (t, c) => { log.push(`lane ${t} ${c.type}`); return Promise.resolve({ connected: false }); },
        sessionNow: () => Promise.reject(new Error('not used')),
      },
      protocolOf: (id) => (id in PROTOCOLS ? PROTOCOLS[id as keyof typeof PROTOCOLS] : undefined),
      adapters: { dlms: adapter('dlms', true), mqtt: adapter('mqtt', false) },
    });
    const options = { timeoutMs: 1_000, signal: new AbortController().signal };
    await run('dlms-1', { type: 'disconnect', address: '1' }, options);
    await run('mqtt-1', { type: 'disconnect', address: '1' }, options);
    expect(log).toEqual(['push dlms-1 disconnect', 'lane mqtt-1 disconnect']);
  });

  it('leaves an unknown terminal to the lane, which refuses it', async () => {
    const { run, log } = rig(() => Promise.resolve({}));
    await run('nowhere', { type: 'disconnect', address: '1' }, { timeoutMs: 1_000, signal: new AbortController().signal });
    expect(log).toEqual(['lane nowhere disconnect']);
  });

  it('closes the push session when the device fails, reports no state, and passes the error on', async () => {
    const { run, log, states, options } = rig(() => Promise.reject(new Error('no answer on the command topic')));
    await expect(run('mqtt-1', { type: 'disconnect', address: '1' }, options)).rejects.toThrow('no answer on the command topic');
    expect(log).toEqual(['open mqtt-1', 'push mqtt-1 disconnect', 'close mqtt-1']);
    expect(states).toEqual([]);
  });

  it('takes an account command to the session\'s payment capability on the lane, and refuses it where the session has none', async () => {
    const payment = {
      readAccount: () => Promise.resolve(ACCOUNT),
      addCredit: () => Promise.resolve({ before: ACCOUNT, after: { ...ACCOUNT, availableCredit: { ...AMOUNT, raw: 600, value: 6 } } }),
    };
    const { run, log } = rig(() => Promise.resolve({}), { ...PLAIN_SESSION, payment });
    const options = { timeoutMs: 1_000, signal: new AbortController().signal };
    expect(await run('dlms-1', { type: 'read-account', address: '1' }, options)).toEqual({ account: ACCOUNT });
    const topUp = { address: '1', units: 500, exponent: -2, currency: 'CNY' };
    expect(await run('dlms-1', { type: 'add-credit', address: '1', topUp }, options)).toMatchObject({ account: { availableCredit: { raw: 600 } }, availableCreditBefore: AMOUNT });
    expect(log).toEqual(['lane session dlms-1 read-account of the meter at 1', 'lane session dlms-1 add-credit of the meter at 1']);

    const plain = rig(() => Promise.resolve({}));
    await expect(plain.run('dlms-1', { type: 'read-account', address: '1' }, options)).rejects.toBeInstanceOf(PaymentMeteringUnsupported);
    // A push-only terminal's session is opened, asked and closed the same way.
    await expect(plain.run('mqtt-1', { type: 'read-account', address: '1' }, options)).rejects.toMatchObject({ code: 'PAYMENT_METERING_UNSUPPORTED' });
    expect(plain.log).toEqual(['lane session dlms-1 read-account of the meter at 1', 'open mqtt-1', 'close mqtt-1']);
  });
});
