/**
 * Invoke-Id-And-Priority (one octet) and Long-Invoke-Id-And-Priority (four octets),
 * IEC 62056-5-3 §8 / Green Book §9.5 xDLMS ASN.1:
 *   bits 0-3 invoke-id, 4-5 reserved, bit 6 service-class (1 = confirmed), bit 7 priority (1 = high);
 *   long: bits 0-23 long-invoke-id, 24-27 reserved, 28 self-descriptive, 29 processing-option
 *   (1 = break on error), 30 service-class, 31 priority.
 */
import { DlmsEncodeError } from '../errors.js';

export interface InvokeIdAndPriority {
  /** 0..15; a client numbers its requests so replies can be matched. */
  readonly invokeId: number;
  readonly confirmed: boolean;
  readonly highPriority: boolean;
}

export interface LongInvokeIdAndPriority {
  /** 0..0xFFFFFF. */
  readonly invokeId: number;
  readonly selfDescriptive: boolean;
  readonly breakOnError: boolean;
  readonly confirmed: boolean;
  readonly highPriority: boolean;
}

/** What most clients send (0xC1 with invoke id 1): confirmed, high priority. */
export function invokeIdAndPriority(invokeId: number, confirmed = true, highPriority = true): InvokeIdAndPriority {
  return { invokeId, confirmed, highPriority };
}

export function decodeInvokeIdAndPriority(b: number): InvokeIdAndPriority {
  return { invokeId: b & 0x0f, confirmed: (b & 0x40) !== 0, highPriority: (b & 0x80) !== 0 };
}

export function encodeInvokeIdAndPriority(p: InvokeIdAndPriority): number {
  if (!Number.isInteger(p.invokeId) || p.invokeId < 0 || p.invokeId > 0x0f) {
    throw new DlmsEncodeError('apdu', `invoke-id ${p.invokeId} does not fit in 4 bits`);
  }
  return p.invokeId | (p.confirmed ? 0x40 : 0) | (p.highPriority ? 0x80 : 0);
}

export function decodeLongInvokeIdAndPriority(v: number): LongInvokeIdAndPriority {
  return {
    invokeId: v & 0xffffff,
    selfDescriptive: (v & 0x10000000) !== 0,
    breakOnError: (v & 0x20000000) !== 0,
    confirmed: (v & 0x40000000) !== 0,
    highPriority: (v & 0x80000000) !== 0,
  };
}

export function encodeLongInvokeIdAndPriority(p: LongInvokeIdAndPriority): number {
  if (!Number.isInteger(p.invokeId) || p.invokeId < 0 || p.invokeId > 0xffffff) {
    throw new DlmsEncodeError('apdu', `long-invoke-id ${p.invokeId} does not fit in 24 bits`);
  }
  return (p.invokeId + (p.selfDescriptive ? 0x10000000 : 0) + (p.breakOnError ? 0x20000000 : 0) +
    (p.confirmed ? 0x40000000 : 0) + (p.highPriority ? 0x80000000 : 0)) >>> 0;
}
