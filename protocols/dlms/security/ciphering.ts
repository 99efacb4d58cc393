/**
 * Glo-ciphering of xDLMS APDUs with the global keys (IEC 62056-5-3 §8 ASN.1 / Green Book
 * §9.5), and ded-ciphering with the association's dedicated key: a service-specific glo-X
 * (or ded-X) APDU is its tag followed by one A-XDR OCTET STRING
 * holding SC ‖ IC ‖ payload (gcm.ts); general-glo-ciphering [219] is
 *   SEQUENCE { system-title OCTET STRING, ciphered-content OCTET STRING }
 * and carries any xDLMS APDU, notably the data-notification, which has no glo- form.
 * The IV uses the SENDER's system title: for glo-X that is the peer's title learnt from
 * the AARQ/AARE; general-glo-ciphering carries it in the APDU.
 */
import { ByteReader, ByteWriter, hexUpper } from '../bytes.js';
import { DlmsDecodeError } from '../errors.js';
import { DlmsSecurityError } from './securityError.js';
import { SYSTEM_TITLE_LENGTH, protect, unprotect } from './gcm.js';
import { acceptCounter } from './invocationCounter.js';
import type { Protection, SecurityControl, SecurityHeader } from './securityHeader.js';

/**
 * Plain xDLMS tag → glo-ciphered tag (IEC 62056-5-3 §8: glo-initiateRequest [33],
 * glo-initiateResponse [40], glo-confirmedServiceError [46], glo-get-request [200] ..
 * glo-action-response [207]; checked against Gurux's Command enum).
 */
export const GLO_TAG: Readonly<Record<number, number>> = {
  0x01: 0x21, // initiate-request
  0x08: 0x28, // initiate-response
  0x0e: 0x2e, // confirmed-service-error
  0xc0: 0xc8, // get-request
  0xc1: 0xc9, // set-request
  0xc2: 0xca, // event-notification-request
  0xc3: 0xcb, // action-request
  0xc4: 0xcc, // get-response
  0xc5: 0xcd, // set-response
  0xc7: 0xcf, // action-response
};

export const GENERAL_GLO_CIPHERING_TAG = 0xdb;

/**
 * Plain xDLMS tag → ded-ciphered tag (IEC 62056-5-3 §8: ded-get-request [208] ..
 * ded-action-response [215]; checked against Gurux's Command enum and dlms-cosem's tag table).
 * The initiate exchange has no ded- form: the dedicated key travels inside it, so it is
 * always glo-ciphered (Green Book §9.2.7.2.2).
 */
export const DED_TAG: Readonly<Record<number, number>> = {
  0xc0: 0xd0, // get-request
  0xc1: 0xd1, // set-request
  0xc2: 0xd2, // event-notification-request
  0xc3: 0xd3, // action-request
  0xc4: 0xd4, // get-response
  0xc5: 0xd5, // set-response
  0xc7: 0xd7, // action-response
};

/**
 * Most octets glo-ciphering adds to a plain APDU: glo tag (1), A-XDR length (up to 3 for a
 * 64 KiB PDU), SC (1), IC (4), tag (12). Whoever fits APDUs into a negotiated max PDU size
 * reserves this much when the association is ciphered.
 */
export const GLO_CIPHERING_OVERHEAD = 21;

/** The same for general-glo-ciphering: it adds the system title (A-XDR length 1 + 8 octets). */
export const GENERAL_GLO_CIPHERING_OVERHEAD = GLO_CIPHERING_OVERHEAD + 1 + SYSTEM_TITLE_LENGTH;

/** Glo-ciphered tag → the plain tag its content must carry. */
const PLAIN_TAG: Readonly<Record<number, number>> = Object.fromEntries(
  Object.entries(GLO_TAG).map(([plain, glo]) => [glo, Number(plain)]),
);

/** Ded-ciphered tag → the plain tag its content must carry. */
const DED_PLAIN_TAG: Readonly<Record<number, number>> = Object.fromEntries(
  Object.entries(DED_TAG).map(([plain, ded]) => [ded, Number(plain)]),
);

/** Upper bound on a ciphered APDU's content; a forged length is refused before allocation. */
export const DEFAULT_MAX_CIPHERED_BYTES = 0xffff;

export interface CipherContext {
  readonly sc: SecurityControl;
  /** Our own system title (the IV's fixed field when we send). */
  readonly systemTitle: Uint8Array;
  readonly invocationCounter: number;
  /** The global unicast key, or for form 'ded' the association's dedicated key. */
  readonly ek: Uint8Array;
  readonly ak: Uint8Array;
  /**
   * 'glo': the service-specific glo-X APDU; 'general-glo': general-glo-ciphering;
   * 'ded': the service-specific ded-X APDU (ek is then the dedicated key).
   * Default: 'glo' when the plain APDU has a glo- form, else 'general-glo'.
   */
  readonly form?: CipheredForm;
}

