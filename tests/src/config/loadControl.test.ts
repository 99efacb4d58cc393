import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../src/config/load.js';

function issuesOf(yaml: string): string[] {
  try {
    parseConfig(yaml, 'test.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

const ROUNDS = `    rounds:
      - { afterMs: 60000, action: disconnect, meters: [m1] }
      - { afterMs: 120000, action: set-limit, limitKw: 5, meters: [m2] }`;

describe('loadControl configuration', () => {
  it('defaults to no programs and a 1 s tick', () => {
    const c = parseConfig('', 'empty.yaml');
    expect(c.loadControl).toEqual({ tickMs: 1000, commandTimeoutMs: 10000, programs: [], maxPurchaseKwh: 100000 });
  });

  it('fills a program\'s defaults', () => {
    const c = parseConfig(`
loadControl:
  programs:
  - id: peak
    kind: period
    meters: [m1, m2]
    periods: [{ from: "08:00", to: "12:00", limitKw: 100 }]
${ROUNDS}
`, 't.yaml');
    expect(c.loadControl.programs[0]).toMatchObject({ enabled: true, dryRun: false, hysteresisPercent: 5, restoreAfterMs: 300000, severity: 'major' });
  });

  it('names the path of a missing kind field, a stray one, and a second load source', () => {
    expect(issuesOf(`
loadControl:
  programs:
  - id: rest
    kind: rest-day
    meters: [m1]
    area: tx1
    weekdays: [0, 6]
    budgetKwh: 10
${ROUNDS}
`)).toEqual([
      'loadControl.programs[0]: give exactly one load source: meters, area or totalMeter',
      'loadControl.programs[0].limitKw: required for a rest-day program',
      'loadControl.programs[0].budgetKwh: not used by a rest-day program',
    ]);
  });

  it('takes a purchase-energy program with its initial load and warning thresholds, exact to the Wh and distinct', () => {
    const program = (fields: string) => `
loadControl:
  programs:
  - id: shop
    kind: purchase-energy
    meters: [m1]
${fields}
${ROUNDS}
`;
    expect(issuesOf(program('    purchasedKwh: 200.125\n    warnKwh: [50, 20]'))).toEqual([]);
    expect(issuesOf(program(''))).toEqual([]);
    expect(issuesOf(program('    purchasedKwh: 200.1255\n    warnKwh: [20, 20]\n    budgetKwh: 5'))).toEqual([
      'loadControl.programs[0].budgetKwh: not used by a purchase-energy program',
      'loadControl.programs[0].purchasedKwh: give kWh with at most 3 decimals',
      'loadControl.programs[0].warnKwh: thresholds must differ',
    ]);
  });

  it('rejects rounds out of time order and a set-limit round without its limit', () => {
    expect(issuesOf(`
loadControl:
  programs:
  - id: s
    kind: suspension
    totalMeter: m0
    from: "2024-06-10"
    to: "2024-06-01"
    rounds:
      - { afterMs: 60000, action: set-limit, meters: [m1] }
      - { afterMs: 60000, action: disconnect, limitKw: 3, meters: [m2] }
`)).toEqual([
      'loadControl.programs[0].to: must not be before from',
      'loadControl.programs[0].rounds[0].limitKw: required for a set-limit round',
      'loadControl.programs[0].rounds[1].afterMs: must be later than the previous round',
      'loadControl.programs[0].rounds[1].limitKw: only for a set-limit round',
    ]);
  });

  it('rejects a malformed period time, naming it', () => {
    const issues = issuesOf(`
loadControl:
  programs:
  - { id: p, kind: period, meters: [m1], periods: [{ from: "8:00", to: "12:00", limitKw: 1 }], rounds: [{ afterMs: 0, action: disconnect, meters: [m1] }] }
`);
    expect(issues.some((i) => i.startsWith('loadControl.programs[0].periods[0].from: '))).toBe(true);
  });

  it('reports a duplicate program id', () => {
    expect(issuesOf(`
loadControl:
  programs:
  - { id: p, kind: monthly-energy, meters: [m1], budgetKwh: 10, rounds: [{ afterMs: 0, action: disconnect, meters: [m1] }] }
  - { id: p, kind: monthly-energy, meters: [m1], budgetKwh: 10, rounds: [{ afterMs: 0, action: disconnect, meters: [m1] }] }
`)).toEqual(['loadControl.programs[1].id: duplicate program id "p"']);
  });
});
