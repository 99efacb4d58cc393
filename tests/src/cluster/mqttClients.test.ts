import { describe, expect, it } from 'vitest';
import { nodeMqttClients } from '../../../src/cluster/mqttClients.js';

describe('node MQTT clients', () => {
  it('keeps the station\'s one telemetry session in single and active-standby mode, with a feed and a command client of its own only with peers', () => {
    expect(nodeMqttClients('gridhead-headend', { id: 'n1', mode: 'single' }, 'gridhead')).toEqual({ telemetry: { clientId: 'gridhead-headend' }, feedClientId: undefined });
    expect(nodeMqttClients('gridhead-headend', { id: 'n1', mode: 'active-standby' }, 'gridhead')).toEqual({
      telemetry: { clientId: 'gridhead-headend', commandClientId: 'gridhead-headend-n1-cmd' }, feedClientId: 'gridhead-headend-n1-feed',
    });
  });

  it('gives every sharded node its own session in the shared group and a command client id the others do not share', () => {
    const a = nodeMqttClients('gridhead-headend', { id: 'node-a', mode: 'sharded' }, 'grid');
    const b = nodeMqttClients('gridhead-headend', { id: 'node-b', mode: 'sharded' }, 'grid');
    expect(a).toEqual({ telemetry: { clientId: 'gridhead-headend-node-a', shareGroup: 'grid', commandClientId: 'gridhead-headend-node-a-cmd' }, feedClientId: 'gridhead-headend-node-a-feed' });
    const ids = [a, b].flatMap((c) => [c.telemetry.clientId, c.telemetry.commandClientId, c.feedClientId]);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
