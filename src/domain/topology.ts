import type { AreaId, MeterId, TerminalId } from './ids.js';
import type { Protocol } from './reading.js';

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

export interface ModbusEndpoint {
  readonly host: string;
  readonly port: number;
  /** `tcp`: Modbus TCP (MBAP header); `rtu-over-tcp`: RTU frames with CRC tunnelled over TCP. */
  readonly framing: 'tcp' | 'rtu-over-tcp';
  /** Name of a register map under `modbus.registerMaps` in the configuration. */
  readonly registerMap: string;
}

export interface DlmsEndpoint {
  readonly host: string;
  readonly port: number;
  /** `wrapper`: IEC 62056-47 TCP wrapper; `hdlc`: IEC 62056-46 HDLC frames over TCP. */
  readonly framing: 'wrapper' | 'hdlc';
  /** Client SAP: 16 public client (no security), 1 management client (low-level security), 48 HLS management client. */
  readonly clientSap: number;
  /** 'low': LLS with the meter's password, 'high-gmac': HLS mechanism 5; both from the key store. */
  readonly auth: 'none' | 'low' | 'high-gmac';
  /** APDU protection with security suite 0 (keys from the key store); default 'none'. */
  readonly security?: 'none' | 'auth' | 'enc' | 'auth-enc';
  /** A fresh dedicated key per association, its GET/SET/ACTION ded-ciphered (needs security 'enc' or 'auth-enc'). */
  readonly dedicatedKey?: boolean;
  /** 'general-glo': requests go as general-glo-ciphering with our system title, for meters that ask for it; default 'service-specific'. */
  readonly ciphering?: 'service-specific' | 'general-glo';
  /** The meter's system title, 16 hex digits: checked in the AARE, identifies its pushes. */
  readonly systemTitle?: string;
  /** The meter's COSEM logical device name (0.0.42.0.0.255): identifies its plain pushes. */
  readonly logicalDeviceName?: string;
  /** Key set shared by a group of meters, used when the meter has no keys of its own. */
  readonly keyGroup?: string;
  /** HDLC lower (physical device) address, when the meter needs one. */
  readonly serverLower?: number;
  /** Meters of one type share an object list, read once per type. */
  readonly meterType?: string;
}

/** An MQTT terminal pushes; it needs no endpoint beyond its id, which is its topic segment. */
export type MqttEndpoint = Readonly<Record<string, never>>;

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
