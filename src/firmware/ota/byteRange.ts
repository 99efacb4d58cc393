/**
 * Which bytes of an image a download sends (RFC 9110 §14, §13.1.5): the whole image, one
 * range of it (206), or nothing (416). Pure: the raw `Range` and `If-Range` header values,
 * the image's size and its entity tag in, the selection out.
 *
 * Deliberate simplifications, all allowed by §14.2 ("a server MAY ignore the Range header
 * field"): a malformed Range, a range unit other than `bytes`, and a request for more than
 * one range are answered with the whole image (200). A terminal resumes with one range.
 */

/** What a download sends: `end` is inclusive, as in `Content-Range` (§14.4). */
export type ByteSelection =
  | { readonly kind: 'whole' }
  | { readonly kind: 'range'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' };

export interface RangeRequest {
  /** The `Range` header, as received. */
  readonly range?: string | undefined;
  /** The `If-Range` header, as received. */
  readonly ifRange?: string | undefined;
}

/** Range headers longer than this are not parsed (the whole image is sent): a resume needs ~40 characters. */
const MAX_RANGE_HEADER = 256;

/** `etag` is the representation's strong entity tag, quoted (`"<sha256>"`). */
export function selectBytes(request: RangeRequest, size: number, etag: string): ByteSelection {
  const { range, ifRange } = request;
  if (range === undefined) return { kind: 'whole' };
  // §13.1.5: the range applies only if the validator matches by the strong comparison (§8.8.3.2);
  // a weak tag or an HTTP-date never does (we send no Last-Modified), so the client gets the whole image.
  if (ifRange !== undefined && ifRange.trim() !== etag) return { kind: 'whole' };
  const spec = parseSingleRange(range);
  if (spec === undefined) return { kind: 'whole' };
  return satisfy(spec, size);
}

/** `Content-Range` of a 206 (`bytes a-b/size`) or of a 416 (`bytes *\/size`), §14.4. */
export function contentRange(selection: ByteSelection, size: number): string {
  return selection.kind === 'range' ? `bytes ${selection.start}-${selection.end}/${size}` : `bytes */${size}`;
}

type RangeSpec = { readonly first: number; readonly last: number | undefined } | { readonly suffix: number };

/**
 * §14.1.1 / §14.1.2: `bytes=first-[last]` or `bytes=-suffix`, the unit case-insensitive, OWS
 * around the `=`-separated set tolerated. Undefined for anything else, several ranges included.
 */
function parseSingleRange(header: string): RangeSpec | undefined {
  if (header.length > MAX_RANGE_HEADER) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (m === null) return undefined;
  const [, firstText = '', lastText = ''] = m;
  if (firstText === '') {
    if (lastText === '') return undefined;
    const suffix = toPosition(lastText);
    return suffix === undefined ? undefined : { suffix };
  }
  const first = toPosition(firstText);
  const last = lastText === '' ? undefined : toPosition(lastText);
  if (first === undefined || (lastText !== '' && last === undefined)) return undefined;
  // §14.1.1: a last-pos below its first-pos makes the range-spec invalid, hence the header ignored.
  if (last !== undefined && last < first) return undefined;
  return { first, last };
}

/** A position past 2^53 cannot name a byte of any image; treated as malformed rather than rounded. */
function toPosition(digits: string): number | undefined {
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** §14.1.1: satisfiable if it starts inside the image (a suffix: if it asks for at least one byte); the end is clamped. */
function satisfy(spec: RangeSpec, size: number): ByteSelection {
  if ('suffix' in spec) {
    if (spec.suffix === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - spec.suffix), end: size - 1 };
  }
  if (spec.first >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', start: spec.first, end: Math.min(spec.last ?? size - 1, size - 1) };
}
