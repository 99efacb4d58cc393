/**
 * Which rules apply to which meters and areas. The engine asks, for every reading, "which
 * rules watch this meter?": the answer is cached per meter and rebuilt only when a rule or
 * the topology changes, so evaluation costs O(rules matching the meter), not O(all rules).
 */
import type { Area, AreaId, Meter, MeterId } from '../domain/index.js';
import type { CompiledDetector } from './catalogue.js';
import { columnFor, type MeterSlots } from './meterSlots.js';
import type { Rule } from './model.js';
import type { StateTable } from './stateTable.js';

/** The slice of the registry the engine needs. */
export interface RuleTopology {
  meter(id: MeterId): Meter | undefined;
  meters(): Iterable<Meter>;
  areas(): Iterable<Area>;
  /** The meters of an area and its sub-areas, from the topology's own area index; without it they are grouped from `meters()`. */
  metersOfArea?(id: AreaId): readonly Meter[];
  /** How often data is expected from a meter (its terminal's shortest collection interval), ms; undefined when unknown. */
  expectedIntervalMs(meter: Meter): number | undefined;
}

/**
 * Which meters and areas this node judges, in a cluster (src/cluster/placement.ts): a meter
 * while its terminal is placed here, an area while this node owns it. `fenceFor` gives the
 * lease term it is placed under (null: one node, unfenced; undefined: another node judges it),
 * so that judgement starts afresh when the term changes.
 */
export interface RulePlacement {
  fenceFor(terminalId: string): { readonly lease: string; readonly token: number } | null | undefined;
  ownsArea(areaId: string): boolean;
}

export interface CompiledRule {
  readonly rule: Rule;
  readonly detector: CompiledDetector;
  /** When the engine took the rule on (or restarted it, RuleEngine.restart): a meter never heard from counts as silent from here. */
  since: number;
  /** Detector state per meter (and phase), area, or `t:terminal` key (stateTable.ts). */
  readonly states: StateTable;
}

export interface MeterRules {
  /** Rules judged from the meter's readings. */
  readonly reading: readonly CompiledRule[];
  /** Device-event rules covering the meter. */
  readonly event: readonly CompiledRule[];
}

const NONE: MeterRules = { reading: [], event: [] };

export class RuleIndex {
  private readonly rules = new Map<string, CompiledRule>();
  /**
   * Per meter slot, 1 + the index of its rules in `shapes` (0: not worked out): meters
   * watched by the same rules share one MeterRules, so the cache costs 4 bytes a meter.
   */
  private perMeter = new Int32Array(0);
  private shapes: MeterRules[] = [];
  private shapeOf = new Map<string, number>();
  private areaSets = new Map<CompiledRule, ReadonlySet<AreaId>>();
  private members: Map<AreaId, Meter[]> | undefined;
  private areaList: Area[] | undefined;
  private meterList: Meter[] | undefined;

  constructor(private readonly topology: RuleTopology, private readonly slots: MeterSlots) {}

  get size(): number {
    return this.rules.size;
  }

  get(id: string): CompiledRule | undefined {
    return this.rules.get(id);
  }

  all(): IterableIterator<CompiledRule> {
    return this.rules.values();
  }

  add(c: CompiledRule): void {
    this.rules.set(c.rule.id, c);
    this.areaSets.set(c, this.expand(c.rule));
    this.forgetRules();
  }

  remove(id: string): CompiledRule | undefined {
    const c = this.rules.get(id);
    if (c === undefined) return undefined;
    this.rules.delete(id);
    this.areaSets.delete(c);
    this.forgetRules();
    return c;
  }

  /** Areas or meters changed: subjects are expanded afresh on next use. */
  invalidate(): void {
    this.members = undefined;
    this.areaList = undefined;
    this.meterList = undefined;
    this.forgetRules();
    const sets = new Map<CompiledRule, ReadonlySet<AreaId>>();
    for (const c of this.rules.values()) sets.set(c, this.expand(c.rule));
    this.areaSets = sets;
  }

  forMeter(id: MeterId): MeterRules {
    const slot = this.slots.of(id);
    const cached = slot === undefined ? 0 : this.perMeter[slot] ?? 0;
    if (cached > 0) return this.shapes[cached - 1] ?? NONE;
    const meter = this.topology.meter(id);
    if (meter === undefined) return NONE;
    const reading: CompiledRule[] = [];
    const event: CompiledRule[] = [];
    let shape = '';
    let n = 0;
    for (const c of this.rules.values()) {
      n += 1;
      if (!this.covers(c, meter)) continue;
      if (c.detector.scope === 'meter') reading.push(c);
      else if (c.detector.scope === 'event') event.push(c);
      else continue;
      shape += `${n},`;
    }
    let at = this.shapeOf.get(shape);
    if (at === undefined) {
      at = this.shapes.push({ reading, event });
      this.shapeOf.set(shape, at);
    }
    if (slot !== undefined) {
      this.perMeter = columnFor(this.perMeter, slot, 0);
      this.perMeter[slot] = at;
    }
    return this.shapes[at - 1] ?? NONE;
  }

