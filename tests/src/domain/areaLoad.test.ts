/**
 * One definition of area load: the function's own edges, then the overload rule, the live
 * overview and load control driven side by side on the same readings, which must agree on
 * every second about the load, the limit, and whether the area is over it.
 */
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { LoadControlProgram, type LoadControlProgramConfig } from '../../../src/config/schema.js';
import { areaLoad, powerStanding, transformerLimitKw, type AreaLoadSettings, type PowerValue } from '../../../src/domain/index.js';
import { LatestValues } from '../../../src/live/latest.js';
import { LiveOverview } from '../../../src/live/overview.js';
import { initialState } from '../../../src/rules/loadControl/machine.js';
import { measure } from '../../../src/rules/loadControl/measure.js';
import { fixedTopology } from '../../helpers/liveOverview.js';
import { FakeTopology, MIN, SEC, T0, area, harness, meter, reading, rule } from '../rules/fixture.js';

const settings = (over: Partial<AreaLoadSettings> = {}): AreaLoadSettings => ({ freshMs: 5 * MIN, powerFactor: 0.8, excluded: new Set(), ...over });

describe('area load, the function', () => {
  const now = T0 + 10 * MIN;
  const values = new Map<string, PowerValue>([
    ['a', { value: 30, ts: now - 5 * MIN }], // exactly freshMs old: still counts
    ['b', { value: 20, ts: now - 5 * MIN - 1 }], // one millisecond older: stale
    ['c', { value: 15, ts: now, quality: 'bad' }], // bad counts as stale, never as load
    ['d', { value: 12.5, ts: now - SEC, quality: 'suspect' }],
    ['supply', { value: 500, ts: now }],
  ]);
  const power = (id: string) => values.get(id);

  it('sums the fresh values, counts stale and missing meters, and derives limit and ratio from the rating', () => {
    const load = areaLoad(['a', 'b', 'c', 'd', 'never'], power, 100, now, settings());
    expect(load).toEqual({ loadKw: 42.5, limitKw: 80, loadRatio: 42.5 / 80, meters: 5, fresh: 2, stale: 2, missing: 1 });
  });

  it('has no limit and no ratio without a transformer rating', () => {
    const load = areaLoad(['a'], power, null, now, settings());
    expect(load).toMatchObject({ loadKw: 30, limitKw: null, loadRatio: null });
    expect(transformerLimitKw(null, 0.9)).toBeNull();
    expect(transformerLimitKw(400, 0.9)).toBeCloseTo(360, 9);
  });

  it('calls the load unknown, not zero, when every meter is stale', () => {
    const load = areaLoad(['b', 'c'], power, 100, now, settings());
    expect(load).toEqual({ loadKw: null, limitKw: 80, loadRatio: null, meters: 2, fresh: 0, stale: 2, missing: 0 });
  });

  it('counts a meter without readings as missing, and an area of such meters as unknown', () => {
    expect(areaLoad(['never'], power, 100, now, settings())).toMatchObject({ loadKw: null, meters: 1, fresh: 0, stale: 0, missing: 1 });
    expect(areaLoad([], power, 100, now, settings())).toMatchObject({ loadKw: null, meters: 0 });
    expect(powerStanding(undefined, now, MIN)).toBe('missing');
  });

  it('leaves excluded supply meters out of the sum and out of the counts', () => {
    const load = areaLoad(['a', 'supply'], power, 100, now, settings({ excluded: new Set(['supply']) }));
    expect(load).toMatchObject({ loadKw: 30, meters: 1, fresh: 1 });
  });
});

