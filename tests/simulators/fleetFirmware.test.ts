/** The fleet's `simulators.dlms.firmware`: nameplate and firmware per meter group, image transfer on by default, groups checked at start. */
import { describe, expect, it } from 'vitest';
import type { DlmsData } from '../../protocols/dlms/axdr/data.js';
import { parseObis } from '../../protocols/dlms/cosem/obis.js';
import { ConfigError, loadConfigFile } from '../../src/config/load.js';
import type { SimulatedFirmwareConfig } from '../../simulators/config.js';
import type { SimulatedDlmsMeter } from '../../simulators/dlms/meterObjects.js';
import { startFleet } from '../../simulators/fleet.js';
import { simulatorConfig } from './scenarios/fleetFixture.js';

const options = { mqttUrl: 'mqtt://127.0.0.1:1', topicPrefix: 'fw/v1', scenarioTickMs: 0 };

function read(meter: SimulatedDlmsMeter | undefined, classId: number, obis: string, attributeId: number): DlmsData | string {
  if (meter === undefined) throw new Error('no such meter');
  const r = meter.get({ classId, instanceId: parseObis(obis), attributeId }, undefined, { clientSap: 1, authenticated: 'low', now: Date.now() });
  return r.ok ? r.data : r.result;
}
const visible = (value: string): DlmsData => ({ type: 'visible-string', value });
const octets = (text: string): DlmsData => ({ type: 'octet-string', value: new TextEncoder().encode(text) });

async function fleetWith(firmware: SimulatedFirmwareConfig | undefined) {
  return startFleet({ ...simulatorConfig({ dlms: 3, scenarios: [] }), dlms: { ...simulatorConfig({ dlms: 3, scenarios: [] }).dlms, firmware } }, options);
}

describe('simulated fleet firmware', () => {
  it('gives every DLMS meter image transfer with the simulator defaults when the section is absent', async () => {
    const fleet = await fleetWith(undefined);
    try {
      for (const s of fleet.dlms) {
        expect(read(s.meter, 18, '0.0.44.0.0.255', 2)).toEqual({ type: 'double-long-unsigned', value: 192 });
        expect(read(s.meter, 1, '1.0.0.2.0.255', 2)).toEqual(octets('GRD-FW-1.0.0'));
        expect(read(s.meter, 1, '0.0.96.1.1.255', 2)).toEqual(visible('GRD-SIM-3P'));
      }
    } finally {
      await fleet.stop();
    }
  });

  it('sets version, model and hardware version per group over the section’s own, and leaves image transfer out when asked', async () => {
    const fleet = await fleetWith({
      imageTransfer: true, version: 'FW-A', model: 'M-1', hardwareVersion: 'HW-9', blockSize: 128,
      groups: [{ meters: ['sim-dl-02-1'], version: 'FW-B' }, { meters: ['sim-dl-03-1', 'sim-dl-02-1'], model: 'M-2', hardwareVersion: 'HW-3' }],
    });
    try {
      const [m1, m2, m3] = fleet.dlms.map((s) => s.meter);
      expect(read(m1, 1, '1.0.0.2.0.255', 2)).toEqual(octets('FW-A'));
      expect(read(m2, 1, '1.0.0.2.0.255', 2)).toEqual(octets('FW-B'));
      // A meter in two groups takes the first.
      expect(read(m2, 1, '0.0.96.1.1.255', 2)).toEqual(visible('M-1'));
      expect(read(m3, 1, '1.0.0.2.0.255', 2)).toEqual(octets('FW-A'));
      expect(read(m3, 1, '0.0.96.1.1.255', 2)).toEqual(visible('M-2'));
      expect(read(m3, 1, '0.0.96.1.2.255', 2)).toEqual(visible('HW-3'));
      expect(read(m1, 1, '0.0.96.1.2.255', 2)).toEqual(visible('HW-9'));
      expect(read(m1, 18, '0.0.44.0.0.255', 2)).toEqual({ type: 'double-long-unsigned', value: 128 });
    } finally {
      await fleet.stop();
    }
    const without = await fleetWith({ imageTransfer: false, version: 'FW-A', groups: [] });
    try {
      expect(read(without.dlms[0]?.meter, 18, '0.0.44.0.0.255', 2)).toBe('object-undefined');
      expect(read(without.dlms[0]?.meter, 1, '1.0.0.2.0.255', 2)).toEqual(octets('FW-A'));
    } finally {
      await without.stop();
    }
  });

  it('refuses a group naming a meter the fleet does not have', async () => {
    const err = await fleetWith({ imageTransfer: true, groups: [{ meters: ['sim-dl-01-1', 'sim-dl-09-1'], version: 'X' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([{ path: 'simulators.dlms.firmware.groups[0].meters[1]', message: 'no simulated DLMS meter "sim-dl-09-1"' }]);
  });

  it('reads the demo configuration’s firmware section with its group', () => {
    const config = loadConfigFile('config/default.yaml', {});
    expect(config.simulators.dlms.firmware).toMatchObject({ imageTransfer: true, version: 'GRD-FW-1.0.0', groups: [{ meters: ['sim-dl-03-1', 'sim-dl-04-1'], hardwareVersion: 'HW-1.1' }] });
  });
});
