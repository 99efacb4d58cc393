/**
 * Gathers an area's figures for the area detectors, on the engine's tick: the load of a
 * transformer area, the register advances of a line-loss interval, the share of meters in
 * alarm. The detectors themselves (detectors/area.ts) stay pure.
 */
import type { Area, Meter, MeterId } from '../domain/index.js';
import {
  detectAbnormalArea, detectAreaLineLoss, detectTransformerOverload, formatNumber, initialCondition,
  type ConditionState, type DetectorResult,
} from './detectors/index.js';
import type { AbnormalAreaParams, AreaLineLossParams, TransformerOverloadParams } from './detectors/index.js';
import type { CompiledRule, RuleIndex } from './scope.js';
import type { ValueTable } from './values.js';

export interface AreaContext {
  readonly index: RuleIndex;
  readonly values: ValueTable;
  /** Detector names of the open alarms of a meter, one entry per rule. */
  openAlarms(meter: MeterId): Iterable<string>;
}

export interface AreaStep {
  readonly area: Area;
  readonly result: DetectorResult<unknown>;
}

/** One line-loss interval: register values of the area's meters at its start. */
interface LineLossState {
  readonly condition: ConditionState;
  readonly startAt: number;
  readonly start: ReadonlyMap<MeterId, number>;
}

/** Runs an area rule over every area it judges; returns the new states and events. */
export function judgeAreas(c: CompiledRule, ctx: AreaContext, now: number): AreaStep[] {
  const d = c.detector;
  const out: AreaStep[] = [];
  for (const area of ctx.index.areasOf(c)) {
    const prev = c.states.get(area.id);
    let result: DetectorResult<unknown> | undefined;
    if (d.scope === 'transformer-overload') result = overload(area, prev, d.params, 'all' in c.rule.subject, ctx, now);
    else if (d.scope === 'area-line-loss') result = lineLoss(area, prev, d.params, ctx, now);
    else if (d.scope === 'abnormal-area') result = abnormal(area, prev, d.params, ctx, now);
    if (result !== undefined) out.push({ area, result });
  }
  return out;
}

/** Whether an area rule's state holds an open alarm. */
export function areaStateRaised(state: unknown): boolean {
  const cond = (state as { condition?: ConditionState; phase?: string }).condition ?? (state as ConditionState);
  return cond.phase === 'active' || cond.phase === 'clearing';
}

function overload(
  area: Area, prev: unknown, p: TransformerOverloadParams, everyArea: boolean, ctx: AreaContext, now: number,
): DetectorResult<unknown> | undefined {
  // "Every area" means every transformer area; a region has no transformer to overload.
  if (everyArea && area.kind !== 'transformer') return undefined;
  let limitKw = p.limitKw;
  let basis = limitKw === undefined ? '' : 'configured limit';
  if (limitKw === undefined) {
    if (area.transformerKva === null) return undefined;
    limitKw = area.transformerKva * p.powerFactor;
    basis = `${formatNumber(area.transformerKva, 0)} kVA × PF ${formatNumber(p.powerFactor, 2)}`;
  }
  const notBefore = now - p.freshMs;
  let load = 0;
  let reporting = 0;
  let meters = 0;
  if (p.supplyMeter !== undefined) {
    meters = 1;
    const v = ctx.values.fresh(p.supplyMeter as MeterId, 'power.active', notBefore);
    if (v !== undefined) {
      load = v.value;
      reporting = 1;
    }
  } else {
    for (const m of ctx.index.membersOf(area.id)) {
      meters += 1;
      const v = ctx.values.fresh(m.id, 'power.active', notBefore);
      if (v === undefined) continue;
      load += v.value;
      reporting += 1;
    }
  }
  const state = (prev as ConditionState | undefined) ?? initialCondition();
  return detectTransformerOverload(state, { areaName: area.name, limitKw, limitBasis: basis, loadKw: load, reporting, meters }, p, now);
}

function lineLoss(area: Area, prev: unknown, p: AreaLineLossParams, ctx: AreaContext, now: number): DetectorResult<unknown> | undefined {
  const supplyId = p.supplyMeter as MeterId;
  const members = ctx.index.membersOf(area.id);
  // The rule judges the area its supply meter belongs to (or the subject area holding it directly).
  const supply = members.find((m) => m.id === supplyId);
  if (supply?.areaId !== area.id) return undefined;
  const s = prev as LineLossState | undefined;
  const snapshot = () => registers(members, p, ctx, now - p.maxReadingAgeMs);
  if (s === undefined) return { state: { condition: initialCondition(), startAt: now, start: snapshot() } };
  if (now - s.startAt < p.intervalMs) return { state: s };
  // Both ends of the interval must be known for every meter, each read shortly before its instant.
  const end = snapshot();
  const missing: string[] = [];
  let customers = 0;
  let customersDelta = 0;
  let supplyDelta: number | undefined;
  for (const m of members) {
    const a = s.start.get(m.id);
    const b = end.get(m.id);
    const delta = a === undefined || b === undefined ? undefined : b - a;
    if (m.id === supplyId) {
      supplyDelta = delta;
      if (delta === undefined) missing.push(m.id);
      continue;
    }
    customers += 1;
    if (delta === undefined) missing.push(m.id);
    else customersDelta += delta;
  }
  const r = detectAreaLineLoss(s.condition, { areaName: area.name, intervalMs: now - s.startAt, supplyDelta, customersDelta, customers, missing }, p, now);
  const next: LineLossState = { condition: r.state, startAt: now, start: end };
  return r.event === undefined ? { state: next } : { state: next, event: r.event };
}

function registers(members: readonly Meter[], p: AreaLineLossParams, ctx: AreaContext, notBefore: number): Map<MeterId, number> {
  const out = new Map<MeterId, number>();
  for (const m of members) {
    const v = ctx.values.fresh(m.id, p.register, notBefore);
    if (v !== undefined) out.set(m.id, v.value);
  }
  return out;
}

function abnormal(area: Area, prev: unknown, p: AbnormalAreaParams, ctx: AreaContext, now: number): DetectorResult<unknown> {
  const counted = p.detectors.length === 0 ? undefined : new Set(p.detectors);
  const byDetector = new Map<string, number>();
  let meters = 0;
  let inAlarm = 0;
  for (const m of ctx.index.membersOf(area.id)) {
    meters += 1;
    let any = false;
    for (const d of ctx.openAlarms(m.id)) {
      if (counted !== undefined && !counted.has(d)) continue;
      any = true;
      byDetector.set(d, (byDetector.get(d) ?? 0) + 1);
    }
    if (any) inAlarm += 1;
  }
  const state = (prev as ConditionState | undefined) ?? initialCondition();
  return detectAbnormalArea(state, { areaName: area.name, meters, inAlarm, byDetector }, p, now);
}
