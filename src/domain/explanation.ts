/**
 * An alarm explanation as data (built and rendered by src/rules/explanation.ts): template
 * parts with typed arguments, so it can be read in the reader's language and time zone.
 */

/** One argument of a template. */
export type ExplanationArg =
  | string
  /** A value with fixed decimals and its unit ('' for none). */
  | { readonly v: number; readonly d: number; readonly u: string }
  /** A percentage: `20%`, `4.5%`; signed: `+10%`. */
  | { readonly pct: number; readonly signed?: true }
  | { readonly ms: number }
  /** An instant, ms since the epoch, written relative to the explanation's reference time. */
  | { readonly at: number }
  /** A word of the station's vocabulary (quantity, event code): translated when known. */
  | { readonly term: string }
  /** Items joined by commas, or by "or" (`or: true`). */
  | { readonly list: readonly ExplanationArg[]; readonly or?: true }
  | { readonly clause: ExplanationPart };

export interface ExplanationPart {
  /** Stable template id: the key of its translations. */
  readonly id: string;
  /** The English template's literal pieces, one more than `args`. */
  readonly en: readonly string[];
  readonly args: readonly ExplanationArg[];
}

/** What an alarm stores: the parts, read in order, and the instant they were written at. */
export interface Explanation {
  readonly ref: number;
  readonly parts: readonly ExplanationPart[];
}
