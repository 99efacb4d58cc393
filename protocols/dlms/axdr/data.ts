/**
 * COSEM data as A-XDR carries it (IEC 62056-6-2 §4.1.5 / Blue Book "Data" CHOICE,
 * encoded per IEC 62056-5-3 A-XDR rules). One variant per CHOICE alternative; the
 * `type` names are the standard's, so a trace reads like the Blue Book.
 */

/** Tags of the Data CHOICE (IEC 62056-6-2, table "Common data types"). */
export const DATA_TAG = {
  'null-data': 0,
  array: 1,
  structure: 2,
  boolean: 3,
  'bit-string': 4,
  'double-long': 5,
  'double-long-unsigned': 6,
  'octet-string': 9,
  'visible-string': 10,
  'utf8-string': 12,
  bcd: 13,
  integer: 15,
  long: 16,
  unsigned: 17,
  'long-unsigned': 18,
  'compact-array': 19,
  long64: 20,
  'long64-unsigned': 21,
  enum: 22,
  float32: 23,
  float64: 24,
  'date-time': 25,
  date: 26,
  time: 27,
  'dont-care': 255,
} as const;

export type DataType = keyof typeof DATA_TAG;

/**
 * A date as COSEM encodes it (IEC 62056-6-2 §4.1.6.1). `undefined` marks a field sent
 * as "not specified" (0xFFFF year, 0xFF others). Month 0xFD/0xFE (DST end/begin) and
 * day 0xFD/0xFE (second-last/last day of month) are kept as the special values below.
 */
export interface CosemDate {
  readonly year: number | undefined;
  /** 1..12, or 'dst-end' (0xFD), 'dst-begin' (0xFE). */
  readonly month: number | 'dst-end' | 'dst-begin' | undefined;
  /** 1..31, or 'second-last' (0xFD), 'last' (0xFE). */
  readonly dayOfMonth: number | 'second-last' | 'last' | undefined;
  /** 1 (Monday) .. 7 (Sunday). */
  readonly dayOfWeek: number | undefined;
}

export interface CosemTime {
  readonly hour: number | undefined;
  readonly minute: number | undefined;
  readonly second: number | undefined;
  readonly hundredths: number | undefined;
}

export interface CosemDateTime {
  readonly date: CosemDate;
  readonly time: CosemTime;
  /**
   * Deviation of local time to UTC in minutes (IEC 62056-6-2 §4.1.6.1): UTC = local + deviation,
   * i.e. local = UTC − deviation, so UTC+01:00 is −60. It is the offset in force, DST included
   * (CEST is −120 with the DST-active status bit). undefined = 0x8000 not specified.
   */
  readonly deviation: number | undefined;
  /** Clock status bits (IEC 62056-6-2 §4.1.6.1): invalid 0x01, doubtful 0x02, different base 0x04, invalid status 0x08, DST active 0x80; undefined = 0xFF. */
  readonly clockStatus: number | undefined;
}

/**
 * The type description of a compact-array's elements (IEC 62056-6-2 §4.1.5 TypeDescription).
 * The TypeDescription CHOICE has no compact-array alternative, so a compact-array cannot nest.
 */
export type TypeDescription =
  | { readonly type: Exclude<DataType, 'array' | 'structure' | 'compact-array'> }
  | { readonly type: 'array'; readonly count: number; readonly element: TypeDescription }
  | { readonly type: 'structure'; readonly elements: readonly TypeDescription[] };

export type DlmsData =
  | { readonly type: 'null-data' }
  | { readonly type: 'dont-care' }
  | { readonly type: 'array'; readonly value: readonly DlmsData[] }
  | { readonly type: 'structure'; readonly value: readonly DlmsData[] }
  | { readonly type: 'compact-array'; readonly description: TypeDescription; readonly value: readonly DlmsData[] }
  | { readonly type: 'boolean'; readonly value: boolean }
  /** `bits` is the length in bits; `bytes` holds them MSB first, the last byte padded with zeros. */
  | { readonly type: 'bit-string'; readonly value: { readonly bits: number; readonly bytes: Uint8Array } }
  | { readonly type: 'octet-string'; readonly value: Uint8Array }
  | { readonly type: 'visible-string' | 'utf8-string'; readonly value: string }
  /** enum and bcd are the octet as sent, 0..255 (bcd: two BCD digits, 0x59 is "59"). */
  | { readonly type: 'integer' | 'long' | 'double-long' | 'unsigned' | 'long-unsigned' | 'double-long-unsigned' | 'enum' | 'bcd'; readonly value: number }
  | { readonly type: 'long64' | 'long64-unsigned'; readonly value: bigint }
  | { readonly type: 'float32' | 'float64'; readonly value: number }
  | { readonly type: 'date-time'; readonly value: CosemDateTime }
  | { readonly type: 'date'; readonly value: CosemDate }
  | { readonly type: 'time'; readonly value: CosemTime };
