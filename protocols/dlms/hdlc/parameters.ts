/**
 * HDLC parameter negotiation carried in the information field of SNRM and UA
 * (IEC 62056-46 §6.4.4.4.3.2; Green Book §8.4.5.3.2; the encoding is ISO/IEC 13239 §5.5.3.2):
 *
 *   81 (format identifier) | 80 (group identifier) | group length | parameters...
 *   parameter = id | length (1, 2 or 4) | value, big-endian
 *     05 maximum information field length, transmit     07 window size, transmit
 *     06 maximum information field length, receive      08 window size, receive
 *
 * "Transmit" and "receive" are from the sender's point of view: a client's SNRM proposes what
 * the client transmits/receives, the server's UA states what the server transmits/receives.
 * Absent parameters (or an empty information field) mean the defaults: 128 octets, window 1.
 */
import { DlmsEncodeError, FrameError } from '../errors.js';

export interface HdlcParameters {
  readonly maxInfoTransmit: number;
  readonly maxInfoReceive: number;
  readonly windowTransmit: number;
  readonly windowReceive: number;
}

export const DEFAULT_HDLC_PARAMETERS: HdlcParameters = {
  maxInfoTransmit: 128,
  maxInfoReceive: 128,
  windowTransmit: 1,
  windowReceive: 1,
};

/** Green Book §8.4.5.3.2: at most 2030 octets of information field in a type-3 frame. */
export const HDLC_MAX_INFO_LENGTH = 2030;
/** Smallest useful information field: the 3-octet LLC header plus one octet of APDU. */
export const HDLC_MIN_INFO_LENGTH = 4;
/** Sequence numbers are mod 8, so at most 7 frames may be outstanding. */
export const HDLC_MAX_WINDOW = 7;

const FORMAT_ID = 0x81;
const GROUP_ID = 0x80;
const PARAM = { maxInfoTransmit: 0x05, maxInfoReceive: 0x06, windowTransmit: 0x07, windowReceive: 0x08 } as const;

/**
 * Encodes parameters for a SNRM or UA information field. Lengths use the fewest octets
 * (1 or 2); window sizes use 4 octets, as the published examples and most meters do.
 * With `omitDefaults`, parameters equal to the default are left out (an empty result means
 * "all defaults", i.e. a SNRM without information field).
 */
export function encodeHdlcParameters(p: HdlcParameters, options: { omitDefaults?: boolean } = {}): Uint8Array {
  checkParameters(p, (m) => new DlmsEncodeError('hdlc', m), true);
  const body: number[] = [];
  for (const key of ['maxInfoTransmit', 'maxInfoReceive', 'windowTransmit', 'windowReceive'] as const) {
    const v = p[key];
    if (options.omitDefaults && v === DEFAULT_HDLC_PARAMETERS[key]) continue;
    body.push(PARAM[key]);
    if (key.startsWith('window')) body.push(4, 0, 0, 0, v);
    else if (v <= 0xff) body.push(1, v);
    else body.push(2, v >> 8, v & 0xff);
  }
  if (body.length === 0) return new Uint8Array(0);
  return Uint8Array.of(FORMAT_ID, GROUP_ID, body.length, ...body);
}

/** Decodes a SNRM/UA information field; empty means all defaults. Throws FrameError. */
export function decodeHdlcParameters(info: Uint8Array): HdlcParameters {
  if (info.length === 0) return DEFAULT_HDLC_PARAMETERS;
  const fail = (m: string): FrameError => new FrameError('hdlc', `negotiation parameters: ${m}`);
  if (info.length < 3 || info[0] !== FORMAT_ID || info[1] !== GROUP_ID) throw fail('expected 81 80 <group length>');
  const groupLength = info[2] ?? 0;
  if (groupLength !== info.length - 3) throw fail(`group length ${groupLength} but ${info.length - 3} octets follow`);
  const out: { -readonly [K in keyof HdlcParameters]: number } = { ...DEFAULT_HDLC_PARAMETERS };
  let p = 3;
  while (p < info.length) {
    if (p + 2 > info.length) throw fail('truncated parameter');
    const id = info[p] ?? 0;
    const len = info[p + 1] ?? 0;
    p += 2;
    if (len < 1 || len > 4 || p + len > info.length) throw fail(`parameter 0x${id.toString(16)} has bad length ${len}`);
    let v = 0;
    for (let i = 0; i < len; i++) v = v * 256 + (info[p + i] ?? 0);
    p += len;
    // Unknown parameters are skipped: the group may grow in later editions.
    if (id === PARAM.maxInfoTransmit) out.maxInfoTransmit = v;
    else if (id === PARAM.maxInfoReceive) out.maxInfoReceive = v;
    else if (id === PARAM.windowTransmit) out.windowTransmit = v;
    else if (id === PARAM.windowReceive) out.windowReceive = v;
  }
  checkParameters(out, fail, false);
  return out;
}

/**
 * Server side: the UA answer to a client's proposal. Each direction gets the smaller of what
 * one side can send and the other can receive; values are the server's point of view.
 */
export function answerProposal(proposal: HdlcParameters, server: HdlcParameters): HdlcParameters {
  return {
    maxInfoTransmit: clampInfo(Math.min(server.maxInfoTransmit, proposal.maxInfoReceive)),
    maxInfoReceive: clampInfo(Math.min(server.maxInfoReceive, proposal.maxInfoTransmit)),
    windowTransmit: clampWindow(Math.min(server.windowTransmit, proposal.windowReceive)),
    windowReceive: clampWindow(Math.min(server.windowReceive, proposal.windowTransmit)),
  };
}

/**
 * Client side: the parameters in force after a UA, from the client's point of view (the UA's
 * transmit is our receive). We never transmit more than we proposed.
 */
export function acceptAnswer(answer: HdlcParameters, proposal: HdlcParameters): HdlcParameters {
  return {
    maxInfoTransmit: clampInfo(Math.min(answer.maxInfoReceive, proposal.maxInfoTransmit)),
    maxInfoReceive: clampInfo(answer.maxInfoTransmit),
    windowTransmit: clampWindow(Math.min(answer.windowReceive, proposal.windowTransmit)),
    windowReceive: clampWindow(answer.windowTransmit),
  };
}

/**
 * What we send stays within the limits; what a peer sends only needs a usable lower bound,
 * since answerProposal/acceptAnswer clamp large values (a meter announcing more than 2030
 * octets or a window above 7 is still served, within our limits).
 */
function checkParameters(p: HdlcParameters, fail: (m: string) => Error, upperBound: boolean): void {
  for (const key of ['maxInfoTransmit', 'maxInfoReceive'] as const) {
    const v = p[key];
    if (!Number.isInteger(v) || v < HDLC_MIN_INFO_LENGTH || (upperBound && v > HDLC_MAX_INFO_LENGTH)) {
      throw fail(`${key} ${v} outside ${HDLC_MIN_INFO_LENGTH}..${HDLC_MAX_INFO_LENGTH}`);
    }
  }
  for (const key of ['windowTransmit', 'windowReceive'] as const) {
    const v = p[key];
    if (!Number.isInteger(v) || v < 1 || (upperBound && v > HDLC_MAX_WINDOW)) throw fail(`${key} ${v} outside 1..${HDLC_MAX_WINDOW}`);
  }
}

function clampInfo(v: number): number {
  return Math.min(v, HDLC_MAX_INFO_LENGTH);
}

function clampWindow(v: number): number {
  return Math.min(v, HDLC_MAX_WINDOW);
}
