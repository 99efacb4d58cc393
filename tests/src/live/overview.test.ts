/**
 * The overview's "meters reporting" and the communication-loss rule share one freshness
 * definition (src/rules/freshness.ts): driven side by side on one clock, a meter is never
 * counted as reporting while the rule holds it in communication loss, nor the reverse.
 */
import { describe, expect, it } from 'vitest';
import { meterId } from '../../../src/domain/index.js';
import { LatestValues, withStored } from '../../../src/live/latest.js';
import { LiveOverview, type Overview } from '../../../src/live/overview.js';
import { isReporting, missedIntervalsOf } from '../../../src/rules/freshness.js';
import { fixedTopology } from '../../helpers/liveOverview.js';
import { FakeTopology, MIN, SEC, T0, area, harness, meter, reading, rule } from '../rules/fixture.js';

/** One overview kept up to date from `live` from now on; each call brings it to `now()`. */
function overviewOf(t: FakeTopology, live: LatestValues, now: () => number, missed: number): () => Overview {
  const overview = new LiveOverview({
    topology: fixedTopology(t.areas(), t.meters()),
    live,
    alarms: { countForArea: () => 0, abnormal: () => undefined },
    // Power counts while 45 s old at most: the 3 × 15 s the communication-loss rule allows here.
    areaLoad: { freshMs: 45 * SEC, powerFactor: 0.9, excluded: new Set() },
    expectedIntervalMs: () => t.expected,
    missedIntervals: () => missed,
    now,
  });
  return () => overview.overview(null);
}

describe('one freshness for the overview and communication loss', () => {
  it('counts a meter as reporting exactly while the communication-loss rule holds no alarm for it', () => {
    const t = new FakeTopology([area('tx1', null, 400)], Array.from({ length: 6 }, (_, i) => meter(`m${i}`, 'tx1')));
    const h = harness(t, [rule({ id: 'comm', subject: { all: true }, detector: 'communication-loss', params: { missedIntervals: 3 } })]);
    const live = new LatestValues(() => h.clock.now);
    const write = (id: string) => {
      const batch = [reading(id, 'power.active', 2, h.clock.now)];
      live.write(batch);
      h.engine.write(batch);
    };
    const overview = overviewOf(t, live, () => h.clock.now, 3);
    for (let i = 0; i < 6; i++) write(`m${i}`);
    const open = new Set<string>();
    let compared = 0;
    let silentSeen = 0;
    // Meter i reports every (i + 1) × 10 s for 4 minutes: some stay fresh, some fall silent and come back.
    while (h.clock.now < T0 + 4 * MIN) {
      h.clock.now += SEC;
      const s = (h.clock.now - T0) / SEC;
      for (let i = 0; i < 6; i++) if (s % ((i + 1) * 10) === 0 && !(i === 5 && s > 60 && s < 180)) write(`m${i}`);
      h.engine.tick();
      for (const sig of h.signals.splice(0)) {
        if (sig.kind === 'raise') open.add(sig.subject.id);
        else open.delete(sig.subject.id);
      }
      const tx1 = overview().areas[0];
      expect(tx1?.metersReporting, `second ${s}: open ${[...open].join(',')}`).toBe(6 - open.size);
      compared += 1;
      silentSeen += open.size;
    }
    expect(compared).toBe(240);
    expect(silentSeen).toBeGreaterThan(100);
  });

  it('sums the power of reporting meters only, and counts a meter that only sends registers as reporting', () => {
    const now = T0 + 10 * MIN;
    const t = new FakeTopology([area('tx1', null, 400)], [meter('a', 'tx1'), meter('b', 'tx1'), meter('c', 'tx1')]);
    let clock = now - 40 * SEC;
    const live = new LatestValues(() => clock);
    const overview = overviewOf(t, live, () => clock, 3);
    overview();
    live.write([reading('a', 'power.active', 5, clock)]);
    clock = now - 50 * SEC; // b: last heard 50 s ago, 3 × 15 s missed: silent
    live.write([reading('b', 'power.active', 7, clock)]);
    clock = now - 5 * SEC; // c: registers only, its power is 10 min old
    live.write([reading('c', 'power.active', 9, now - 10 * MIN), reading('c', 'energy.active.import', 100, clock)]);
    clock = now;
    const tx1 = overview().areas[0];
    expect(tx1).toMatchObject({ meters: 3, metersReporting: 2, loadKw: 5 });
  });

  it('takes the strictest enabled communication-loss setting, the detector default without one', () => {
    expect(missedIntervalsOf([{ params: { missedIntervals: 5 } }, { params: { missedIntervals: 2 } }])).toBe(2);
    expect(missedIntervalsOf([])).toBe(3);
    expect(isReporting(T0, T0 + 44 * SEC, 15 * SEC, 3)).toBe(true);
    expect(isReporting(T0, T0 + 45 * SEC, 15 * SEC, 3)).toBe(false);
    expect(isReporting(null, T0, 15 * SEC, 3)).toBe(false);
    expect(isReporting(T0, T0, undefined, 3)).toBe(false);
  });
});

describe('latest values after a restart', () => {
  it('completes the live values with stored ones, the newer of each quantity winning', () => {
    const stored = [
      { quantity: 'energy.active.import' as const, value: 1234.5, unit: 'kWh', ts: T0 - 4 * MIN, quality: 'good' as const },
      { quantity: 'power.active' as const, value: 1, unit: 'kW', ts: T0 - 4 * MIN, quality: 'good' as const },
    ];
    const live = new LatestValues(() => T0);
    live.write([{ ...reading('m1', 'power.active', 3, T0), unit: 'kW' }]);
    const merged = withStored(live.of(meterId('m1')), stored);
    expect(merged.map((v) => [v.quantity, v.value]).sort()).toEqual([['energy.active.import', 1234.5], ['power.active', 3]]);
  });
});
