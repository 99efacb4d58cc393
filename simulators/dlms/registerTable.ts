/**
 * The simulated meter's measurements as COSEM Registers (IC 3): OBIS code, type, scaler and
 * unit (Blue Book unit enumeration), and how each raw value follows from the meter's state.
 * A Register reads as value × 10^scaler unit, so voltage 2301 with scaler −1 is 230.1 V.
 *
 * Types follow common companion specifications (IDIS, DSMR): "+" quantities (C = 1, 3, 21,
 * 41, 61: import, never negative) are double-long-unsigned; power factor, which can be
 * negative in general, is long.
 */
import type { DlmsData } from '../../protocols/dlms/axdr/data.js';
import { parseObis } from '../../protocols/dlms/cosem/obis.js';
import type { Energies } from './energyIntegrator.js';
import { int16, u16, u32 } from './cosemData.js';

/** What the registers are computed from, at one instant. */
export interface MeterReading {
  readonly energies: Energies;
  readonly activeW: number;
  readonly activeWL: readonly [number, number, number];
  readonly reactiveVar: number;
  readonly voltage: readonly [number, number, number];
  readonly current: readonly [number, number, number];
  readonly powerFactor: number;
  readonly frequencyHz: number;
}

export type RegisterType = 'double-long-unsigned' | 'long-unsigned' | 'long';

export interface RegisterSpec {
  readonly logicalName: Uint8Array;
  readonly type: RegisterType;
  readonly scaler: number;
  /** Blue Book unit code: 27 W, 29 var, 30 Wh, 32 varh, 33 A, 35 V, 44 Hz, 255 count. */
  readonly unit: number;
  /** The raw value (already divided by 10^scaler and made an integer). */
  readonly raw: (r: MeterReading) => number;
}

export const UNIT = { W: 27, var: 29, Wh: 30, varh: 32, A: 33, V: 35, Hz: 44, count: 255 } as const;

/**
 * The registers. `energyScaler` is 0 (Wh) for small meters and 1 (10 Wh) for industrial ones,
 * so a double-long-unsigned register does not overflow within years of simulated use.
 */
export function registerSpecs(energyScaler: number): RegisterSpec[] {
  const energy = (obis: string, unit: number, pick: (e: Energies) => number): RegisterSpec => ({
    logicalName: parseObis(obis), type: 'double-long-unsigned', scaler: energyScaler, unit,
    // Floor, not round: a register never shows energy that has not been consumed yet.
    raw: (r) => Math.floor(pick(r.energies) / 10 ** energyScaler),
  });
  const reg = (obis: string, type: RegisterType, scaler: number, unit: number, value: (r: MeterReading) => number): RegisterSpec => ({
    logicalName: parseObis(obis), type, scaler, unit, raw: (r) => Math.round(value(r) / 10 ** scaler),
  });
  return [
    energy('1.0.1.8.0.255', UNIT.Wh, (e) => e.activeImport),
    ...([1, 2, 3, 4] as const).map((t) => energy(`1.0.1.8.${t}.255`, UNIT.Wh, (e) => e.tariff[t - 1] ?? 0)),
    energy('1.0.2.8.0.255', UNIT.Wh, (e) => e.activeExport),
    energy('1.0.3.8.0.255', UNIT.varh, (e) => e.reactiveImport),
    energy('1.0.4.8.0.255', UNIT.varh, (e) => e.reactiveExport),
    reg('1.0.1.7.0.255', 'double-long-unsigned', 0, UNIT.W, (r) => r.activeW),
    reg('1.0.21.7.0.255', 'double-long-unsigned', 0, UNIT.W, (r) => r.activeWL[0]),
    reg('1.0.41.7.0.255', 'double-long-unsigned', 0, UNIT.W, (r) => r.activeWL[1]),
    reg('1.0.61.7.0.255', 'double-long-unsigned', 0, UNIT.W, (r) => r.activeWL[2]),
    reg('1.0.3.7.0.255', 'double-long-unsigned', 0, UNIT.var, (r) => r.reactiveVar),
    reg('1.0.32.7.0.255', 'long-unsigned', -1, UNIT.V, (r) => r.voltage[0]),
    reg('1.0.52.7.0.255', 'long-unsigned', -1, UNIT.V, (r) => r.voltage[1]),
    reg('1.0.72.7.0.255', 'long-unsigned', -1, UNIT.V, (r) => r.voltage[2]),
    reg('1.0.31.7.0.255', 'long-unsigned', -2, UNIT.A, (r) => r.current[0]),
    reg('1.0.51.7.0.255', 'long-unsigned', -2, UNIT.A, (r) => r.current[1]),
    reg('1.0.71.7.0.255', 'long-unsigned', -2, UNIT.A, (r) => r.current[2]),
    reg('1.0.13.7.0.255', 'long', -3, UNIT.count, (r) => r.powerFactor),
    reg('1.0.14.7.0.255', 'long-unsigned', -2, UNIT.Hz, (r) => r.frequencyHz),
  ];
}

/** A raw value as Data of the register's type (saturating at the type's bounds). */
export function encodeRaw(type: RegisterType, raw: number): DlmsData {
  return type === 'double-long-unsigned' ? u32(raw) : type === 'long-unsigned' ? u16(raw) : int16(raw);
}