  /** A deleted meter's cached rules go with its slot. */
  forgetMeter(id: MeterId): void {
    const slot = this.slots.of(id);
    if (slot !== undefined && slot < this.perMeter.length) this.perMeter[slot] = 0;
  }

  /** One meter was added, changed or deleted: its rules are worked out afresh, the area sets stand. */
  meterChanged(id: MeterId): void {
    this.forgetMeter(id);
    this.members = undefined;
    this.meterList = undefined;
  }

  covers(c: CompiledRule, meter: Meter): boolean {
    const s = c.rule.subject;
    if ('all' in s) return true;
    if ('meter' in s) return s.meter === meter.id;
    if ('meters' in s) return s.meters.includes(meter.id);
    return meter.areaId !== null && (this.areaSets.get(c)?.has(meter.areaId) ?? false);
  }

  /**
   * The ids of the meters a rule watches now: a list of references a caller walks in slices
   * and then drops, never the fleet's Meter objects kept (a million of them is a gigabyte).
   */
  meterIdsOf(c: CompiledRule): MeterId[] {
    const s = c.rule.subject;
    if ('meter' in s || 'meters' in s) {
      const ids = 'meter' in s ? [s.meter] : s.meters;
      return ids.flatMap((id) => this.topology.meter(id as MeterId)?.id ?? []);
    }
    const out: MeterId[] = [];
    for (const m of this.topology.meters()) if (this.covers(c, m)) out.push(m.id);
    return out;
  }

  /** The areas an area rule judges: the subject's area (and descendants), or every area. */
  areasOf(c: CompiledRule): Area[] {
    const s = c.rule.subject;
    if ('all' in s) return this.allAreas();
    const set = this.areaSets.get(c);
    return set === undefined ? [] : this.allAreas().filter((a) => set.has(a.id));
  }

  /** The meters of an area and of every area below it. */
  membersOf(area: AreaId): readonly Meter[] {
    if (this.topology.metersOfArea !== undefined) return this.topology.metersOfArea(area);
    this.members ??= this.buildMembers();
    return this.members.get(area) ?? [];
  }

  private forgetRules(): void {
    this.perMeter.fill(0);
    this.shapes = [];
    this.shapeOf = new Map();
  }

  private allMeters(): Meter[] {
    this.meterList ??= [...this.topology.meters()];
    return this.meterList;
  }

  private allAreas(): Area[] {
    this.areaList ??= [...this.topology.areas()];
    return this.areaList;
  }

  private expand(rule: Rule): ReadonlySet<AreaId> {
    const s = rule.subject;
    if (!('area' in s)) return new Set();
    const root = s.area as AreaId;
    const out = new Set<AreaId>([root]);
    if (!s.includeDescendants) return out;
    const areas = this.allAreas();
    // Parents before children is not guaranteed: repeat until the set stops growing (depth ≤ 4).
    for (let grew = true; grew;) {
      grew = false;
      for (const a of areas) {
        if (a.parentId !== null && out.has(a.parentId) && !out.has(a.id)) {
          out.add(a.id);
          grew = true;
        }
      }
    }
    return out;
  }

  private buildMembers(): Map<AreaId, Meter[]> {
    const parent = new Map<AreaId, AreaId | null>(this.allAreas().map((a) => [a.id, a.parentId]));
    const out = new Map<AreaId, Meter[]>();
    for (const m of this.allMeters()) {
      const seen = new Set<AreaId>();
      for (let a = m.areaId; a !== null && !seen.has(a); a = parent.get(a) ?? null) {
        seen.add(a);
        let list = out.get(a);
        if (list === undefined) out.set(a, (list = []));
        list.push(m);
      }
    }
    return out;
  }
}

/**
 * How often a meter's data is expected: the shortest interval among its terminal's polled
 * profiles; for a pushing terminal without profiles, the push silence bound the collector
 * already uses to mark it offline.
 */
export function expectedIntervalOf(
  terminal: { readonly enabled: boolean; readonly profiles: readonly string[] } | undefined,
  profiles: Readonly<Record<string, { readonly intervalSeconds: number }>>,
  pushSilenceMs: number,
): number | undefined {
  if (terminal?.enabled !== true) return undefined;
  let min = Number.POSITIVE_INFINITY;
  for (const name of terminal.profiles) min = Math.min(min, (profiles[name]?.intervalSeconds ?? Number.POSITIVE_INFINITY) * 1000);
  return Number.isFinite(min) ? min : pushSilenceMs;
}
