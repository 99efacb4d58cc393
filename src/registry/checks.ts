/**
 * What makes a change to the topology valid, checked against the image it would apply to:
 * an area under a parent of a higher level and never its own ancestor, a terminal whose
 * register map and profiles are configured, a meter on an existing terminal at a free address
 * with sane ratios and ratings. The registry runs these before anything reaches the store.
 */
import { ENDPOINT_PASSWORD_REFUSED, type AreaSeed, type MeterSeed, type TerminalSeed } from '../config/schema.js';
import {
  AREA_LEVEL, ConflictError, METER_LIMITS, ValidationError, areaId, meterId, terminalId,
  type Area, type AreaId, type Meter, type Terminal,
} from '../domain/index.js';
import type { TopologyView } from './image.js';

/** The options the checks need from the configuration. */
export interface ConfiguredNames {
  /** Whether a Modbus register map of this name is configured. */
  readonly registerMapExists: (name: string) => boolean;
  /** Whether a collection profile of this name is configured. */
  readonly profileExists: (name: string) => boolean;
}

export function checkedArea(image: TopologyView, input: AreaSeed): Area {
  const area: Area = {
    id: areaId(input.id),
    name: input.name,
    kind: input.kind,
    parentId: input.parentId === undefined ? null : areaId(input.parentId),
    transformerKva: input.transformerKva ?? null,
  };
  if (area.parentId !== null) {
    const parent = image.area(area.parentId);
    if (parent === undefined) throw new ValidationError(`parent area ${JSON.stringify(area.parentId)} does not exist`, 'parentId');
    if (AREA_LEVEL[parent.kind] >= AREA_LEVEL[area.kind]) {
      throw new ValidationError(`a ${area.kind} area cannot sit under a ${parent.kind} area`, 'parentId');
    }
    if (isAncestorOrSelf(image, area.id, area.parentId)) throw new ValidationError('an area cannot be its own ancestor', 'parentId');
  }
  if (area.transformerKva !== null && area.kind !== 'transformer') {
    throw new ValidationError('transformerKva applies only to transformer areas', 'transformerKva');
  }
  for (const child of image.childAreas(area.id)) {
    if (AREA_LEVEL[child.kind] <= AREA_LEVEL[area.kind]) {
      throw new ValidationError(`child area ${JSON.stringify(child.id)} (${child.kind}) cannot sit under a ${area.kind} area`, 'kind');
    }
  }
  return area;
}

function isAncestorOrSelf(image: TopologyView, candidate: AreaId, of: AreaId): boolean {
  for (let cur: AreaId | null = of; cur !== null; cur = image.area(cur)?.parentId ?? null) {
    if (cur === candidate) return true;
  }
  return false;
}

export function checkedTerminal(image: TopologyView, input: TerminalSeed, options: ConfiguredNames): Terminal {
  const terminal = toTerminal(input);
  if (terminal.protocol === 'modbus' && !options.registerMapExists(terminal.modbus.registerMap)) {
    throw new ValidationError(`no register map ${JSON.stringify(terminal.modbus.registerMap)} is configured`, 'modbus.registerMap');
  }
  for (const p of terminal.profiles) {
    if (!options.profileExists(p)) throw new ValidationError(`no collection profile ${JSON.stringify(p)} is configured`, 'profiles');
  }
  const existing = image.terminal(terminal.id);
  if (existing !== undefined && existing.protocol !== terminal.protocol && image.hasMetersOn(terminal.id)) {
    throw new ConflictError(`terminal ${JSON.stringify(terminal.id)} has meters; its protocol cannot change`);
  }
  return terminal;
}

export function checkedMeter(image: TopologyView, input: MeterSeed): Meter {
  const meter = toMeter(input);
  if (image.terminal(meter.terminalId) === undefined) throw new ValidationError(`terminal ${JSON.stringify(meter.terminalId)} does not exist`, 'terminalId');
  if (meter.areaId !== null && image.area(meter.areaId) === undefined) throw new ValidationError(`area ${JSON.stringify(meter.areaId)} does not exist`, 'areaId');
  const holder = image.meterAt(meter.terminalId, meter.address);
  if (holder !== undefined && holder.id !== meter.id) {
    throw new ConflictError(`address ${JSON.stringify(meter.address)} on terminal ${JSON.stringify(meter.terminalId)} is taken by meter ${JSON.stringify(holder.id)}`);
  }
  return meter;
}

export function toTerminal(input: TerminalSeed): Terminal {
  const base = { id: terminalId(input.id), name: input.name ?? input.id, enabled: input.enabled, profiles: [...input.profiles] };
  if (input.protocol === 'modbus') {
    if (input.modbus === undefined) throw new ValidationError('a modbus terminal needs modbus.host, modbus.port and modbus.registerMap', 'modbus');
    return { ...base, protocol: 'modbus', modbus: { ...input.modbus } };
  }
  if (input.modbus !== undefined) throw new ValidationError(`modbus settings are not allowed on a ${input.protocol} terminal`, 'modbus');
  if (input.protocol === 'dlms') {
    if (input.dlms === undefined) throw new ValidationError('a dlms terminal needs dlms.host and dlms.port', 'dlms');
    if (input.dlms.password !== undefined) throw new ValidationError(`dlms.password is ${ENDPOINT_PASSWORD_REFUSED}`, 'dlms.password');
    return { ...base, protocol: 'dlms', dlms: withoutPassword(input.dlms) };
  }
  if (input.dlms !== undefined) throw new ValidationError(`dlms settings are not allowed on a ${input.protocol} terminal`, 'dlms');
  return { ...base, protocol: 'mqtt', mqtt: {} };
}

export function withoutPassword(endpoint: NonNullable<TerminalSeed['dlms']>): Omit<NonNullable<TerminalSeed['dlms']>, 'password'> {
  const { password: _password, ...rest } = endpoint;
  return rest;
}

function toMeter(input: MeterSeed): Meter {
  inRange(input.ctRatio, METER_LIMITS.ratio, 'ctRatio');
  inRange(input.ptRatio, METER_LIMITS.ratio, 'ptRatio');
  if (input.nominalVoltage !== undefined) inRange(input.nominalVoltage, METER_LIMITS.nominalVoltage, 'nominalVoltage');
  if (input.maxCurrent !== undefined) inRange(input.maxCurrent, METER_LIMITS.maxCurrent, 'maxCurrent');
  return {
    id: meterId(input.id),
    name: input.name ?? input.id,
    terminalId: terminalId(input.terminalId),
    address: input.address,
    ctRatio: input.ctRatio,
    ptRatio: input.ptRatio,
    ...(input.nominalVoltage === undefined ? {} : { nominalVoltage: input.nominalVoltage }),
    ...(input.maxCurrent === undefined ? {} : { maxCurrent: input.maxCurrent }),
    areaId: input.areaId === undefined ? null : areaId(input.areaId),
    protected: input.protected,
    customerRef: input.customerRef ?? null,
    accountRef: input.accountRef ?? null,
  };
}

/** Readings are scaled by the ratios and bounded by the ratings: a value beyond sane ranges would make them meaningless. */
function inRange(value: number, range: { readonly min: number; readonly max: number }, field: string): void {
  if (!(value >= range.min && value <= range.max)) throw new ValidationError(`${field} must be within ${range.min} … ${range.max}, got ${value}`, field);
}
