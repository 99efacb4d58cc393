/**
 * What multi-quantity detectors look at: the latest value of each quantity of one meter,
 * as the engine keeps it. A quantity the meter does not report is simply absent.
 */
import type { Quantity } from '../../domain/quantity.js';

export type Snapshot = Readonly<Partial<Record<Quantity, number>>>;

export type LinePhase = 'l1' | 'l2' | 'l3';

export const LINE_PHASES: readonly LinePhase[] = ['l1', 'l2', 'l3'];

/** Input of a per-phase detector: the engine keeps one state per (rule, meter, phase). */
export interface PhaseInput {
  readonly phase: LinePhase;
  readonly values: Snapshot;
}

export function voltageOf(values: Snapshot, phase: LinePhase): number | undefined {
  return values[`voltage.${phase}`];
}

export function currentOf(values: Snapshot, phase: LinePhase): number | undefined {
  return values[`current.${phase}`];
}

/** The other phases' values of a per-phase quantity, skipping those the meter does not report. */
export function otherPhases(values: Snapshot, phase: LinePhase, of: typeof voltageOf): number[] {
  const out: number[] = [];
  for (const p of LINE_PHASES) {
    if (p === phase) continue;
    const v = of(values, p);
    if (v !== undefined) out.push(v);
  }
  return out;
}
