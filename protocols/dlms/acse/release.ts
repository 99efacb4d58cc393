/**
 * RLRQ / RLRE, the A-RELEASE request and response (IEC 62056-5-3 §8 / Green Book §9.4.2.3
 * and §9.5 ASN.1): [APPLICATION 2] / [APPLICATION 3] IMPLICIT SEQUENCE with an optional
 * reason ([0] IMPLICIT INTEGER, `80 01 00`) and optional user-information (ciphered
 * contexts repeat the InitiateRequest there).
 */
import { ByteWriter } from '../bytes.js';
import { BerReader, writeTlv } from './ber.js';
import {
  USER_INFORMATION_TAG, readUserInformationField, writeImplicitInteger, writeUserInformationField,
} from './fields.js';
import type { UserInformation } from './initiate.js';
import { keyOf } from '../apdu/results.js';

export const RLRQ_TAG = 0x62;
export const RLRE_TAG = 0x63;

export const RELEASE_REQUEST_REASON = { normal: 0, urgent: 1, 'user-defined': 30 } as const;
export type ReleaseRequestReason = keyof typeof RELEASE_REQUEST_REASON;
export const RELEASE_RESPONSE_REASON = { normal: 0, 'not-finished': 1, 'user-defined': 30 } as const;
export type ReleaseResponseReason = keyof typeof RELEASE_RESPONSE_REASON;

export interface Rlrq {
  readonly type: 'rlrq';
  readonly reason?: ReleaseRequestReason;
  readonly userInformation?: UserInformation;
}

export interface Rlre {
  readonly type: 'rlre';
  readonly reason?: ReleaseResponseReason;
  readonly userInformation?: UserInformation;
}

const REASON_TAG = 0x80;

export function decodeRlrq(bytes: Uint8Array): Rlrq {
  const f = decodeRelease(bytes, RLRQ_TAG, 'RLRQ', RELEASE_REQUEST_REASON);
  return { type: 'rlrq', ...f };
}

export function decodeRlre(bytes: Uint8Array): Rlre {
  const f = decodeRelease(bytes, RLRE_TAG, 'RLRE', RELEASE_RESPONSE_REASON);
  return { type: 'rlre', ...f };
}

export function encodeRlrq(r: Omit<Rlrq, 'type'>): Uint8Array {
  const w = new ByteWriter(16);
  writeRelease(w, RLRQ_TAG, r.reason === undefined ? undefined : RELEASE_REQUEST_REASON[r.reason], r.userInformation);
  return w.toBytes();
}

export function encodeRlre(r: Omit<Rlre, 'type'>): Uint8Array {
  const w = new ByteWriter(16);
  writeRelease(w, RLRE_TAG, r.reason === undefined ? undefined : RELEASE_RESPONSE_REASON[r.reason], r.userInformation);
  return w.toBytes();
}

function decodeRelease<K extends string>(
  bytes: Uint8Array,
  tag: number,
  what: string,
  reasons: Readonly<Record<K, number>>,
): { reason?: K; userInformation?: UserInformation } {
  const outer = new BerReader(bytes);
  const apdu = outer.next(what);
  if (apdu.tag !== tag) outer.fail(`not an ${what}: identifier 0x${apdu.tag.toString(16)}`, apdu.at);
  outer.done(what);
  const c = apdu.content;
  const out: { reason?: K; userInformation?: UserInformation } = {};
  let last = -1;
  while (!c.atEnd) {
    const e = c.next(`${what} field`);
    // The SEQUENCE has two fields in a fixed order; a repeat or reversal is malformed.
    if (e.tag <= last) c.fail(`${what}: field 0x${e.tag.toString(16)} out of order`, e.at);
    last = e.tag;
    if (e.tag === REASON_TAG) {
      const v = e.content.integer('reason');
      const reason = keyOf(reasons, v);
      if (reason === undefined) c.fail(`${what}: unknown reason ${v}`, e.at);
      out.reason = reason;
    } else if (e.tag === USER_INFORMATION_TAG) {
      out.userInformation = readUserInformationField(e.content);
    } else {
      c.fail(`${what}: unexpected identifier 0x${e.tag.toString(16)}`, e.at);
    }
  }
  return out;
}

function writeRelease(w: ByteWriter, tag: number, reason: number | undefined, u: UserInformation | undefined): void {
  writeTlv(w, tag, (c) => {
    if (reason !== undefined) writeImplicitInteger(c, REASON_TAG, reason);
    if (u) writeUserInformationField(c, u);
  });
}
