/**
 * Image transfer (DLMS UA Blue Book §4.4.6, IC 18) and the Single action schedule that
 * activates an image later (Blue Book §4.5.7, IC 22): pure codecs of their attributes and
 * method parameters. The steps over a connection are in client/imageTransfer.ts.
 */
import type { ImageTransferStatus } from '../../adapter.js';
import type { DlmsData } from '../axdr/data.js';
import { encodeCosemDate, encodeCosemTime, epochMsToCosemDateTime } from '../axdr/dateTime.js';
import { asArray, asBytes, asNumber, asStructure } from '../axdr/describe.js';
import { DlmsDecodeError, DlmsEncodeError } from '../errors.js';

/** Default instances (Blue Book / IEC 62056-6-1 OBIS; the firmware contract's defaults). */
export const IMAGE_OBIS = {
  imageTransfer: '0.0.44.0.0.255',
  /** The Single action schedule of image activation. */
  activationSchedule: '0.0.15.0.2.255',
  /** Active firmware identifier and signature (IC 1 Data, electricity metering part). */
  firmwareIdentifier: '1.0.0.2.0.255',
  firmwareSignature: '1.0.0.2.8.255',
} as const;

/** image_transfer_status (attribute 6) values, in the order the Blue Book numbers them from 0. */
export const IMAGE_TRANSFER_STATUS: readonly ImageTransferStatus[] = [
  'image-transfer-not-initiated', 'image-transfer-initiated', 'image-verification-initiated', 'image-verification-successful',
  'image-verification-failed', 'image-activation-initiated', 'image-activation-successful', 'image-activation-failed',
];

/** The status by name, or the number a meter sent that the Blue Book does not name. */
export function imageTransferStatusOf(d: DlmsData): ImageTransferStatus | number {
  const n = asNumber(d, 'image_transfer_status');
  return IMAGE_TRANSFER_STATUS[n] ?? n;
}

/** One entry of image_to_activate_info (attribute 7). */
export interface ImageToActivate {
  readonly size: number;
  readonly identification: Uint8Array;
  readonly signature: Uint8Array;
}

/** Attribute 7: array of structure {image_to_activate_size, image_to_activate_identification, image_to_activate_signature}. */
export function decodeImageToActivateInfo(d: DlmsData): ImageToActivate[] {
  return asArray(d, 'image_to_activate_info').map((entry, i) => {
    // asStructure checked there are three members.
    const [size, identification, signature] = asStructure(entry, 3, `image_to_activate_info[${i}]`) as [DlmsData, DlmsData, DlmsData];
    return {
      size: asNumber(size, 'image_to_activate_size'),
      identification: asBytes(identification, 'image_to_activate_identification'),
      signature: asBytes(signature, 'image_to_activate_signature'),
    };
  });
}

/** Blocks an image of `size` octets takes in blocks of `blockSize`: all full but the last. */
export function blockCount(size: number, blockSize: number): number {
  if (!Number.isSafeInteger(blockSize) || blockSize < 1) throw new DlmsDecodeError('cosem', `image_block_size ${blockSize} is not a positive integer`);
  return Math.ceil(size / blockSize);
}

/** Block `n` of `image`: `blockSize` octets from n × blockSize, fewer for the last. */
export function imageBlock(image: Uint8Array, n: number, blockSize: number): Uint8Array {
  return image.subarray(n * blockSize, Math.min(image.length, (n + 1) * blockSize));
}

/**
 * Whether the meter holds each of the first `total` blocks, from image_transferred_blocks_status
 * (attribute 3): bit n, counted from the most significant bit of the first octet as A-XDR
 * carries a bit-string, is block n. Bits the meter did not send are blocks it does not hold.
 */
export function heldBlocks(d: DlmsData, total: number): boolean[] {
  if (d.type !== 'bit-string') throw new DlmsDecodeError('cosem', `image_transferred_blocks_status: expected a bit-string, got ${d.type}`);
  const { bits, bytes } = d.value;
  const held: boolean[] = [];
  for (let n = 0; n < total; n++) held.push(n < bits && (((bytes[n >> 3] ?? 0) >> (7 - (n & 7))) & 1) === 1);
  return held;
}

/** The numbers of the blocks not held, ascending. */
export function missingBlocks(held: readonly boolean[]): number[] {
  const out: number[] = [];
  held.forEach((h, n) => { if (!h) out.push(n); });
  return out;
}

/** Method 1 image_transfer_initiate: structure {image_identifier octet-string, image_size double-long-unsigned}. */
export function encodeImageTransferInitiate(identifier: Uint8Array, size: number): DlmsData {
  return { type: 'structure', value: [{ type: 'octet-string', value: identifier }, doubleLongUnsigned(size, 'image_size')] };
}

/** Method 2 image_block_transfer: structure {image_block_number double-long-unsigned, image_block_value octet-string}. */
export function encodeImageBlockTransfer(blockNumber: number, value: Uint8Array): DlmsData {
  return { type: 'structure', value: [doubleLongUnsigned(blockNumber, 'image_block_number'), { type: 'octet-string', value }] };
}

/** Methods 3 image_verify and 4 image_activate take data ::= integer (0). */
export const IMAGE_METHOD_NO_DATA: DlmsData = { type: 'integer', value: 0 };

/**
 * IC 22 attribute 4 execution_time for one instant: array of one structure {time
 * octet-string(4), date octet-string(5)} in the meter's local time (the schedule carries no
 * deviation, IEC 62056-6-2 §4.1.6.1 formats), given as the offset the meter's clock reports
 * (COSEM sign: UTC = local + deviation). Whole seconds: hundredths 0.
 */
export function encodeExecutionTime(instantMs: number, deviationMinutes: number): DlmsData {
  const local = epochMsToCosemDateTime(instantMs, deviationMinutes);
  return {
    type: 'array',
    value: [{
      type: 'structure',
      value: [
        { type: 'octet-string', value: encodeCosemTime({ ...local.time, hundredths: 0 }) },
        { type: 'octet-string', value: encodeCosemDate(local.date) },
      ],
    }],
  };
}

/**
 * What of image_to_activate_info does not describe the image sent: 'identification' when no
 * entry carries its identifier, else 'size' and 'signature' of that entry (the signature only
 * when both the meter and the image have one). Empty: it matches.
 */
export function imageInfoDifferences(
  entries: readonly ImageToActivate[], image: { readonly identifier: Uint8Array; readonly size: number; readonly signature?: Uint8Array | undefined },
): ('identification' | 'size' | 'signature')[] {
  const entry = entries.find((e) => sameBytes(e.identification, image.identifier));
  if (entry === undefined) return ['identification'];
  const out: ('size' | 'signature')[] = [];
  if (entry.size !== image.size) out.push('size');
  const signature = image.signature;
  if (signature !== undefined && signature.length > 0 && entry.signature.length > 0 && !sameBytes(entry.signature, signature)) out.push('signature');
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function doubleLongUnsigned(n: number, what: string): DlmsData {
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) throw new DlmsEncodeError('cosem', `${what} ${n} does not fit a double-long-unsigned`);
  return { type: 'double-long-unsigned', value: n };
}
