/**
 * A command's way to its terminal: through the collector's lane, or over the adapter's push
 * channel when the adapter declares commandsOverPush (one session, always closed), and
 * every state read back handed to onState whichever way it went. The lanes and the adapter
 * are stand-ins here; tests/integration/commands.test.ts drives both ways through the station.
 */
import { describe, expect, it } from 'vitest';
import type { DeviceCommand, DeviceControlState, TerminalSession, TransportAdapter } from '../../../protocols/adapter.js';
import { commandRoute } from '../../../src/control/route.js';

const PROTOCOLS = { 'dlms-1': 'dlms', 'mqtt-1': 'mqtt' } as const;

function rig(execute: (c: DeviceCommand) => Promise<DeviceControlState>) {
  const log: string[] = [];
  const lanes = {
    executeNow: (terminalId: string, c: DeviceCommand): Promise<DeviceControlState> => {
      log.push(`lane ${terminalId} ${c.type}`);
      return Promise.resolve({ connected: c.type === 'reconnect' });
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
      lanes: { executeNow: (t, c) => { log.push(`lane ${t} ${c.type}`); return Promise.resolve({ connected: false }); } },
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
});
