/** Scenario targets checked against the fleet at start, and the demo configuration's scenarios. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile } from '../../../src/config/load.js';
import { startFleet } from '../../../simulators/fleet.js';
import { scenario, simulatorConfig } from './fleetFixture.js';

const options = { mqttUrl: 'mqtt://127.0.0.1:1', topicPrefix: 'scn/v1', scenarioTickMs: 0 };

describe('scenario targets at fleet start', () => {
  it('rejects unknown meter and terminal ids, naming each id and its path', async () => {
    const config = simulatorConfig({
      modbus: 1, mqtt: 1,
      scenarios: [
        scenario({ kind: 'overload', meters: ['sim-mb-01-1', 'sim-mb-09-1'], factor: 2 }),
        scenario({ kind: 'outage', terminals: ['sim-dl-01'] }),
        scenario({ kind: 'clock-drift', meters: ['sim-mq-01-1'], driftSeconds: 60 }),
        scenario({ kind: 'tamper', meters: ['sim-mb-01-1'] }),
        scenario({ kind: 'tamper', terminals: ['sim-mq-01'] }),
        scenario({ kind: 'firmware-drop', meters: ['sim-mb-01-1'], atBlock: 3 }),
      ],
    });
    const err = await startFleet(config, options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([
      { path: 'simulators.scenarios[0].meters[1]', message: 'no simulated meter "sim-mb-09-1"' },
      { path: 'simulators.scenarios[1].terminals[0]', message: 'no simulated terminal "sim-dl-01"' },
      { path: 'simulators.scenarios[2].meters[0]', message: 'clock-drift needs a DLMS meter; "sim-mq-01-1" is mqtt' },
      { path: 'simulators.scenarios[3].meters[0]', message: 'tamper needs a DLMS meter (the others push no events); "sim-mb-01-1" is modbus' },
      { path: 'simulators.scenarios[4].terminals[0]', message: 'tamper needs DLMS meters; "sim-mq-01" is mqtt' },
      { path: 'simulators.scenarios[5].meters[0]', message: 'firmware-drop needs a DLMS meter with image transfer; "sim-mb-01-1" is modbus' },
    ]);
  });

  it('accepts the demo scenarios of config/default.yaml against the default fleet', async () => {
    const config = loadConfigFile('config/default.yaml', {});
    expect(config.simulators.scenarios.map((s) => s.kind).sort()).toEqual(['outage', 'overload', 'tamper', 'voltage-sag']);
    const fleet = await startFleet(config.simulators, options);
    try {
      expect(fleet.scenarios.active()).toEqual([]);
    } finally {
      await fleet.stop();
    }
  });
});
