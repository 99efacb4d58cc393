/**
 * Words for operators: the explanation each alarm signal of a program carries (load, limit,
 * program, and what happens next), and the preview of what a program would do now.
 */
import type { LoadControlProgramConfig, ShedRoundConfig } from '../../config/schema.js';
import { clause, instant, list, say, term, value as valueArg, type ExplanationArg, type ExplanationPart } from '../explanation.js';
import type { Target } from './limits.js';
import { isOver, nextRound, type MachineParams, type ProgramState, type TrippedAction } from './machine.js';
import type { MeterDirectory } from './measure.js';

export interface RoundPreview {
  readonly round: number;
  readonly afterMs: number;
  readonly action: ShedRoundConfig['action'];
  readonly limitKw?: number;
  /** When it becomes due if the load stays over (null: the load is not over now). */
  readonly dueAt: number | null;
  readonly done: boolean;
  readonly meters: readonly { readonly meterId: string; readonly outcome: 'would-act' | 'skipped-protected' | 'unknown-meter' | 'already-done' }[];
}

export interface ProgramPreview {
  readonly programId: string;
  readonly at: number;
  readonly dryRun: boolean;
  readonly phase: ProgramState['phase'];
  readonly value: number | null;
  readonly limit: number | null;
  readonly unit: Target['unit'];
  readonly basis: string;
  readonly basisData: ExplanationPart;
  readonly over: boolean;
  readonly rounds: readonly RoundPreview[];
  /** What a restore would undo now, in order. */
  readonly restore: readonly { readonly meterId: string; readonly command: 'reconnect' | 'clear-limit' }[];
}

export function preview(
  p: LoadControlProgramConfig, s: ProgramState, at: number, value: number | undefined, target: Target, dir: MeterDirectory,
): ProgramPreview {
  const over = value !== undefined && isOver(value, target);
  const onset = s.overSince ?? (over ? at : null);
  return {
    programId: p.id, at, dryRun: p.dryRun, phase: s.phase, value: value ?? null, limit: target.limit ?? null, unit: target.unit, basis: target.basis, basisData: target.basisData, over,
    rounds: p.rounds.map((r, i) => {
      const round = i + 1;
      const done = s.round >= round && s.executingRound !== round;
      return {
        round, afterMs: r.afterMs, action: r.action, ...(r.limitKw === undefined ? {} : { limitKw: r.limitKw }),
        dueAt: onset === null || done ? null : onset + r.afterMs,
        done,
        meters: r.meters.map((meterId) => {
          if (s.tripped.some((a) => a.round === round && a.meterId === meterId)) return { meterId, outcome: 'already-done' as const };
          const m = dir.meter(meterId);
          if (m === undefined) return { meterId, outcome: 'unknown-meter' as const };
          return { meterId, outcome: m.protected ? ('skipped-protected' as const) : ('would-act' as const) };
        }),
      };
    }),
    restore: undoList(s.tripped),
  };
}

/** The undo of each action that took (or may have taken) effect, latest first. */
export function undoList(tripped: readonly TrippedAction[]): { meterId: string; command: 'reconnect' | 'clear-limit' }[] {
  return [...tripped].reverse()
    .filter((a) => a.status === 'verified' || a.status === 'failed')
    .map((a) => ({ meterId: a.meterId, command: a.command === 'disconnect' ? 'reconnect' as const : 'clear-limit' as const }));
}

export function raiseExplanation(p: LoadControlProgramConfig, s: ProgramState, params: MachineParams, value: number, target: Target): ExplanationPart[] {
  if (target.exhaustedAtLimit === true) {
    return [say('lc.purchase-exhausted')`Program ${label(p)} has used ${figure(value, target.unit)} of the ${figure(target.limit ?? 0, target.unit)} purchased: nothing remains; ${clause(whatNext(p, s, params))}.`];
  }
  const against = clause(target.warnAt !== undefined && (target.limit === undefined || value <= target.limit)
    ? say('lc.budget-reached')`has reached ${percent(value, target.limit)} of its budget ${figure(target.limit ?? 0, target.unit)} (warning at ${figure(target.warnAt, target.unit)})`
    : say('lc.over-limit')`is over its limit ${figure(target.limit ?? 0, target.unit)}`);
  return [say('lc.raise')`${figure(value, target.unit)} ${clause(subjectOf(p))} of program ${label(p)} (${clause(target.basisData)}) ${against}; ${clause(whatNext(p, s, params))}.`];
}

export function roundExplanation(p: LoadControlProgramConfig, s: ProgramState, params: MachineParams, round: number, value: number | null, target: Target): ExplanationPart[] {
  const order = p.rounds[round - 1]?.meters ?? [];
  const acts = s.tripped.filter((a) => a.round === round).sort((a, b) => order.indexOf(a.meterId) - order.indexOf(b.meterId)).map(describeAction);
  const load = clause(value === null ? say('lc.load-unknown')`load unknown` : say('lc.load-against')`${figure(value, target.unit)} against ${figure(target.limit ?? 0, target.unit)}`);
  const dry = clause(p.dryRun ? say('lc.dry-run-nothing-sent')` (dry run, nothing sent)` : say('empty')``);
  const done = acts.length === 0 ? clause(say('lc.no-meters')`no meters`) : list(acts);
  return [say('lc.round')`Program ${label(p)} ran round ${count(round)}${dry}: ${done}; ${load}; ${clause(whatNext(p, s, params))}.`];
}

