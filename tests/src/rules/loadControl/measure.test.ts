/**
 * The energy count of the energy programs (monthly-energy, purchase-energy): register deltas
 * as billing's VEE takes them, a read counted once, a rollover and a recorded replacement
 * counted across, a register gone back held instead of re-based, and a count stored and
 * loaded again going on where it was.
 */
import { describe, expect, it } from 'vitest';
import { registerRules } from '../../../../src/billing/replacements.js';
import { countEnergy, NO_ENERGY, PLAIN_REGISTERS, type EnergyCount, type RegisterMark } from '../../../../src/rules/loadControl/measure.js';

const T0 = Date.UTC(2024, 6, 1);
const MIN = 60_000;

/** Counts each step's reads in turn from `start`. */
function run(steps: readonly Record<string, readonly [number, number]>[], rules = PLAIN_REGISTERS, start: EnergyCount = NO_ENERGY): EnergyCount {
  let count = start;
  for (const step of steps) {
    const reads = new Map<string, RegisterMark>(Object.entries(step).map(([id, [minute, value]]) => [id, { ts: T0 + minute * MIN, value }]));
    count = countEnergy(count, reads, rules);
  }
  return count;
}

describe('energy counted from register deltas', () => {
  it('adds each meter\'s delta from its last read, the first read only marking where counting starts', () => {
    const c = run([{ a: [0, 1000], b: [0, 50] }, { a: [15, 1040], b: [15, 60] }, { a: [30, 1041.5] }]);
    expect(c.kwh).toBeCloseTo(51.5, 9);
    expect(c.marks).toEqual({ a: { ts: T0 + 30 * MIN, value: 1041.5 }, b: { ts: T0 + 15 * MIN, value: 60 } });
  });

  it('counts a read once however many ticks see it', () => {
    const same = { a: [15, 1040] } as const;
    expect(run([{ a: [0, 1000] }, same, same, same]).kwh).toBe(40);
  });

  it('counts across a register rollover the part before the wrap and the part after', () => {
    const rules = registerRules(1_000_000, []);
    const c = run([{ a: [0, 999_990] }, { a: [15, 999_998] }, { a: [30, 7] }], rules);
    expect(c.kwh).toBe(17);
    expect(c.held).toEqual([]);
  });

  it('counts across a recorded meter replacement the old meter to its final read and the new one from its initial', () => {
    const rules = registerRules(undefined, [{ meterId: 'a', at: T0 + 20 * MIN, oldFinal: 1012, newInitial: 0.5 }]);
    expect(run([{ a: [0, 1000] }, { a: [15, 1010] }, { a: [30, 3.5] }], rules).kwh).toBe(10 + 2 + 3);
  });

  it('holds a register that went back without a recorded replacement, so a glitch never counts twice', () => {
    // 1000 → 40 (a bad read, or a meter exchange nobody recorded yet) → 1005: re-basing at 40 would count 965 kWh.
    const c = run([{ a: [0, 1000] }, { a: [15, 40] }]);
    expect(c).toMatchObject({ kwh: 0, held: ['a'], marks: { a: { value: 1000 } } });
    const after = run([{ a: [30, 1005] }], PLAIN_REGISTERS, c);
    expect(after).toMatchObject({ kwh: 5, held: [] });
  });

  it('counts a held meter exactly once its replacement is recorded', () => {
    const held = run([{ a: [0, 1000] }, { a: [15, 1010] }, { a: [30, 2] }]);
    expect(held).toMatchObject({ kwh: 10, held: ['a'] });
    const recorded = registerRules(undefined, [{ meterId: 'a', at: T0 + 20 * MIN, oldFinal: 1011, newInitial: 0 }]);
    expect(run([{ a: [45, 4] }], recorded, held)).toMatchObject({ kwh: 10 + 1 + 4, held: [] });
  });

  it('goes on after a restart from the count stored with its marks, counting nothing twice and missing nothing', () => {
    const stored = JSON.parse(JSON.stringify(run([{ a: [0, 1000] }, { a: [15, 1040] }]))) as EnergyCount;
    // The latest read the restarted station finds again, then a new one.
    expect(run([{ a: [15, 1040] }, { a: [30, 1055] }], PLAIN_REGISTERS, stored).kwh).toBe(55);
    // A count stored before the last reads (the kWh alone are not written each tick): the reads since are counted from its marks.
    const older = JSON.parse(JSON.stringify(run([{ a: [0, 1000] }]))) as EnergyCount;
    expect(run([{ a: [30, 1055] }], PLAIN_REGISTERS, older).kwh).toBe(55);
  });
});
