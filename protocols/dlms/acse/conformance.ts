/**
 * The xDLMS conformance block (IEC 62056-5-3 §7.3.1 / Green Book §9.4.6.1 "Conformance"):
 * [APPLICATION 31] IMPLICIT BIT STRING (SIZE(24)). BIT STRING numbering puts bit 0 in the
 * most significant bit of the first octet, so named bit n is mask 1 << (23 − n) of the
 * 24-bit value. Check: the Green Book's usual LN proposal 0x007E1F names bits 9-14 and
 * 19-23 (priority-mgmt … multiple-references, get … action).
 */

export const CONFORMANCE_BIT = {
  'reserved-zero': 0,
  'general-protection': 1,
  'general-block-transfer': 2,
  read: 3,
  write: 4,
  'unconfirmed-write': 5,
  'delta-value-encoding': 6,
  'reserved-seven': 7,
  'attribute0-supported-with-set': 8,
  'priority-mgmt-supported': 9,
  'attribute0-supported-with-get': 10,
  'block-transfer-with-get-or-read': 11,
  'block-transfer-with-set-or-write': 12,
  'block-transfer-with-action': 13,
  'multiple-references': 14,
  'information-report': 15,
  'data-notification': 16,
  access: 17,
  'parameterized-access': 18,
  get: 19,
  set: 20,
  'selective-access': 21,
  'event-notification': 22,
  action: 23,
} as const;

export type ConformanceFeature = keyof typeof CONFORMANCE_BIT;

/** A conformance block as its 24-bit value (bit 0 = 0x800000). */
export type Conformance = number;

/** The block with exactly the given features set. */
export function conformance(...features: readonly ConformanceFeature[]): Conformance {
  let v = 0;
  for (const f of features) v |= maskOf(f);
  return v;
}

export function hasConformance(block: Conformance, feature: ConformanceFeature): boolean {
  return (block & maskOf(feature)) !== 0;
}

/** The named features set in a block, in bit order. */
export function conformanceFeatures(block: Conformance): ConformanceFeature[] {
  return (Object.keys(CONFORMANCE_BIT) as ConformanceFeature[]).filter((f) => hasConformance(block, f));
}

/** What a client may use: the server's negotiated block intersected with its proposal. */
export function commonConformance(a: Conformance, b: Conformance): Conformance {
  return a & b & 0xffffff;
}

/**
 * What a LN client proposes by default: GET/SET/ACTION with selective access, block
 * transfer and multiple references, plus notifications it can decode.
 */
export const LN_CLIENT_CONFORMANCE: Conformance = conformance(
  'get', 'set', 'action', 'selective-access', 'multiple-references',
  'block-transfer-with-get-or-read', 'block-transfer-with-set-or-write', 'block-transfer-with-action',
  'priority-mgmt-supported', 'attribute0-supported-with-get', 'event-notification', 'data-notification',
);

function maskOf(feature: ConformanceFeature): number {
  return 1 << (23 - CONFORMANCE_BIT[feature]);
}
