/** The MQTT adapter and simulator through a real Mosquitto broker (Debian `mosquitto`). */
import { describe } from 'vitest';
import { mosquittoPath, startMosquitto } from '../helpers/mosquitto.js';
import { mqttScenarios } from '../protocols/mqtt/scenarios.js';

const binary = mosquittoPath();
if (binary === null) console.log('skipping the Mosquitto scenarios: no mosquitto binary (apt-get install mosquitto)');

describe(`MQTT push path through Mosquitto (${binary ?? 'not installed'})`, () => {
  mqttScenarios(binary === null ? null : () => startMosquitto());
});
