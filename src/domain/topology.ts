import type { DlmsEndpoint } from '../../protocols/dlms/config.js';
import type { ModbusEndpoint } from '../../protocols/modbus/config.js';
import type { MqttEndpoint } from '../../protocols/mqtt/config.js';
import type { AreaId, MeterId, TerminalId } from './ids.js';
import type { Protocol } from './reading.js';

// Each protocol owns its endpoint schema and type (protocols/<proto>/config.ts); a terminal has one of them.
export type { DlmsEndpoint };

/** Area levels, top to bottom: region → substation → feeder → transformer area (台区). */
export type AreaKind = 'region' | 'substation' | 'feeder' | 'transformer';

export const AREA_LEVEL: Readonly<Record<AreaKind, number>> = {
  region: 0,
  substation: 1,
  feeder: 2,
  transformer: 3,
};

export interface Area {
  readonly id: AreaId;
  readonly name: string;
  readonly kind: AreaKind;
  readonly parentId: AreaId | null;
  /** Rated capacity of the distribution transformer, kVA; only for `transformer` areas. */
  readonly transformerKva: number | null;
}

export type TerminalEndpoint =
  | { readonly protocol: 'modbus'; readonly modbus: ModbusEndpoint }
  | { readonly protocol: 'mqtt'; readonly mqtt: MqttEndpoint }
  | { readonly protocol: 'dlms'; readonly dlms: DlmsEndpoint };

export interface TerminalBase {
  readonly id: TerminalId;
  readonly name: string;
  readonly protocol: Protocol;
  readonly enabled: boolean;
  /** Names of collection profiles (under `collect.profiles`) that poll this terminal. */
  readonly profiles: readonly string[];
}

export type Terminal = TerminalBase & TerminalEndpoint;

/** A measurement point: one meter behind one terminal. */
export interface Meter {
  readonly id: MeterId;
  readonly name: string;
  readonly terminalId: TerminalId;
  /** The meter's address on its terminal: Modbus unit id, MQTT meter key, DLMS server address. */
  readonly address: string;
  /** Current transformer ratio, primary over secondary: 1 when the meter is connected directly. */
  readonly ctRatio: number;
  /** Voltage transformer ratio, primary over secondary: 1 when the meter is connected directly. */
  readonly ptRatio: number;
  /** Reference voltage Un at the meter's terminals, V phase to neutral; absent: `ingest.plausibility.nominalVoltage`. */
  readonly nominalVoltage?: number;
  /** Maximum current Imax at the meter's terminals, A; absent: `ingest.plausibility.maxCurrent`. */
  readonly maxCurrent?: number;
  readonly areaId: AreaId | null;
  /** 保电: never tripped by an automatic program. */
  readonly protected: boolean;
  readonly customerRef: string | null;
  readonly accountRef: string | null;
}

/**
 * Sane ranges of a meter's transformer ratios and ratings. Readings are scaled by the ratios
 * and bounded by the ratings, so a typo here (a ratio of 1e308) would turn every reading of
 * the meter into nonsense; both the API and the registry refuse values outside these.
 */
export const METER_LIMITS = {
  /** CT and PT ratios: a step-down transformer never has a ratio below 1; 100,000 covers 100 kA / 1 A. */
  ratio: { min: 1, max: 100_000 },
  /** V: from an extra-low-voltage secondary to a primary-side voltage declared on a meter read with ratio 1. */
  nominalVoltage: { min: 1, max: 1_000_000 },
  /** A: from a 1 A CT secondary's fraction to a primary-side current declared on a meter read with ratio 1. */
  maxCurrent: { min: 0.01, max: 100_000 },
} as const;
