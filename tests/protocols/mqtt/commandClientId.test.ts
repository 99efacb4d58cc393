/**
 * Several station nodes on one broker each send commands through a command client of their
 * own: with one shared id each node's connection would take the other's over (MQTT 3.1.1
 * §3.1.4), so two nodes knock each other off the broker. One station keeps its 23-character id.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MqttAdapter } from '../../../protocols/mqtt/adapter.js';
import { roleClientId } from '../../../protocols/mqtt/connection.js';
import { MqttTerminalSimulator } from '../../../simulators/mqtt/terminal.js';
import { isQuantity } from '../../../src/domain/quantity.js';
import { startAedes } from '../../helpers/aedes.js';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe('the MQTT command client id', () => {
  it('keeps `<19 characters>-cmd` on one station, within the 23 characters every broker accepts', () => {
    expect(roleClientId('gridhead-headend', 'cmd')).toBe('gridhead-headend-cmd');
    expect(roleClientId('a-very-long-station-client-id', 'cmd')).toBe('a-very-long-station-cmd');
    expect(roleClientId('gridhead-headend', 'sys')).toBe('gridhead-headend-sys');
  });

  it('gives each node of a cluster helper clients of its own, under the station id as a prefix', () => {
    expect(roleClientId('a-very-long-station-client-id', 'cmd', 'node-a')).toBe('a-very-long-station-node-a-cmd');
    expect(roleClientId('gridhead-headend', 'sys', 'node-b')).toBe('gridhead-headend-node-b-sys');
  });

  it('gives each node its own command client on the broker, both answered, neither taken over', async () => {
    const connects: string[] = [];
    const broker = await startAedes({
      authenticate: (client, _u, _p, done) => { connects.push(client.id); done(null, true); },
    });
    closers.push(() => broker.close());
    const terminal = new MqttTerminalSimulator({ url: broker.url, terminalId: 'T1', meters: 1, seed: 1, publishIntervalMs: 60_000 });
    await terminal.start();
    closers.push(() => terminal.stop());
    const node = (nodeId: string) => {
      const a = new MqttAdapter({
        url: broker.url, clientId: 'gridhead-headend', topicPrefix: 'gridhead/v1', deadLetterTopic: 'gridhead/v1/_deadletter', maxPayloadBytes: 4096,
        maxReadingsPerMessage: 100, acceptQuantity: isQuantity, reconnectPeriodMs: 50, commandTimeoutMs: 5_000, commandClientId: roleClientId('gridhead-headend', 'cmd', nodeId),
      });
      closers.push(() => a.close());
      return a;
    };
    const [a, b] = [node('node-a'), node('node-b')];
    const send = async (adapter: MqttAdapter, type: 'disconnect' | 'reconnect') => {
      const session = await adapter.open({ id: 'T1', endpoint: {} }, new AbortController().signal);
      try {
        return await session.execute?.({ type, address: '1' }, new AbortController().signal);
      } finally {
        await session.close();
      }
    };
    expect(await send(a, 'disconnect')).toEqual({ connected: false });
    expect(await send(b, 'reconnect')).toEqual({ connected: true });
    expect(await send(a, 'disconnect')).toEqual({ connected: false });
    const commandClients = connects.filter((id) => id.endsWith('-cmd'));
    // Each connected once: a takeover would show as a reconnect of the client knocked off.
    expect(commandClients.sort()).toEqual(['gridhead-headend-node-a-cmd', 'gridhead-headend-node-b-cmd']);
  });
});
