/**
 * A Profile Generic buffer (IC 7 attribute 2, IEC 62056-6-2 §4.3.6): a bounded FIFO of
 * captured rows, stored as numbers and rendered into Data only when read, and the two
 * selective accesses a head-end reads it with.
 *
 *  - range_descriptor (selector 1): rows whose clock lies in [from_value, to_value], both
 *    bounds inclusive (the Blue Book calls them the oldest and the newest value "to be
 *    retrieved"); only the clock column (the first) may restrict. selected_values picks
 *    columns, in the order the client lists them; empty means all.
 *  - entry_descriptor (selector 2): entries from_entry..to_entry and columns
 *    from_selected_value..to_selected_value, counted from 1 (entry 1 is the oldest row, as the
 *    buffer is sorted FIFO); 0 in to_entry / to_selected_value means "up to the last".
 */
import type { DlmsData } from '../../protocols/dlms/axdr/data.js';
import { cosemDateTimeToEpochMs } from '../../protocols/dlms/axdr/dateTime.js';
import { asDateTime } from '../../protocols/dlms/axdr/describe.js';
import { obisEquals } from '../../protocols/dlms/cosem/obis.js';
import {
  parseProfileSelectiveAccess, type CaptureObjectDefinition, type EntryDescriptor, type RangeDescriptor,
} from '../../protocols/dlms/apdu/selectiveAccess.js';
import type { GetResult, SelectiveAccess } from '../../protocols/dlms/server/objectModel.js';
import { DlmsDecodeError } from '../../protocols/dlms/errors.js';
import { array, captureObjectDefinition, structure } from './cosemData.js';

export interface ProfileColumn {
  readonly classId: number;
  readonly logicalName: Uint8Array;
  readonly attributeIndex: number;
  readonly dataIndex: number;
  /** Renders a stored number; `deviation` is the clock's deviation when the row was captured. */
  readonly encode: (value: number, deviation: number) => DlmsData;
}

export class ProfileBuffer {
  private readonly width: number;
  private readonly rows: Float64Array;
  private head = 0;
  private count = 0;

  /** `columns[0]` is the clock: every row's first value is its capture time as a clock reading (ms). */
  constructor(
    readonly columns: readonly ProfileColumn[],
    readonly capacity: number,
  ) {
    // One extra slot per row: the deviation in force at capture.
    this.width = columns.length + 1;
    this.rows = new Float64Array(capacity * this.width);
  }

  get entriesInUse(): number {
    return this.count;
  }

  /** Appends a row (one number per column), dropping the oldest when full. */
  push(values: readonly number[], deviation: number): void {
    if (values.length !== this.columns.length) throw new RangeError(`a row has ${this.columns.length} values, got ${values.length}`);
    const slot = (this.head + this.count) % this.capacity;
    this.rows.set([...values, deviation], slot * this.width);
    if (this.count < this.capacity) this.count++;
    else this.head = (this.head + 1) % this.capacity;
  }

  reset(): void {
    this.head = 0;
    this.count = 0;
  }

  /** Value `column` of entry `entry` (0 = oldest). */
  value(entry: number, column: number): number {
    return this.rows[((this.head + entry) % this.capacity) * this.width + column] ?? Number.NaN;
  }

  captureObjects(): DlmsData {
    return array(this.columns.map((c) => captureObjectDefinition(c.classId, c.logicalName, c.attributeIndex, c.dataIndex)));
  }

  /** The buffer, whole or through a selective access; `deviation` completes bounds sent without one. */
  read(access: SelectiveAccess | undefined, deviation: number): GetResult {
    if (access === undefined) return this.render(0, this.count, allColumns(this.columns.length));
    let parsed: RangeDescriptor | EntryDescriptor;
    try {
      parsed = parseProfileSelectiveAccess(access);
    } catch (e) {
      // A malformed descriptor is the client's error: answer it, do not drop the association.
      if (e instanceof DlmsDecodeError) return { ok: false, result: 'other-reason' };
      throw e;
    }
    return parsed.kind === 'range' ? this.readRange(parsed, deviation) : this.readEntries(parsed);
  }

  private readRange(d: RangeDescriptor, deviation: number): GetResult {
    const clock = this.columns[0];
    if (clock === undefined || !sameObject(d.restrictingObject, clock)) return { ok: false, result: 'other-reason' };
    const from = instant(d.from, deviation);
    const to = instant(d.to, deviation);
    if (typeof from === 'string' || typeof to === 'string') return { ok: false, result: from === 'type' || to === 'type' ? 'type-unmatched' : 'other-reason' };
    const columns: number[] = [];
    for (const wanted of d.selectedValues) {
      const i = this.columns.findIndex((c) => sameObject(wanted, c));
      if (i < 0) return { ok: false, result: 'other-reason' };
      columns.push(i);
    }
    const picked = columns.length === 0 ? allColumns(this.columns.length) : columns;
    const rows: DlmsData[] = [];
    for (let e = 0; e < this.count; e++) {
      const ts = this.value(e, 0);
      if (ts >= from && ts <= to) rows.push(this.row(e, picked));
    }
    return { ok: true, data: array(rows) };
  }

  private readEntries(d: EntryDescriptor): GetResult {
    const n = this.columns.length;
    const toEntry = d.toEntry === 0 ? this.count : Math.min(d.toEntry, this.count);
    const toColumn = d.toSelectedValue === 0 ? n : d.toSelectedValue;
    if (d.fromEntry < 1 || (d.toEntry !== 0 && d.toEntry < d.fromEntry)) return { ok: false, result: 'other-reason' };
    if (d.fromSelectedValue < 1 || toColumn > n || toColumn < d.fromSelectedValue) return { ok: false, result: 'other-reason' };
    const columns = allColumns(n).slice(d.fromSelectedValue - 1, toColumn);
    return this.render(d.fromEntry - 1, Math.max(d.fromEntry - 1, toEntry), columns);
  }

  private render(from: number, to: number, columns: readonly number[]): GetResult {
    const rows: DlmsData[] = [];
    for (let e = from; e < to; e++) rows.push(this.row(e, columns));
    return { ok: true, data: array(rows) };
  }

  private row(entry: number, columns: readonly number[]): DlmsData {
    const deviation = this.value(entry, this.columns.length);
    return structure(...columns.map((i) => {
      const c = this.columns[i];
      if (c === undefined) throw new RangeError(`column ${i} out of range`);
      return c.encode(this.value(entry, i), deviation);
    }));
  }
}

function allColumns(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function sameObject(a: CaptureObjectDefinition, c: ProfileColumn): boolean {
  return a.classId === c.classId && obisEquals(a.logicalName, c.logicalName) && a.attributeIndex === c.attributeIndex && a.dataIndex === c.dataIndex;
}

/** A range bound as an instant, or why it is not one: 'type' (not a date-time) or 'value' (no instant). */
function instant(d: DlmsData, deviation: number): number | 'type' | 'value' {
  let dt;
  try {
    dt = asDateTime(d);
  } catch (e) {
    if (e instanceof DlmsDecodeError) return 'type';
    throw e;
  }
  try {
    return cosemDateTimeToEpochMs(dt, { deviationIfUnspecified: deviation });
  } catch (e) {
    if (e instanceof DlmsDecodeError) return 'value';
    throw e;
  }
}
