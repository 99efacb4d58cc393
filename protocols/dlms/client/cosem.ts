/**
 * COSEM helpers on top of DlmsClient (IEC 62056-6-2 / Blue Book interface classes): registers
 * with their scaler and unit, the clock, and the association's object list. Profiles are in
 * profile.ts, disconnect control and limiter in control.ts; all are re-exported here.
 *
 * They return OBIS codes, values and Blue Book unit codes; mapping to the head-end catalogue
 * is the adapter's business (protocols/ does not know src/).
 */
import type { CosemDateTime, DlmsData } from '../axdr/data.js';
import { cosemDateTimeToEpochMs, encodeCosemDateTime, epochMsToCosemDateTime } from '../axdr/dateTime.js';
import { asArray, asBytes, asDateTime, asNumber } from '../axdr/describe.js';
import { INTERFACE_CLASSES } from '../cosem/classes.js';
import { formatObis, parseObis } from '../cosem/obis.js';
import { COSEM_OBIS, fieldsOf, getValue, valueOf, type CallOptions, type CosemClient } from './cosemAccess.js';
import { DataAccessError } from './errors.js';
import { parseScalerUnit, scaled, scalerAttributeOf, type ScalerUnitCache } from './scaler.js';

export { COSEM_OBIS, getValue, type CallOptions, type CosemClient } from './cosemAccess.js';
export * from './profile.js';
export * from './control.js';
export { ScalerUnitCache, parseScalerUnit, scaled, scalerAttributeOf } from './scaler.js';

export interface RegisterReading {
  readonly obis: string;
  readonly classId: number;
  /** raw × 10^scaler. */
  readonly value: number;
  readonly raw: DlmsData;
  readonly scaler: number;
  /** Blue Book unit code (27 W, 30 Wh, 35 V, …; 255 none). */
  readonly unit: number;
}

export interface ReadRegisterOptions extends CallOptions {
  /** 3 Register (default), 4 Extended Register, 5 Demand Register (current_average_value). */
  readonly classId?: 3 | 4 | 5;
  /** With `meter`, scaler_unit is read once per (meter, OBIS) and then taken from here. */
  readonly cache?: ScalerUnitCache;
  readonly meter?: string;
}

/**
 * A register's value with its scaler and unit applied (Blue Book IC 3: value × 10^scaler in
 * unit). Without a cached scaler_unit both attributes travel in one GET-with-list.
 */
export async function readRegister(client: CosemClient, obis: string, options: ReadRegisterOptions = {}): Promise<RegisterReading> {
  const classId = options.classId ?? 3;
  const name = formatObis(parseObis(obis));
  // value (2) for IC 3/4, current_average_value (2) for IC 5.
  const valueRef = { classId, obis: name, attribute: 2 };
  const scalerRef = { classId, obis: name, attribute: scalerAttributeOf(classId, 2) ?? 3 };
  const { cache, meter } = options;
  let su = cache !== undefined && meter !== undefined ? cache.get(meter, name) : undefined;
  let raw: DlmsData;
  if (su === undefined) {
    const [v, s] = await client.getList([valueRef, scalerRef], options.signal);
    if (v === undefined || s === undefined) throw new DataAccessError('other-reason', `get ${name}: missing result`);
    raw = valueOf(v, valueRef);
    su = parseScalerUnit(valueOf(s, scalerRef));
    if (cache !== undefined && meter !== undefined) cache.set(meter, name, su);
  } else {
    raw = await getValue(client, valueRef, options.signal);
  }
  return { obis: name, classId, value: scaled(raw, su.scaler), raw, scaler: su.scaler, unit: su.unit };
}

export interface ClockReading {
  /** The instant the meter's clock shows. */
  readonly epochMs: number;
  /** Minutes, COSEM sign (UTC = local + deviation); undefined when the meter sent 0x8000. */
  readonly deviation: number | undefined;
  /** Clock status bits (CLOCK_STATUS); undefined when not specified. */
  readonly status: number | undefined;
  readonly raw: CosemDateTime;
}

export interface ReadClockOptions extends CallOptions {
  readonly obis?: string;
  /** Deviation to assume when the meter leaves it unspecified; without it such a clock is an error. */
  readonly deviationIfUnspecified?: number;
}