describe('one area load for the overload rule, the overview and load control', () => {
  it('judges the same readings identically every second: same meters, same fresh/stale cut, same limit', () => {
    // 100 kVA × PF 0.8 = 80 kW; the supply meter alone would overload it, and must never count.
    const s = settings({ excluded: new Set(['supply']) });
    const customers = ['a', 'b', 'c', 'd'];
    const t = new FakeTopology(
      [area('f1', null), area('tx1', 'f1', 100)],
      [...customers, 'supply', 'never'].map((id) => meter(id, 'tx1')),
    );
    const h = harness(t, [rule({
      id: 'tx', subject: { all: true }, detector: 'transformer-overload',
      params: { maxLoadPct: 100, hysteresisPct: 0, minReportingPct: 0 },
    })], { areaLoad: s });
    const live = new LatestValues(() => h.clock.now);
    const write = (id: string, kw: number, ts: number) => {
      const batch = [reading(id, 'power.active', kw, ts)];
      live.write(batch);
      h.engine.write(batch);
    };
    const program = Value.Default(LoadControlProgram, {
      id: 'p', kind: 'period', periods: [{ from: '00:00', to: '00:00', limitKw: 80 }], area: 'tx1',
      rounds: [{ afterMs: 0, action: 'disconnect', meters: ['a'] }],
    }) as LoadControlProgramConfig;
    const directory = { meter: (id: string) => t.meter(id), metersOfArea: () => [...t.meters()] };
    const state = initialState(true, T0);
    const overview = new LiveOverview({
      topology: fixedTopology(t.areas(), t.meters()), live, alarms: { countForArea: () => 0, abnormal: () => undefined },
      areaLoad: s, expectedIntervalMs: () => t.expected, missedIntervals: () => 3, now: () => h.clock.now,
    });
    const overviewOf = () => overview.overview(null);

    let x = 7;
    const rnd = (n: number) => (x = (x * 1103515245 + 12345) % 2 ** 31) % n;
    let open = false;
    const seen = { over: 0, under: 0, unknown: 0, raises: 0, clears: 0 };
    for (let sec = 0; sec < 40 * 60; sec++) {
      h.clock.now = T0 + sec * SEC;
      // Integer kW, so the rule's milliwatt sums and the others' float sums are exact alike; some
      // values arrive already older than freshMs. Quiet spells (400 s) let every value go stale.
      const quiet = sec % 900 >= 500;
      for (const id of customers) if (!quiet && rnd(40) === 0) write(id, 5 + rnd(31), h.clock.now - rnd(7) * MIN);
      if (rnd(20) === 0) write('supply', 200, h.clock.now);
      h.engine.tick(h.clock.now);

      const ov = overviewOf().areas.find((a) => a.id === 'tx1');
      const lc = measure(program, h.clock.now, live, directory, state, 0, s);
      const fn = areaLoad([...t.meters()].map((m) => m.id), (id) => live.value(meterOf(id), 'power.active'), 100, h.clock.now, s);
      expect(ov?.limitKw).toBeCloseTo(80, 9);
      expect(fn.limitKw).toBe(ov?.limitKw);
      expect(lc.value ?? null).toBe(ov?.loadKw);
      expect(fn.loadKw).toBe(ov?.loadKw);
      expect(lc.reporting).toBe(fn.fresh);
      expect(lc.bound).toBe(fn.meters);

      for (const sig of h.signals.splice(0)) {
        if (sig.kind === 'raise') {
          seen.raises++;
          expect(sig.value, `raise at second ${sec}`).toBe(ov?.loadKw);
        } else seen.clears++;
        open = sig.kind === 'raise';
      }
      const over = (ov?.loadKw ?? 0) > (ov?.limitKw ?? Infinity);
      expect(open, `second ${sec}: overview load ${ov?.loadKw} against ${ov?.limitKw}`).toBe(over);
      if (ov?.loadKw === null) seen.unknown++;
      else if (over) seen.over++;
      else seen.under++;
    }
    // The walk crossed the limit both ways and went through unknown, so the comparison meant something.
    expect(seen.over).toBeGreaterThan(100);
    expect(seen.under).toBeGreaterThan(100);
    expect(seen.unknown).toBeGreaterThan(100);
    expect(seen.raises).toBeGreaterThan(2);
    expect(seen.clears).toBeGreaterThan(2);
  });
});

function meterOf(id: string) {
  return meter(id, null).id;
}
