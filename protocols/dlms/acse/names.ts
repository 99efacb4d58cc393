/**
 * Object identifiers DLMS registers under {joint-iso-ccitt(2) country(16) country-name(756)
 * identified-organization(5) DLMS-UA(8)} (IEC 62056-5-3 §8 / Green Book §9.4.2.2.2-3):
 * application context names (arc 1) and authentication mechanism names (arc 2).
 */

const DLMS_UA = '2.16.756.5.8';

/** Application context names: how COSEM objects are referenced and whether APDUs are ciphered. */
export const APPLICATION_CONTEXT = {
  'logical-name': `${DLMS_UA}.1.1`,
  'short-name': `${DLMS_UA}.1.2`,
  'logical-name-ciphered': `${DLMS_UA}.1.3`,
  'short-name-ciphered': `${DLMS_UA}.1.4`,
} as const;
export type ApplicationContextName = keyof typeof APPLICATION_CONTEXT;

/**
 * Authentication mechanism names. gridhead implements `none` and `low` (LLS, a password);
 * the HLS names are listed so they are recognised and named in errors, and so the security
 * layer can add them without touching the codec.
 */
export const MECHANISM = {
  none: `${DLMS_UA}.2.0`,
  low: `${DLMS_UA}.2.1`,
  high: `${DLMS_UA}.2.2`,
  'high-md5': `${DLMS_UA}.2.3`,
  'high-sha1': `${DLMS_UA}.2.4`,
  'high-gmac': `${DLMS_UA}.2.5`,
  'high-sha256': `${DLMS_UA}.2.6`,
  'high-ecdsa': `${DLMS_UA}.2.7`,
} as const;
export type MechanismName = keyof typeof MECHANISM;

/** The name of an application context OID, or undefined for one DLMS does not define. */
export function applicationContextName(oid: string): ApplicationContextName | undefined {
  return nameOf(APPLICATION_CONTEXT, oid);
}

/** The name of a mechanism OID, or undefined for one DLMS does not define. */
export function mechanismName(oid: string): MechanismName | undefined {
  return nameOf(MECHANISM, oid);
}

function nameOf<K extends string>(table: Readonly<Record<K, string>>, oid: string): K | undefined {
  for (const [name, value] of Object.entries(table) as [K, string][]) if (value === oid) return name;
  return undefined;
}
