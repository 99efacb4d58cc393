/**
 * Labels shared by the detectors' explanations. Numbers, durations and instants are typed
 * arguments of the explanation (src/rules/explanation.ts), formatted when it is read.
 */

/** `l2` → `L2`, the way phases are written on equipment and in procedures. */
export function phaseLabel(phase: string): string {
  return phase.toUpperCase();
}
