/**
 * The shedding state machine of one program (轮次), pure: given where the program stands and
 * one observation, where it goes and what must happen. The evaluator performs the effects
 * (signals, rounds, restores) and persists the state.
 *
 *   disabled ⇄ armed → alarming → round 1 → round 2 … → restoring → armed
 *                         ↑__________ (load back under before round 1) ← alarming
 *
 * - Over the limit (or, for an energy budget, at its warning share; for a purchased one, at
 *   the limit itself: nothing remains) an armed program alarms.
 * - Round n is due once the load has been over the limit continuously for rounds[n−1].afterMs
 *   (measured from the onset of that stretch; leaving the limit resets it).
 * - The program restores once the load has stayed at or under limit × (1 − hysteresis) for
 *   restoreAfterMs; values inside the hysteresis band count as neither over nor under, so a
 *   load flapping around the limit neither trips nor restores.
 * - No fresh value: nothing moves (no trip on missing data, no restore either).
 */
import type { ShedRoundConfig } from '../../config/schema.js';
import type { ControlError } from '../../control/port.js';
import type { Target } from './limits.js';
import type { EnergyCount } from './measure.js';

export type ProgramPhase = 'disabled' | 'armed' | 'alarming' | 'round' | 'restoring';

/** An action a round took (or, in dry-run, would have taken); restore undoes those not refused. */
export interface TrippedAction {
  readonly meterId: string;
  readonly command: 'disconnect' | 'set-limit';
  readonly limitKw?: number;
  readonly round: number;
  readonly status: 'verified' | 'failed' | 'refused' | 'dry-run';
  readonly at: number;
  readonly error?: ControlError;
}

export interface ProgramState {
  readonly phase: ProgramPhase;
  /** Last round executed (0: none). */
  readonly round: number;
  /** When the present phase began. */
  readonly since: number;
  readonly overSince: number | null;
  readonly underSince: number | null;
  /** A round started and not yet finished (resumed after a restart). */
  readonly executingRound: number | null;
  readonly tripped: readonly TrippedAction[];
  /** floating-down: arming time and the limit fixed then. */
  readonly floating: { readonly armedAt: number; readonly limitKw: number | null } | null;
  /** monthly-energy: the month and the energy counted in it (`baselines` alone: stored before counts, read by measure.ts). */
  readonly monthly: { readonly month: string; readonly count?: EnergyCount; readonly baselines?: Readonly<Record<string, number>> } | null;
  /**
   * purchase-energy: the energy counted since the program started, and the `warnKwh`
   * thresholds the remaining energy is at or under (each warned once as it was crossed; one a
   * top-up lifts the remaining above leaves the list, to warn again at the next crossing).
   * Absent in a state stored before the kind existed.
   */
  readonly purchase?: { readonly consumed: EnergyCount; readonly warned: readonly number[] } | null;
  /** Failed restore attempts in a row, and when to try again. */
  readonly restoreFailures: number;
  readonly nextRestoreAt: number;
  /** The last observation, for the API. */
  readonly last: { readonly at: number; readonly value: number | null; readonly limit: number | null; readonly basis: string } | null;
}

export interface MachineParams {
  readonly rounds: readonly ShedRoundConfig[];
  readonly hysteresisPercent: number;
  readonly restoreAfterMs: number;
}

export interface Observation {
  readonly t: number;
  /** Load (kW) or month energy (kWh); undefined when no fresh value exists. */
  readonly value: number | undefined;
  readonly target: Target;
}

export type Effect =
  | { readonly kind: 'raise' }
  | { readonly kind: 'clear' }
  | { readonly kind: 'round'; readonly round: number }
  | { readonly kind: 'restore' };

export function initialState(enabled: boolean, t: number): ProgramState {
  return {
    phase: enabled ? 'armed' : 'disabled', round: 0, since: t, overSince: null, underSince: null, executingRound: null,
    tripped: [], floating: null, monthly: null, purchase: null, restoreFailures: 0, nextRestoreAt: 0, last: null,
  };
}

export function step(s: ProgramState, obs: Observation, p: MachineParams): { state: ProgramState; effects: Effect[] } {
  const { t, value, target } = obs;
  const last = { at: t, value: value ?? null, limit: target.limit ?? null, basis: target.basis };
  if (s.phase === 'disabled' || s.executingRound !== null || value === undefined) return { state: { ...s, last }, effects: [] };
  if (s.phase === 'restoring') {
    return t >= s.nextRestoreAt ? { state: { ...s, last }, effects: [{ kind: 'restore' }] } : { state: { ...s, last }, effects: [] };
  }
  const limit = target.limit;
  const exhausted = target.exhaustedAtLimit === true;
  const over = isOver(value, target);
  const warn = target.warnAt !== undefined && value >= target.warnAt;
  // Under: clear of the alarm threshold by the hysteresis; with no limit now everything is under.
  const threshold = target.warnAt ?? limit;
  const under = threshold === undefined || (exhausted ? value < threshold : value <= threshold * (1 - p.hysteresisPercent / 100));
  const next: ProgramState = {
    ...s,
    last,
    overSince: over ? (s.overSince ?? t) : null,
    underSince: under ? (s.underSince ?? t) : null,
  };
  const restoreDue = next.underSince !== null && t - next.underSince >= p.restoreAfterMs;
  switch (s.phase) {
    case 'armed':
      return over || warn ? { state: { ...next, phase: 'alarming', since: t }, effects: [{ kind: 'raise' }] } : { state: next, effects: [] };
    case 'alarming':
    case 'round': {
      const due = p.rounds[s.round];
      if (due !== undefined && next.overSince !== null && t - next.overSince >= due.afterMs) {
        const round = s.round + 1;
        return { state: { ...next, phase: 'round', round, since: t, executingRound: round }, effects: [{ kind: 'round', round }] };
      }
      if (!restoreDue) return { state: next, effects: [] };
      if (s.phase === 'alarming' && s.tripped.length === 0) {
        return { state: { ...next, phase: 'armed', since: t, round: 0 }, effects: [{ kind: 'clear' }] };
      }
      return { state: { ...next, phase: 'restoring', since: t, nextRestoreAt: t }, effects: [{ kind: 'restore' }] };
    }
  }
}

/** Whether a value is over its target's limit: past it, or for a bought budget at it already. */
export function isOver(value: number, target: Target): boolean {
  if (target.limit === undefined) return false;
  return target.exhaustedAtLimit === true ? value >= target.limit : value > target.limit;
}

/** The round that comes next and when it is due, for explanations and previews. */
export function nextRound(s: ProgramState, p: MachineParams): { readonly round: number; readonly config: ShedRoundConfig; readonly dueAt: number | null } | undefined {
  const config = p.rounds[s.round];
  if (config === undefined) return undefined;
  return { round: s.round + 1, config, dueAt: s.overSince === null ? null : s.overSince + config.afterMs };
}
