/**
 * Measurement objects: the Registers (IC 3), the Demand register (IC 5), the maximum demand
 * Extended register (IC 4), and the Data objects (IC 1) naming the device (logical device name,
 * serial number, model, hardware version).
 *
 * Maximum demand 1.0.1.6.0.255 is an Extended register, as IDIS and DSMR meters have it: a
 * maximum needs the time it occurred (capture_time), which IC 3 lacks, and IC 5 is for the
 * running average (1.0.1.4.0.255 here), not for a maximum.
 */
import { INTERFACE_CLASSES } from '../../../protocols/dlms/cosem/classes.js';
import { dateTimeOctets, enumOf, int8, octets, structure, u16, u32, u8, visible } from '../cosemData.js';
import { ok, type CosemObjectDef } from '../cosemObject.js';
import type { MeterSimulation } from '../meterSimulation.js';
import { LN } from '../meterObis.js';
import { encodeRaw, UNIT } from '../registerTable.js';

export interface DeviceIdentity {
  /** COSEM logical device name (0.0.42.0.0.255), at most 16 octets. */
  readonly logicalDeviceName: string;
  readonly serialNumber: string;
  /** Nameplate model (0.0.96.1.1.255) and hardware version (0.0.96.1.2.255). */
  readonly model: string;
  readonly hardwareVersion: string;
}

export function measurementObjects(sim: MeterSimulation, id: DeviceIdentity): CosemObjectDef[] {
  const { data, register, extendedRegister, demandRegister } = INTERFACE_CLASSES;
  const dev = (): number => sim.clock.deviationMinutes;
  const d = sim.demand;
  const wScalerUnit = structure(int8(0), enumOf(UNIT.W));
  const registers: CosemObjectDef[] = sim.registers.map((spec) => ({
    classId: register.classId,
    logicalName: spec.logicalName,
    attributes: {
      2: { read: () => ok(encodeRaw(spec.type, spec.raw(sim.reading()))) },
      3: { read: () => ok(structure(int8(spec.scaler), enumOf(spec.unit))) },
    },
  }));
  return [
    {
      classId: data.classId, logicalName: LN.logicalDeviceName,
      attributes: { 2: { read: () => ok(octets(new TextEncoder().encode(id.logicalDeviceName.slice(0, 16)))) } },
    },
    { classId: data.classId, logicalName: LN.serialNumber, attributes: { 2: { read: () => ok(visible(id.serialNumber)) } } },
    { classId: data.classId, logicalName: LN.model, attributes: { 2: { read: () => ok(visible(id.model)) } } },
    { classId: data.classId, logicalName: LN.hardwareVersion, attributes: { 2: { read: () => ok(visible(id.hardwareVersion)) } } },
    { classId: data.classId, logicalName: LN.amrProfileStatus, attributes: { 2: { read: () => ok(u8(sim.amrStatus)) } } },
    ...registers,
    {
      classId: demandRegister.classId, logicalName: LN.demandRegister,
      attributes: {
        // Blue Book IC 5: current_average_value = energy since start_time_current / period.
        2: { read: () => ok(u32((sim.reading().energies.activeImport - d.energyAtStart) / 0.25)) },
        3: { read: () => ok(u32(d.lastAverageW)) },
        4: { read: () => ok(wScalerUnit) },
        5: { read: () => ok(u8(0)) },
        6: { read: () => ok(dateTimeOctets(d.captureReading, dev())) },
        7: { read: () => ok(dateTimeOctets(d.startReading, dev())) },
        8: { read: () => ok(u32(900)) },
        9: { read: () => ok(u16(1)) },
      },
    },
    {
      classId: extendedRegister.classId, logicalName: LN.maximumDemand,
      attributes: {
        2: { read: () => ok(u32(d.maxW)) },
        3: { read: () => ok(wScalerUnit) },
        4: { read: () => ok(u8(0)) },
        5: { read: () => ok(dateTimeOctets(d.maxReading, dev())) },
      },
    },
  ];
}