export type CipheredForm = 'glo' | 'general-glo' | 'ded';

export interface DecipherContext {
  /**
   * The sender's system title. Required for 'glo' APDUs (they do not carry one); for
   * general-glo-ciphering, when given, the APDU's title must equal it.
   */
  readonly peerSystemTitle?: Uint8Array;
  readonly ek: Uint8Array;
  readonly ak: Uint8Array;
  /** The global broadcast key, used when SC's key-set bit says so. */
  readonly broadcastKey?: Uint8Array;
  /** The association's dedicated key: the EK of ded-X APDUs (refused without one). */
  readonly dedicatedKey?: Uint8Array;
  /** The least protection accepted (the association's security policy). */
  readonly required?: Protection;
  /**
   * The last invocation counter accepted from this sender; when given, an APDU that
   * authenticates but does not carry a greater counter is refused as a 'replay'.
   */
  readonly lastSeenCounter?: number;
  readonly maxBytes?: number;
  /**
   * Count the bytes after the ciphered APDU (`DecipheredApdu.trailing`) instead of refusing
   * them: its A-XDR lengths delimit it, and the GCM tag covers only what they delimit, so
   * what follows is neither needed nor trusted. For a client reading meters that pad.
   */
  readonly tolerateTrailing?: boolean;
}

/** The framing of a ciphered APDU, read without any key (to pick keys by system title). */
export interface CipheredApdu {
  readonly form: CipheredForm;
  readonly tag: number;
  /** For 'glo' and 'ded', the plain tag the content must carry. */
  readonly plainTag?: number;
  /** For 'general-glo', the sender's system title from the APDU. */
  readonly systemTitle?: Uint8Array;
  /** SC ‖ IC ‖ payload. */
  readonly content: Uint8Array;
}

export interface DecipheredApdu {
  readonly form: CipheredForm;
  readonly header: SecurityHeader;
  /** The sender's system title that verified. */
  readonly systemTitle: Uint8Array;
  /** The plain xDLMS APDU (decode it with decodeApdu). */
  readonly plaintext: Uint8Array;
  /** Bytes after the ciphered APDU (only with `tolerateTrailing`; otherwise they are refused). */
  readonly trailing: number;
}

/** Wraps an encoded plain xDLMS APDU in its ciphered form. */
export function cipherApdu(plainApdu: Uint8Array, ctx: CipherContext): Uint8Array {
  const plainTag = plainApdu[0];
  if (plainTag === undefined) throw new DlmsSecurityError('bad-parameter', 'empty APDU');
  const gloTag = GLO_TAG[plainTag];
  const form = ctx.form ?? (gloTag === undefined ? 'general-glo' : 'glo');
  const serviceTag = form === 'ded' ? DED_TAG[plainTag] : gloTag;
  if (form !== 'general-glo' && serviceTag === undefined) {
    throw new DlmsSecurityError('bad-parameter', `APDU tag 0x${plainTag.toString(16)} has no ${form}-ciphered form`);
  }
  const content = protect({ ...ctx, plaintext: plainApdu });
  const w = new ByteWriter(content.length + 16);
  if (serviceTag !== undefined && form !== 'general-glo') {
    w.u8(serviceTag);
  } else {
    w.u8(GENERAL_GLO_CIPHERING_TAG).length(ctx.systemTitle.length).bytes(ctx.systemTitle);
  }
  return w.length(content.length).bytes(content).toBytes();
}

/**
 * Reads the framing of a glo-X, ded-X or general-glo-ciphering APDU. Malformed framing is a
 * DlmsDecodeError (layer 'security'); the whole input must be exactly one APDU.
 */
export function parseCipheredApdu(bytes: Uint8Array, maxBytes = DEFAULT_MAX_CIPHERED_BYTES): CipheredApdu {
  const { apdu, trailing } = parseLeadingCipheredApdu(bytes, maxBytes);
  refuseTrailing(trailing, bytes.length);
  return apdu;
}

/** The whole input must be the one ciphered APDU: bytes after it are a wrong-length error. */
function refuseTrailing(trailing: number, length: number): void {
  if (trailing !== 0) throw new DlmsDecodeError('security', `${trailing} byte(s) after the end of the ciphered APDU`, length - trailing);
}

