/** The MQTT adapter and simulator through the embedded broker (aedes, in process). */
import { describe } from 'vitest';
import { startAedes } from '../helpers/aedes.js';
import { mqttScenarios } from '../protocols/mqtt/scenarios.js';

describe('MQTT push path through aedes', () => {
  mqttScenarios(() => startAedes());
});
