/**
 * IC 7 Profile Generic (Blue Book §4.3.6): read capture_objects (attribute 3), then the buffer
 * (attribute 2) restricted by a range_descriptor on the clock column or an entry_descriptor,
 * and decode each row against the columns. Scaling of register columns is a separate step,
 * since it needs the registers' scaler_unit (readColumnScalers / scaleRow).
 */
import type { DlmsData } from '../axdr/data.js';
import { encodeCosemDateTime, cosemDateTimeToEpochMs, epochMsToCosemDateTime } from '../axdr/dateTime.js';
import { asArray, asDateTime, asNumber, asStructure } from '../axdr/describe.js';
import { profileSelectiveAccess, readCaptureObject, type ProfileSelectiveAccess } from '../apdu/selectiveAccess.js';
import { INTERFACE_CLASSES } from '../cosem/classes.js';
import { formatObis, parseObis } from '../cosem/obis.js';
import type { ScalerUnit } from '../cosem/units.js';
import { DlmsDecodeError } from '../errors.js';
import { getValue, valueOf, type CallOptions, type CosemClient } from './cosemAccess.js';
import { parseScalerUnit, scaled, scalerAttributeOf, type ScalerUnitCache } from './scaler.js';

/** One capture object: which attribute (and element of it, dataIndex > 0) a column holds. */
export interface CaptureColumn {
  readonly classId: number;
  readonly obis: string;
  readonly attribute: number;
  readonly dataIndex: number;
}

export interface ProfileCell extends CaptureColumn {
  readonly value: DlmsData;
}

export interface ProfileRow {
  /** The row's clock column as an instant (ms since the epoch). */
  readonly ts: number;
  readonly columns: readonly ProfileCell[];
}

/** Instants (ms) for a range read, or 1-based entry numbers (toEntry 0 = up to the newest). */
export type ProfileSelection =
  | { readonly from: number; readonly to: number }
  | { readonly fromEntry: number; readonly toEntry: number };

export interface ReadProfileOptions extends CallOptions {
  /** Columns already known (e.g. cached per meter type): capture_objects is then not read. */
  readonly captureObjects?: readonly CaptureColumn[];
  /**
   * Deviation (minutes, COSEM sign) written into the range bounds. Meters compare bounds with
   * their local clock, so give the meter's own; default 0 (UTC).
   */
  readonly deviation?: number;
  /** Deviation to assume for row timestamps the meter sends without one. */
  readonly deviationIfUnspecified?: number;
}

export interface ProfileReading {
  readonly columns: readonly CaptureColumn[];
  readonly rows: readonly ProfileRow[];
}

const PROFILE = INTERFACE_CLASSES.profileGeneric;
const CLOCK = INTERFACE_CLASSES.clock;

/** capture_objects: array of capture_object_definition (class_id, logical_name, attribute_index, data_index). */
export async function readCaptureObjects(client: CosemClient, obis: string, signal?: AbortSignal): Promise<CaptureColumn[]> {
  const ref = { classId: PROFILE.classId, obis, attribute: PROFILE.attributes.capture_objects };
  return asArray(await getValue(client, ref, signal), 'capture_objects').map((d) => {
    const c = readCaptureObject(d);
    return { classId: c.classId, obis: formatObis(c.logicalName), attribute: c.attributeIndex, dataIndex: c.dataIndex };
  });
}

/** Reads and decodes the rows of a profile between two instants or two entries. */
export async function readProfile(
  client: CosemClient, obis: string, selection: ProfileSelection, options: ReadProfileOptions = {},
): Promise<ProfileReading> {
  const name = formatObis(parseObis(obis));
  const columns = options.captureObjects ?? await readCaptureObjects(client, name, options.signal);
  const clockIndex = clockColumn(columns, `profile ${name}`);
  const clock = columns[clockIndex];
  if (clock === undefined) throw new DlmsDecodeError('cosem', `profile ${name}: no clock column`);
  const ref = { classId: PROFILE.classId, obis: name, attribute: PROFILE.attributes.buffer };
  const access = profileSelectiveAccess(selectionDescriptor(selection, clock, options.deviation ?? 0));
  const buffer = valueOf(await client.get(ref, access, options.signal), ref);
  // Compressed profiles send null-data for a timestamp that follows from the previous one
  // (Blue Book §4.3.6, buffer); only then is capture_period needed.
  const needsPeriod = asArray(buffer, 'buffer').some((row) => row.type === 'structure' && row.value[clockIndex]?.type === 'null-data');
  const capturePeriodS = needsPeriod
    ? asNumber(await getValue(client, { classId: PROFILE.classId, obis: name, attribute: PROFILE.attributes.capture_period }, options.signal), 'capture_period')
    : undefined;
  return { columns, rows: decodeProfileRows(buffer, columns, { capturePeriodS, deviationIfUnspecified: options.deviationIfUnspecified }) };
}

export interface DecodeRowsOptions {
  /** capture_period in seconds, for rows whose timestamp is null-data. */
  readonly capturePeriodS?: number | undefined;
  readonly deviationIfUnspecified?: number | undefined;
}

