/** Test fixture for the rule engine: a small topology, readings, and an engine collecting its signals. */
import { areaId, meterId, terminalId, type AlarmSignal, type Area, type Meter, type Quantity, type Reading } from '../../../src/domain/index.js';
import { RuleEngine, type RuleEngineOptions } from '../../../src/rules/engine.js';
import { parseRule, type Rule } from '../../../src/rules/model.js';
import type { RuleTopology } from '../../../src/rules/scope.js';

export const T0 = Date.UTC(2026, 10, 26, 2, 0, 0);
export const SEC = 1000;
export const MIN = 60 * SEC;

export function area(id: string, parent: string | null, kva: number | null = null): Area {
  return { id: areaId(id), name: id.toUpperCase(), kind: kva === null ? 'feeder' : 'transformer', parentId: parent === null ? null : areaId(parent), transformerKva: kva };
}

export function meter(id: string, areaOf: string | null, terminal = 't1'): Meter {
  return {
    id: meterId(id), name: id, terminalId: terminalId(terminal), address: id, ctRatio: 1, ptRatio: 1,
    areaId: areaOf === null ? null : areaId(areaOf), protected: false, customerRef: null, accountRef: null,
  };
}

/** A mutable topology: tests add and remove meters and areas as the registry would. */
export class FakeTopology implements RuleTopology {
  readonly meterMap = new Map<string, Meter>();
  readonly areaMap = new Map<string, Area>();
  expected = 15_000;
  constructor(areas: Area[], meters: Meter[]) {
    for (const a of areas) this.areaMap.set(a.id, a);
    for (const m of meters) this.meterMap.set(m.id, m);
  }
  meter(id: string): Meter | undefined { return this.meterMap.get(id); }
  meters(): Iterable<Meter> { return this.meterMap.values(); }
  areas(): Iterable<Area> { return this.areaMap.values(); }
  expectedIntervalMs(): number | undefined { return this.expected; }
}

export function reading(m: string, quantity: Quantity, value: number, ts: number): Reading {
  return { meterId: meterId(m), quantity, value, unit: '', ts, quality: 'good', source: { protocol: 'mqtt', terminalId: terminalId('t1'), mode: 'push' } };
}

export function rule(input: Record<string, unknown>): Rule {
  return parseRule({ name: String(input.id), ...input });
}

export interface Harness {
  readonly engine: RuleEngine;
  readonly signals: AlarmSignal[];
  readonly clock: { now: number };
  readonly topology: FakeTopology;
  /** Signals as `kind:subject:ruleId` strings, then forgets them. */
  take(): string[];
}

export function harness(topology: FakeTopology, rules: Rule[], options: Omit<RuleEngineOptions, 'topology' | 'onSignal' | 'now'> = {}): Harness {
  const signals: AlarmSignal[] = [];
  const clock = { now: T0 };
  const engine = new RuleEngine({ topology, onSignal: (s) => signals.push(s), now: () => clock.now, ...options });
  for (const r of rules) engine.upsert(r);
  return {
    engine, signals, clock, topology,
    take: () => signals.splice(0).map((s) => `${s.kind}:${s.subject.id}:${s.ruleId}`),
  };
}
