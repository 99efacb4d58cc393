/**
 * Fitting requests into the server's max receive PDU size (negotiated in the InitiateResponse,
 * Green Book §9.4.6.1): a client must not send an APDU larger than that. GET-with-list is cut
 * into several requests; a SET whose encoding is too large goes in blocks.
 */
import { encodeData } from '../axdr/codec.js';
import type { AttributeWithSelection } from '../apdu/descriptors.js';

/** Tag, choice and invoke-id-and-priority: the fixed head of every xDLMS request. */
const REQUEST_HEAD = 3;
/** class-id (2) + instance-id (6) + attribute-id (1) + access-selection presence (1). */
const DESCRIPTOR_WITH_PRESENCE = 10;

/**
 * Consecutive slices of `items`, each with at most `maxItems` entries and
 * an encoded Get-Request-With-List no larger than `maxPdu`. An item too large on its own
 * gets a slice to itself: the server then decides, as it would for a normal GET.
 */
export function planListChunks<T extends AttributeWithSelection>(items: readonly T[], maxItems: number, maxPdu: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    const itemSize = encodedSize(item);
    const grown = REQUEST_HEAD + lengthOctets(current.length + 1) + size + itemSize;
    if (current.length > 0 && (current.length >= maxItems || grown > maxPdu)) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += itemSize;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * The raw-data octets per block of a long SET so that Set-Request-With-First-Datablock fits
 * in `maxPdu`, given the encoded size of that request with an empty block. The raw-data
 * length prefix then grows from one octet to at most three (0x82 hi lo, since maxPdu ≤ 65535).
 */
export function setBlockSize(maxPdu: number, emptyFirstBlockSize: number): number {
  return maxPdu - (emptyFirstBlockSize + 2);
}

function encodedSize(a: AttributeWithSelection): number {
  if (a.access === undefined) return DESCRIPTOR_WITH_PRESENCE;
  return DESCRIPTOR_WITH_PRESENCE + 1 + encodeData(a.access.parameters).length;
}

/** Octets of an A-XDR length for `n` (IEC 62056-5-3: short form below 128). */
function lengthOctets(n: number): number {
  if (n < 0x80) return 1;
  if (n <= 0xff) return 2;
  return n <= 0xffff ? 3 : 5;
}
