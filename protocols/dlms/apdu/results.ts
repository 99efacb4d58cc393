/**
 * Per-item result codes of the xDLMS services (IEC 62056-5-3 §8 / Green Book §9.5 ASN.1:
 * Data-Access-Result, Action-Result). Kept as names on the typed APDUs so a trace or an
 * error message reads like the standard; unknown codes fail decoding rather than guess.
 */

/** Codes Data-Access-Result and Action-Result share (the standard lists them in both enumerations). */
const COMMON_RESULT = {
  success: 0,
  'hardware-fault': 1,
  'temporary-failure': 2,
  'read-write-denied': 3,
  'object-undefined': 4,
  'object-class-inconsistent': 9,
  'object-unavailable': 11,
  'type-unmatched': 12,
  'scope-of-access-violated': 13,
  'data-block-unavailable': 14,
  'other-reason': 250,
} as const;

export const DATA_ACCESS_RESULT = {
  ...COMMON_RESULT,
  'long-get-aborted': 15,
  'no-long-get-in-progress': 16,
  'long-set-aborted': 17,
  'no-long-set-in-progress': 18,
  'data-block-number-invalid': 19,
} as const;
export type DataAccessResult = keyof typeof DATA_ACCESS_RESULT;

export const ACTION_RESULT = {
  ...COMMON_RESULT,
  'long-action-aborted': 15,
  'no-long-action-in-progress': 16,
} as const;
export type ActionResult = keyof typeof ACTION_RESULT;

/** The name whose code is `v` in one of these tables, or undefined for a code it lacks. */
export function keyOf<K extends string>(table: Readonly<Record<K, number>>, v: number): K | undefined {
  for (const [k, value] of Object.entries(table) as [K, number][]) if (value === v) return k;
  return undefined;
}