/** IC 8 Clock attribute 2 (time), as an octet-string of 12 or a date-time. */
export async function readClock(client: CosemClient, options: ReadClockOptions = {}): Promise<ClockReading> {
  const ref = { classId: INTERFACE_CLASSES.clock.classId, obis: options.obis ?? COSEM_OBIS.clock, attribute: INTERFACE_CLASSES.clock.attributes.time };
  const raw = asDateTime(await getValue(client, ref, options.signal), 'clock time');
  const epochMs = cosemDateTimeToEpochMs(raw, options.deviationIfUnspecified === undefined ? {} : { deviationIfUnspecified: options.deviationIfUnspecified });
  return { epochMs, deviation: raw.deviation, status: raw.clockStatus, raw };
}

export interface SetClockOptions extends CallOptions {
  readonly obis?: string;
  /** Clock status to send; default 0 (valid, no DST). */
  readonly clockStatus?: number;
}

/** Writes IC 8 attribute 2 as an octet-string of 12 (the form Clock objects define). */
export async function setClock(client: CosemClient, epochMs: number, deviation: number, options: SetClockOptions = {}): Promise<void> {
  const ref = { classId: INTERFACE_CLASSES.clock.classId, obis: options.obis ?? COSEM_OBIS.clock, attribute: INTERFACE_CLASSES.clock.attributes.time };
  const octets = encodeCosemDateTime(epochMsToCosemDateTime(epochMs, deviation, options.clockStatus ?? 0));
  const result = await client.set(ref, { type: 'octet-string', value: octets }, options.signal);
  if (!result.ok) throw new DataAccessError(result.error, `set clock ${ref.obis}`);
}

export interface AttributeAccess {
  readonly attribute: number;
  /** attribute_access_mode: 0 no access, 1 read, 2 write, 3 read-write, 4-6 authenticated variants. */
  readonly access: number;
  /** Selective access selectors supported, when the meter lists them. */
  readonly selectors: readonly number[] | undefined;
}

export interface MethodAccess {
  readonly method: number;
  /** method_access_mode: 0 no access, 1 access, 2 authenticated access (version 0 booleans become 0/1). */
  readonly access: number;
}

export interface ObjectListEntry {
  readonly classId: number;
  readonly version: number;
  readonly obis: string;
  readonly attributeAccess: readonly AttributeAccess[];
  readonly methodAccess: readonly MethodAccess[];
}

/**
 * IC 15 Association LN attribute 2, object_list (Blue Book §4.4.3): array of
 * structure { class_id long-unsigned, version unsigned, logical_name octet-string,
 * access_rights structure { attribute_access array, method_access array } }.
 */
export async function readObjectList(client: CosemClient, options: CallOptions & { readonly obis?: string } = {}): Promise<ObjectListEntry[]> {
  const ref = {
    classId: INTERFACE_CLASSES.associationLn.classId,
    obis: options.obis ?? COSEM_OBIS.currentAssociation,
    attribute: INTERFACE_CLASSES.associationLn.attributes.object_list,
  };
  return asArray(await getValue(client, ref, options.signal), 'object_list').map(parseObjectListElement);
}

export function parseObjectListElement(d: DlmsData): ObjectListEntry {
  const [classId, version, ln, rights] = fieldsOf(d, 4, 'object_list_element');
  const [attributes, methods] = fieldsOf(rights, 2, 'access_rights');
  return {
    classId: asNumber(classId, 'class_id'),
    version: asNumber(version, 'version'),
    obis: formatObis(asBytes(ln, 'logical_name')),
    attributeAccess: asArray(attributes, 'attribute_access').map((a) => {
      const [id, mode, selectors] = fieldsOf(a, 3, 'attribute_access_item');
      return {
        attribute: asNumber(id, 'attribute_id'),
        access: asNumber(mode, 'access_mode'),
        // access_selectors CHOICE { null-data, array of integer }.
        selectors: selectors.type === 'null-data' ? undefined : asArray(selectors, 'access_selectors').map((s) => asNumber(s, 'access_selector')),
      };
    }),
    methodAccess: asArray(methods, 'method_access').map((m) => {
      const [id, mode] = fieldsOf(m, 2, 'method_access_item');
      // Association LN version 0 sends method access as a boolean, later versions as an enum.
      const access = mode.type === 'boolean' ? (mode.value ? 1 : 0) : asNumber(mode, 'access_mode');
      return { method: asNumber(id, 'method_id'), access };
    }),
  };
}