/** The ciphered APDU at the start of `bytes`, and how many bytes follow it. */
export function parseLeadingCipheredApdu(bytes: Uint8Array, maxBytes = DEFAULT_MAX_CIPHERED_BYTES): { readonly apdu: CipheredApdu; readonly trailing: number } {
  const r = new ByteReader(bytes, 'security');
  const tag = r.u8('tag');
  if (tag === GENERAL_GLO_CIPHERING_TAG) {
    const st = r.bytes(r.length(SYSTEM_TITLE_LENGTH, 'system-title length'), 'system-title');
    if (st.length !== SYSTEM_TITLE_LENGTH) r.fail(`system-title of ${st.length} octets, expected ${SYSTEM_TITLE_LENGTH}`);
    const content = r.bytes(r.length(maxBytes, 'ciphered-content length'), 'ciphered-content');
    return { apdu: { form: 'general-glo', tag, systemTitle: st.slice(), content: content.slice() }, trailing: r.remaining };
  }
  const gloPlain = PLAIN_TAG[tag];
  const plainTag = gloPlain ?? DED_PLAIN_TAG[tag];
  if (plainTag === undefined) r.fail(`tag 0x${tag.toString(16)} is not a glo- or ded-ciphered APDU`, 0);
  const content = r.bytes(r.length(maxBytes, 'ciphered content length'), 'ciphered content');
  return { apdu: { form: gloPlain === undefined ? 'ded' : 'glo', tag, plainTag, content: content.slice() }, trailing: r.remaining };
}

/** Verifies and deciphers a glo-X, ded-X or general-glo-ciphering APDU. */
export function decipherApdu(bytes: Uint8Array, ctx: DecipherContext): DecipheredApdu {
  const leading = parseLeadingCipheredApdu(bytes, ctx.maxBytes);
  if (ctx.tolerateTrailing !== true) refuseTrailing(leading.trailing, bytes.length);
  const parsed = leading.apdu;
  const systemTitle = senderTitle(parsed, ctx.peerSystemTitle);
  const ek = cipherKey(parsed, ctx);
  const { header, plaintext } = unprotect({
    protectedBytes: parsed.content, systemTitle, ek, ak: ctx.ak, ...(ctx.required === undefined ? {} : { required: ctx.required }),
  });
  if (plaintext.length === 0) throw new DlmsSecurityError('bad-header', 'ciphered APDU carries no APDU');
  if (ctx.lastSeenCounter !== undefined) {
    // Checked after authentication, so a 'replay' is always a genuine, re-sent APDU.
    const check = acceptCounter(ctx.lastSeenCounter, header.invocationCounter);
    if (!check.ok) throw check.error;
  }
  if (parsed.plainTag !== undefined && plaintext[0] !== parsed.plainTag) {
    // §8: a glo-get-request carries a get-request, and so on; anything else is forged or a bug.
    throw new DlmsSecurityError('bad-header', `tag 0x${parsed.tag.toString(16)} carries an APDU with tag 0x${(plaintext[0] ?? 0).toString(16)}`);
  }
  return { form: parsed.form, header, systemTitle, plaintext, trailing: leading.trailing };
}

/**
 * The EK to decipher with: a ded-X APDU uses the dedicated key (Green Book §9.2.7.2.3, key
 * used by the ded- APDUs), whatever SC's key-set bit says; otherwise SC's key-set bit picks
 * the global unicast or broadcast key.
 */
function cipherKey(parsed: CipheredApdu, ctx: DecipherContext): Uint8Array {
  if (parsed.form === 'ded') {
    if (ctx.dedicatedKey === undefined) throw new DlmsSecurityError('bad-parameter', 'ded-ciphered APDU on an association without a dedicated key');
    return ctx.dedicatedKey;
  }
  const first = parsed.content[0];
  const broadcast = first !== undefined && (first & 0x40) !== 0;
  const ek = broadcast ? ctx.broadcastKey : ctx.ek;
  if (ek === undefined) throw new DlmsSecurityError('bad-parameter', 'APDU ciphered with the broadcast key, none is configured');
  return ek;
}

function senderTitle(parsed: CipheredApdu, expected: Uint8Array | undefined): Uint8Array {
  if (parsed.systemTitle === undefined) {
    if (expected === undefined) throw new DlmsSecurityError('bad-parameter', 'a glo-ciphered APDU needs the peer system title from the association');
    return expected;
  }
  if (expected !== undefined && !sameBytes(parsed.systemTitle, expected)) {
    throw new DlmsSecurityError('system-title-mismatch', `APDU from system title ${hexUpper(parsed.systemTitle)}, the association expects ${hexUpper(expected)}`);
  }
  return parsed.systemTitle;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