export function clearExplanation(p: LoadControlProgramConfig, params: MachineParams, value: number | null, target: Target, restored: readonly ExplanationArg[]): ExplanationPart[] {
  if (target.exhaustedAtLimit === true) {
    const what = clause(restored.length === 0 ? say('lc.nothing-to-restore')`nothing to restore` : say('lc.restored')`restored: ${list(restored)}`);
    return [say('lc.purchase-topped-up')`Program ${label(p)} has ${figure((target.limit ?? 0) - (value ?? 0), target.unit)} left after a purchase; ${what}.`];
  }
  const under = clause(target.limit === undefined
    ? say('lc.no-limit-now')`there is no limit now`
    : say('lc.stayed-under')`stayed at or under ${figure((target.warnAt ?? target.limit) * (1 - params.hysteresisPercent / 100), target.unit)} for ${minutes(params.restoreAfterMs)}`);
  const what = clause(restored.length === 0 ? say('lc.nothing-to-restore')`nothing to restore` : say('lc.restored')`restored: ${list(restored)}`);
  return [value === null
    ? say('lc.clear')`The load of program ${label(p)} ${under}; ${what}.`
    : say('lc.clear-load')`The load (${figure(value, target.unit)}) of program ${label(p)} ${under}; ${what}.`];
}

export function restoreFailedExplanation(p: LoadControlProgramConfig, left: readonly TrippedAction[], nextAt: number): ExplanationPart[] {
  return [say('lc.restore-failed')`Program ${label(p)} could not restore ${list(left.map((a) => a.meterId))} (${list(left.map((a) => a.error?.code ?? term('unverified')))}); retrying at ${instant(nextAt)}: check these meters.`];
}

/** `reconnect m1`, or `reconnect m1 (dry run)`: one restore done, for the clear explanation. */
export function restoredAction(command: 'reconnect' | 'clear-limit', meterId: string, dryRun: boolean): ExplanationArg {
  return clause(dryRun ? say('lc.command-meter-dry')`${term(command)} ${meterId} (dry run)` : say('lc.command-meter')`${term(command)} ${meterId}`);
}

/** The remaining energy of a purchase-energy program fell to a `warnKwh` threshold. */
export function lowEnergyExplanation(p: LoadControlProgramConfig, remaining: number, threshold: number, target: Target): ExplanationPart[] {
  return [say('lc.purchase-low')`Program ${label(p)} has ${figure(remaining, 'kWh')} left of the ${figure(target.limit ?? 0, 'kWh')} purchased (warning at ${figure(threshold, 'kWh')}); its rounds start once nothing remains.`];
}

/** A purchase lifted the remaining energy above every `warnKwh` threshold. */
export function enoughEnergyExplanation(p: LoadControlProgramConfig, remaining: number): ExplanationPart[] {
  return [say('lc.purchase-enough')`Program ${label(p)} has ${figure(remaining, 'kWh')} left after a purchase, above every warning threshold.`];
}

function whatNext(p: LoadControlProgramConfig, s: ProgramState, params: MachineParams): ExplanationPart {
  const next = nextRound(s, params);
  if (next === undefined) return say('lc.rounds-done')`all ${count(params.rounds.length)} rounds are done; restore follows once the load stays under the limit for ${minutes(params.restoreAfterMs)}`;
  const action = clause(next.config.action === 'disconnect' ? say('lc.disconnect')`disconnect` : say('lc.limit-to')`limit to ${String(next.config.limitKw ?? 0)} kW`);
  const dry = clause(p.dryRun ? say('lc.dry-run')` (dry run)` : say('empty')``);
  const when = clause(next.dueAt === null
    ? say('lc.once-over')`once over the limit for ${minutes(next.config.afterMs)}`
    : say('lc.at-if-over')`at ${instant(next.dueAt)} if it stays over`);
  return say('lc.next-round')`round ${count(next.round)} will ${action} ${list(next.config.meters)}${dry} ${when}`;
}

function describeAction(a: TrippedAction): ExplanationArg {
  const what = clause(a.command === 'disconnect' ? say('lc.disconnect')`disconnect` : say('lc.limit')`limit ${String(a.limitKw ?? 0)} kW`);
  const how = clause(a.status === 'refused'
    ? say('lc.refused')`refused (${a.error?.code ?? ''})`
    : a.status === 'failed' ? say('lc.failed')`failed (${a.error?.code ?? ''})` : say('lc.status')`${term(a.status)}`);
  return clause(say('lc.action')`${what} ${a.meterId} ${how}`);
}

function subjectOf(p: LoadControlProgramConfig): ExplanationPart {
  if (p.kind === 'monthly-energy') return say('lc.used-this-month')`used this month`;
  if (p.kind === 'purchase-energy') return say('lc.used-since-start')`used since the program started`;
  if (p.area !== undefined) return say('lc.load-of-area')`load of area ${p.area}`;
  return p.totalMeter !== undefined ? say('lc.load-at-meter')`load at meter ${p.totalMeter}` : say('lc.load-of-meters')`load of ${count(p.meters?.length ?? 0)} meters`;
}

const label = (p: LoadControlProgramConfig): ExplanationArg => JSON.stringify(p.name ?? p.id);
const figure = (v: number, unit: string): ExplanationArg => valueArg(v, 1, unit);
const count = (n: number): ExplanationArg => valueArg(n, 0, '');
const percent = (v: number, of: number | undefined): ExplanationArg => (of === undefined || of === 0 ? '—' : `${Math.round((v / of) * 100)} %`);
const minutes = (ms: number): ExplanationArg => clause(ms < 60_000
  ? say('lc.seconds')`${count(Math.round(ms / 1000))} s`
  : say('lc.minutes')`${count(Math.round(ms / 60_000))} min`);
