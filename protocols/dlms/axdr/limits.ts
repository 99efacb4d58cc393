/**
 * Bounds on what one decode may build. The standard sets none; they are ours, so forged
 * counts and lengths from a peer are refused before they allocate or loop.
 */
import type { ByteReader } from '../bytes.js';

export interface DecodeLimits {
  /** Deepest nesting of array/structure/compact-array (and of a compact-array's type description). */
  readonly maxDepth: number;
  /** Most elements in one array, structure or compact-array. */
  readonly maxElements: number;
  /** Longest octet-string/visible-string/utf8-string in octets (bit-string: 8× as many bits). */
  readonly maxStringLength: number;
  /** Most values (every node, containers included) built by one decode call. */
  readonly maxValues: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  maxDepth: 16,
  // A year of 15-minute profile rows is 35,040 entries; leave room above it.
  maxElements: 100_000,
  maxStringLength: 65_535,
  maxValues: 2_000_000,
};

/** Per-call decoding state: the limits and the values built so far. */
export class DecodeBudget {
  readonly limits: DecodeLimits;
  private values = 0;

  constructor(limits: Partial<DecodeLimits> = {}) {
    this.limits = { ...DEFAULT_DECODE_LIMITS, ...limits };
  }

  /** Counts one more value, failing once the call has built more than `maxValues`. */
  spend(r: ByteReader): void {
    if (++this.values > this.limits.maxValues) r.fail(`more than ${this.limits.maxValues} values in one decode`);
  }

  /** Fails when a container at `depth` (0 = outermost) would nest deeper than `maxDepth`. */
  enter(r: ByteReader, depth: number, at: number): void {
    if (depth >= this.limits.maxDepth) r.fail(`nesting deeper than ${this.limits.maxDepth} levels`, at);
  }
}
