/**
 * What the simulated fleet tells the station it runs: areas, terminals and meters in the shape
 * of the station's registry seed (`registry:` in the configuration), with each terminal's
 * endpoint in its protocol's own type. The fleet declares the shape it produces and imports
 * nothing from the station; the composition root hands it to the registry, and the compiler
 * checks there that the station accepts it.
 */
import type { DlmsEndpoint } from '../protocols/dlms/config.js';
import type { ModbusEndpoint } from '../protocols/modbus/config.js';

/** A transformer area the fleet's meters are spread over, when the station has none of that id. */
export interface SimulatedArea {
  readonly id: string;
  readonly name: string;
  readonly kind: 'transformer';
  /** Rated capacity of the area's transformer, kVA. */
  readonly transformerKva: number;
}

export interface SimulatedTerminal {
  readonly id: string;
  readonly name: string;
  readonly protocol: 'modbus' | 'mqtt' | 'dlms';
  readonly enabled: boolean;
  /** Collection profiles (`collect.profiles`) that poll the terminal. */
  readonly profiles: string[];
  /** The endpoint of a Modbus terminal, or of a DLMS meter; an MQTT terminal has none. */
  readonly modbus?: ModbusEndpoint;
  readonly dlms?: DlmsEndpoint;
}

export interface SimulatedMeter {
  readonly id: string;
  readonly name: string;
  readonly terminalId: string;
  /** Modbus unit id, MQTT meter key or DLMS server address on the terminal. */
  readonly address: string;
  readonly ctRatio: number;
  readonly ptRatio: number;
  readonly nominalVoltage: number;
  readonly maxCurrent: number;
  readonly areaId?: string;
  readonly protected: boolean;
  readonly customerRef: string;
  readonly accountRef: string;
}

export interface FleetSeed {
  readonly areas: readonly SimulatedArea[];
  readonly terminals: readonly SimulatedTerminal[];
  readonly meters: readonly SimulatedMeter[];
}