/** The rows of a buffer: each a structure with one member per column, timestamped by the clock column. */
export function decodeProfileRows(buffer: DlmsData, columns: readonly CaptureColumn[], options: DecodeRowsOptions = {}): ProfileRow[] {
  const clockIndex = clockColumn(columns, 'buffer');
  const toEpoch = options.deviationIfUnspecified === undefined ? {} : { deviationIfUnspecified: options.deviationIfUnspecified };
  const rows: ProfileRow[] = [];
  let previous: number | undefined;
  for (const [n, row] of asArray(buffer, 'buffer').entries()) {
    const cells = asStructure(row, columns.length, `buffer row ${n + 1}`);
    const stamp = cells[clockIndex] ?? { type: 'null-data' };
    let ts: number;
    if (stamp.type !== 'null-data') ts = cosemDateTimeToEpochMs(asDateTime(stamp, `row ${n + 1} clock`), toEpoch);
    else if (previous !== undefined && options.capturePeriodS !== undefined && options.capturePeriodS > 0) ts = previous + options.capturePeriodS * 1000;
    else throw new DlmsDecodeError('cosem', `row ${n + 1}: null timestamp without a previous row and a capture period`);
    previous = ts;
    rows.push({ ts, columns: columns.map((c, i) => ({ ...c, value: cells[i] ?? { type: 'null-data' } })) });
  }
  return rows;
}

/** The scaler_unit of every register column (IC 3/4/5 value attributes), by OBIS; read once per (meter, OBIS) with a cache. */
export async function readColumnScalers(
  client: CosemClient, columns: readonly CaptureColumn[], options: CallOptions & { readonly cache?: ScalerUnitCache; readonly meter?: string } = {},
): Promise<Map<string, ScalerUnit>> {
  const out = new Map<string, ScalerUnit>();
  const wanted: { obis: string; classId: number; attribute: number }[] = [];
  for (const c of columns) {
    const attribute = c.dataIndex === 0 ? scalerAttributeOf(c.classId, c.attribute) : undefined;
    if (attribute === undefined || out.has(c.obis) || wanted.some((w) => w.obis === c.obis)) continue;
    const cached = options.meter === undefined ? undefined : options.cache?.get(options.meter, c.obis);
    if (cached === undefined) wanted.push({ obis: c.obis, classId: c.classId, attribute });
    else out.set(c.obis, cached);
  }
  if (wanted.length === 0) return out;
  const results = await client.getList(wanted, options.signal);
  wanted.forEach((ref, i) => {
    const r = results[i];
    if (r === undefined) return;
    const su = parseScalerUnit(valueOf(r, ref));
    out.set(ref.obis, su);
    if (options.meter !== undefined) options.cache?.set(options.meter, ref.obis, su);
  });
  return out;
}

export interface ScaledValue {
  readonly classId: number;
  readonly obis: string;
  readonly attribute: number;
  readonly value: number;
  /** Blue Book unit code. */
  readonly unit: number;
}

/** The register columns of a row as numbers (raw × 10^scaler); columns without a scaler are left out. */
export function scaleRow(row: ProfileRow, scalers: ReadonlyMap<string, ScalerUnit>): { readonly ts: number; readonly values: ScaledValue[] } {
  const values: ScaledValue[] = [];
  for (const c of row.columns) {
    const su = c.dataIndex === 0 && scalerAttributeOf(c.classId, c.attribute) !== undefined ? scalers.get(c.obis) : undefined;
    if (su === undefined || c.value.type === 'null-data') continue;
    values.push({ classId: c.classId, obis: c.obis, attribute: c.attribute, value: scaled(c.value, su.scaler), unit: su.unit });
  }
  return { ts: row.ts, values };
}

/** Index of the clock column (IC 8 attribute 2), which timestamps rows and restricts ranges. */
function clockColumn(columns: readonly CaptureColumn[], what: string): number {
  const i = columns.findIndex((c) => c.classId === CLOCK.classId && c.attribute === CLOCK.attributes.time);
  if (i < 0) throw new DlmsDecodeError('cosem', `${what}: the profile has no clock column (class 8 attribute 2)`);
  return i;
}

/**
 * range_descriptor on the clock column with every column selected (selected_values empty),
 * bounds as octet-string(12) date-times with the given deviation and the clock status left
 * unspecified (it describes a reading, not a bound); or entry_descriptor with all columns.
 */
function selectionDescriptor(selection: ProfileSelection, clock: CaptureColumn, deviation: number): ProfileSelectiveAccess {
  if ('fromEntry' in selection) {
    return { kind: 'entry', fromEntry: selection.fromEntry, toEntry: selection.toEntry, fromSelectedValue: 1, toSelectedValue: 0 };
  }
  const bound = (ms: number): DlmsData => ({
    type: 'octet-string',
    value: encodeCosemDateTime({ ...epochMsToCosemDateTime(ms, deviation), clockStatus: undefined }),
  });
  return {
    kind: 'range',
    restrictingObject: { classId: clock.classId, logicalName: parseObis(clock.obis), attributeIndex: clock.attribute, dataIndex: clock.dataIndex },
    from: bound(selection.from),
    to: bound(selection.to),
    selectedValues: [],
  };
}
