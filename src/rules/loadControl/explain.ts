/**
 * Words for operators: the explanation each alarm signal of a program carries (load, limit,
 * program, and what happens next), and the preview of what a program would do now.
 */
import type { LoadControlProgramConfig, ShedRoundConfig } from '../../config/schema.js';
import type { Target } from './limits.js';
import { nextRound, type MachineParams, type ProgramState, type TrippedAction } from './machine.js';
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
  readonly over: boolean;
  readonly rounds: readonly RoundPreview[];
  /** What a restore would undo now, in order. */
  readonly restore: readonly { readonly meterId: string; readonly command: 'reconnect' | 'clear-limit' }[];
}

export function preview(
  p: LoadControlProgramConfig, s: ProgramState, at: number, value: number | undefined, target: Target, dir: MeterDirectory,
): ProgramPreview {
  const over = value !== undefined && target.limit !== undefined && value > target.limit;
  const onset = s.overSince ?? (over ? at : null);
  return {
    programId: p.id, at, dryRun: p.dryRun, phase: s.phase, value: value ?? null, limit: target.limit ?? null, unit: target.unit, basis: target.basis, over,
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

export function raiseExplanation(p: LoadControlProgramConfig, s: ProgramState, params: MachineParams, value: number, target: Target): string {
  const head = `${figure(value, target.unit)} ${subjectOf(p)} of program ${label(p)} (${target.basis})`;
  const against = target.warnAt !== undefined && (target.limit === undefined || value <= target.limit)
    ? `has reached ${percent(value, target.limit)} of its budget ${figure(target.limit ?? 0, target.unit)} (warning at ${figure(target.warnAt, target.unit)})`
    : `is over its limit ${figure(target.limit ?? 0, target.unit)}`;
  return `${head} ${against}; ${whatNext(p, s, params)}.`;
}

export function roundExplanation(p: LoadControlProgramConfig, s: ProgramState, params: MachineParams, round: number, value: number | null, target: Target): string {
  const order = p.rounds[round - 1]?.meters ?? [];
  const acts = s.tripped.filter((a) => a.round === round).sort((a, b) => order.indexOf(a.meterId) - order.indexOf(b.meterId)).map(describeAction).join(', ');
  const load = value === null ? 'load unknown' : `${figure(value, target.unit)} against ${figure(target.limit ?? 0, target.unit)}`;
  return `Program ${label(p)} ran round ${round}${p.dryRun ? ' (dry run, nothing sent)' : ''}: ${acts || 'no meters'}; ${load}; ${whatNext(p, s, params)}.`;
}

export function clearExplanation(p: LoadControlProgramConfig, params: MachineParams, value: number | null, target: Target, restored: readonly string[]): string {
  const under = target.limit === undefined ? 'there is no limit now' : `stayed at or under ${figure((target.warnAt ?? target.limit) * (1 - params.hysteresisPercent / 100), target.unit)} for ${minutes(params.restoreAfterMs)}`;
  const load = value === null ? 'The load' : `The load (${figure(value, target.unit)})`;
  return `${load} of program ${label(p)} ${under}; ${restored.length === 0 ? 'nothing to restore' : `restored: ${restored.join(', ')}`}.`;
}

export function restoreFailedExplanation(p: LoadControlProgramConfig, left: readonly TrippedAction[], nextAt: number): string {
  return `Program ${label(p)} could not restore ${left.map((a) => a.meterId).join(', ')} (${left.map((a) => a.error?.code ?? 'unverified').join(', ')}); retrying at ${new Date(nextAt).toISOString()}: check these meters.`;
}

function whatNext(p: LoadControlProgramConfig, s: ProgramState, params: MachineParams): string {
  const next = nextRound(s, params);
  if (next === undefined) return `all ${params.rounds.length} rounds are done; restore follows once the load stays under the limit for ${minutes(params.restoreAfterMs)}`;
  const what = `${next.config.action === 'disconnect' ? 'disconnect' : `limit to ${next.config.limitKw ?? 0} kW`} ${next.config.meters.join(', ')}`;
  const when = next.dueAt === null ? `once over the limit for ${minutes(next.config.afterMs)}` : `at ${new Date(next.dueAt).toISOString()} if it stays over`;
  return `round ${next.round} will ${what}${p.dryRun ? ' (dry run)' : ''} ${when}`;
}

function describeAction(a: TrippedAction): string {
  const what = a.command === 'disconnect' ? 'disconnect' : `limit ${a.limitKw ?? 0} kW`;
  const how = a.status === 'refused' ? `refused (${a.error?.code ?? ''})` : a.status === 'failed' ? `failed (${a.error?.code ?? ''})` : a.status;
  return `${what} ${a.meterId} ${how}`;
}

function subjectOf(p: LoadControlProgramConfig): string {
  if (p.kind === 'monthly-energy') return 'used this month';
  return p.area !== undefined ? `load of area ${p.area}` : p.totalMeter !== undefined ? `load at meter ${p.totalMeter}` : `load of ${p.meters?.length ?? 0} meters`;
}

const label = (p: LoadControlProgramConfig) => JSON.stringify(p.name ?? p.id);
const figure = (v: number, unit: string) => `${v.toFixed(1)} ${unit}`;
const percent = (v: number, of: number | undefined) => (of === undefined || of === 0 ? '—' : `${Math.round((v / of) * 100)} %`);
const minutes = (ms: number) => (ms < 60_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`);
