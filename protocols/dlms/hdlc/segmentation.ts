/**
 * Splitting an LLC PDU into information fields and putting it back together
 * (IEC 62056-46 §6.4.4.4.3.5 segmentation; Green Book §8.4.5.4.2): every segment but the
 * last fills the negotiated maximum information field length and travels with S = 1.
 */

/** Information fields of at most `maxInfo` octets; at least one (an empty PDU is one empty segment). */
export function splitSegments(pdu: Uint8Array, maxInfo: number): Uint8Array[] {
  if (!Number.isInteger(maxInfo) || maxInfo < 1) throw new RangeError(`maxInfo ${maxInfo} must be a positive integer`);
  const out: Uint8Array[] = [];
  for (let off = 0; off < pdu.length; off += maxInfo) out.push(pdu.subarray(off, off + maxInfo));
  if (out.length === 0) out.push(pdu);
  return out;
}

/** Collects segments up to `max` octets; beyond that it drops them and reports the overflow once. */
export class Reassembly {
  private parts: Uint8Array[] = [];
  private size = 0;
  private overflowed = false;

  constructor(private readonly max: number) {}

  /** True while a segmented PDU is being collected. */
  get active(): boolean {
    return this.parts.length > 0 || this.overflowed;
  }

  /** Adds one segment; false when the total would exceed the limit (the PDU is then lost). */
  append(segment: Uint8Array): boolean {
    if (this.overflowed) return false;
    if (this.size + segment.length > this.max) {
      this.overflowed = true;
      this.parts = [];
      this.size = 0;
      return false;
    }
    this.parts.push(segment);
    this.size += segment.length;
    return true;
  }

  /**
   * Ends the PDU: its bytes, or undefined if it overflowed. Either way the reassembly is
   * empty afterwards.
   */
  finish(): Uint8Array | undefined {
    const lost = this.overflowed;
    const out = new Uint8Array(this.size);
    let off = 0;
    for (const p of this.parts) {
      out.set(p, off);
      off += p.length;
    }
    this.reset();
    return lost ? undefined : out;
  }

  reset(): void {
    this.parts = [];
    this.size = 0;
    this.overflowed = false;
  }
}
