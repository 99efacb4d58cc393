/**
 * The figure a program watches, from live values: the load (sum of the bound meters' latest
 * power.active, or one total meter's) or, for the energy kinds, the energy counted from their
 * energy.active.import registers (this month's, or since the program started). The load is
 * the station's one area-load definition (src/domain/areaLoad.ts): the same meters and the
 * same fresh values the overload rule and the overview count. A load with no fresh value is
 * unknown (undefined), which holds the program where it is rather than tripping or restoring
 * on missing data; energy counted stays known, it only stops growing.
 *
 * Energy is counted as billing's VEE takes register deltas (src/billing/vee.ts deltaBetween):
 * each meter's delta from the register value last counted, across a recorded meter
 * replacement (old meter to its final read, new one from its initial) and a rollover. A read
 * already counted is never counted again, and a register that went back without a recorded
 * replacement counts nothing and holds its mark: re-basing it would count again whatever
 * climb takes it back (a glitch), and once its replacement is recorded the next read counts
 * exactly across it.
 */
import type { RegisterRules } from '../../billing/replacements.js';
import { monthBounds } from '../../billing/periods.js';
import { deltaBetween } from '../../billing/vee.js';
import type { LoadControlProgramConfig } from '../../config/schema.js';
import { countPower, emptyAreaLoadCounts, type AreaLoadSettings, type LatestValue, type MeterId, type Quantity } from '../../domain/index.js';
import { monthOf } from './limits.js';
import type { ProgramState } from './machine.js';

export interface LiveValues {
  value(meterId: MeterId, q: Quantity): LatestValue | undefined;
}

export interface MeterView {
  readonly id: string;
  readonly protected: boolean;
  readonly areaId: string | null;
}

/** The registry as programs see it. */
export interface MeterDirectory {
  meter(id: string): MeterView | undefined;
  /** Meters of an area and its sub-areas. */
  metersOfArea(areaId: string): readonly MeterView[];
}

export interface Measurement {
  readonly value: number | undefined;
  /** Meters whose value counted, of those bound. */
  readonly reporting: number;
  readonly bound: number;
  /** monthly-energy: the month state after this measurement. */
  readonly monthly?: ProgramState['monthly'];
  /** purchase-energy: the energy counted since the start, after this measurement. */
  readonly consumed?: EnergyCount;
}

/** A register value counted, and when it was read. */
export interface RegisterMark {
  readonly value: number;
  readonly ts: number;
}

/** Energy counted from registers: the kWh so far and where each meter's next delta starts. */
export interface EnergyCount {
  readonly kwh: number;
  readonly marks: Readonly<Record<string, RegisterMark>>;
  /** Meters whose register went back without a recorded replacement: held at their mark, counting nothing. */
  readonly held: readonly string[];
}

export const NO_ENERGY: EnergyCount = { kwh: 0, marks: {}, held: [] };

/** Register rules of a station that never wraps and records no replacement. */
export const PLAIN_REGISTERS: RegisterRules = { replacementsOf: () => [] };

/**
 * The meters whose load a program sums: the named ones as given; an area's without its
 * excluded (supply) meters, as every area load counts them.
 */
export function boundMeters(p: LoadControlProgramConfig, dir: MeterDirectory, excluded: ReadonlySet<string>): string[] {
  if (p.totalMeter !== undefined) return [p.totalMeter];
  if (p.meters !== undefined) return [...p.meters];
  return p.area === undefined ? [] : dir.metersOfArea(p.area).filter((m) => !excluded.has(m.id)).map((m) => m.id);
}

export function measure(
  p: LoadControlProgramConfig, t: number, live: LiveValues, dir: MeterDirectory, state: ProgramState, utcOffsetMinutes: number,
  areaLoad: AreaLoadSettings, registers: RegisterRules = PLAIN_REGISTERS,
): Measurement {
  const meters = boundMeters(p, dir, areaLoad.excluded);
  if (p.kind === 'monthly-energy' || p.kind === 'purchase-energy') {
    const reads = new Map<string, RegisterMark>();
    for (const id of meters) {
      const v = live.value(id as MeterId, 'energy.active.import');
      if (v !== undefined && v.quality !== 'bad') reads.set(id, { value: v.value, ts: v.ts });
    }
    if (p.kind === 'purchase-energy') {
      const consumed = countEnergy(state.purchase?.consumed ?? NO_ENERGY, reads, registers);
      // Known whether or not a register reported: nothing counted is no energy used.
      return { value: consumed.kwh, reporting: reads.size, bound: meters.length, consumed };
    }
    const month = monthOf(t, utcOffsetMinutes);
    // A new month starts from nothing counted but from the marks of the last: the energy between
    // a meter's last read of the old month and its first of the new one counts in the new one.
    const before = monthlyCount(state.monthly, utcOffsetMinutes);
    const count = countEnergy(state.monthly?.month === month ? before : { ...before, kwh: 0 }, reads, registers);
    return { value: reads.size === 0 ? undefined : count.kwh, reporting: reads.size, bound: meters.length, monthly: { month, count } };
  }
  const load = emptyAreaLoadCounts();
  for (const id of meters) countPower(load, live.value(id as MeterId, 'power.active'), t, areaLoad.freshMs);
  return { value: load.fresh === 0 ? undefined : load.loadKw, reporting: load.fresh, bound: meters.length };
}

/**
 * Adds each meter's register delta since its mark (see the header); a meter seen for the first
 * time only sets its mark. Pure: returns the count after these reads.
 */
export function countEnergy(count: EnergyCount, reads: ReadonlyMap<string, RegisterMark>, rules: RegisterRules): EnergyCount {
  let kwh = count.kwh;
  let marks: Record<string, RegisterMark> | undefined;
  let held: Set<string> | undefined;
  for (const [meterId, read] of reads) {
    const mark = count.marks[meterId];
    if (mark !== undefined && read.ts <= mark.ts) continue;
    marks ??= { ...count.marks };
    if (mark === undefined) {
      marks[meterId] = read;
      continue;
    }
    const d = deltaBetween(mark, read, rules.rolloverAt, rules.replacementsOf(meterId));
    held ??= new Set(count.held);
    if (d.kind === 'negative') {
      held.add(meterId);
      continue;
    }
    kwh += d.value;
    marks[meterId] = read;
    held.delete(meterId);
  }
  if (marks === undefined) return count;
  return { kwh, marks, held: held === undefined ? count.held : [...held] };
}

/** The month's count as stored; a state stored before counts existed kept only the month's first reads (its baselines). */
function monthlyCount(monthly: ProgramState['monthly'], utcOffsetMinutes: number): EnergyCount {
  if (monthly === null) return NO_ENERGY;
  if (monthly.count !== undefined) return monthly.count;
  const ts = monthBounds(monthly.month, utcOffsetMinutes).start;
  return { kwh: 0, marks: Object.fromEntries(Object.entries(monthly.baselines ?? {}).map(([id, value]) => [id, { value, ts }])), held: [] };
}
