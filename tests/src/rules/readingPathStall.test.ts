/**
 * The station's reading path stalled (a sink ahead of the rules failing, the pipeline
 * retrying): silence-based detection blames no device, one station alarm says why, and
 * after the stall and a grace as long as it the normal judgement resumes. Driven through
 * the engine with an injected clock and an injected stall.
 */
import { describe, expect, it } from 'vitest';
import type { AlarmSignal } from '../../../src/domain/index.js';
import type { PipelineStall } from '../../../src/ingest/pipeline.js';
import { renderExplanation } from '../../../src/rules/explanation.js';
import { READING_PATH_RULE_ID } from '../../../src/rules/readingPathStall.js';
import { FakeTopology, MIN, SEC, T0, area, harness, meter, reading, rule, type Harness } from './fixture.js';

/** Two transformer areas of five meters each; every meter reports every 15 s. */
const fleet = () => new FakeTopology(
  [area('r1', null), area('tx1', 'r1', 400), area('tx2', 'r1', 400)],
  Array.from({ length: 10 }, (_, i) => meter(`m${i}`, i < 5 ? 'tx1' : 'tx2')),
);
const METERS = Array.from({ length: 10 }, (_, i) => `m${i}`);
const commLoss = rule({ id: 'comm', subject: { all: true }, detector: 'communication-loss', params: { missedIntervals: 3, clearForMs: 0 } });
const rules = [
  commLoss,
  rule({ id: 'abnormal', subject: { all: true }, detector: 'abnormal-area', params: { maxSharePct: 30, minMeters: 5, forMs: 0, clearForMs: 0 } }),
];

interface Stalling {
  readonly h: Harness;
  /** What the pipeline reports; undefined while the path flows. */
  stall: PipelineStall | undefined;
}

function stalling(ruleSet = rules): Stalling {
  const s: Stalling = { h: harness(fleet(), ruleSet, { tickBudgetMs: 0, tickMinSlice: 10_000 }), stall: undefined };
  s.h.engine.watchReadingPath(() => s.stall);
  return s;
}

/** Advances second by second to `until`; `reporting` meters send a reading every 5 s. Returns the signals. */
function run(h: Harness, until: number, reporting: readonly string[]): AlarmSignal[] {
  const out: AlarmSignal[] = [];
  while (h.clock.now < until) {
    h.clock.now += SEC;
    if ((h.clock.now - T0) % (5 * SEC) === 0) h.engine.write(reporting.map((m) => reading(m, 'power.active', 1, h.clock.now)));
    h.engine.tick();
    out.push(...h.signals.splice(0));
  }
  return out;
}

const names = (signals: readonly AlarmSignal[]) => signals.map((s) => `${s.kind}:${s.subject.id}:${s.ruleId}`);

describe('a stalled reading path', () => {
  it('raises no communication loss or abnormal area for meters whose readings stop, and one station alarm instead', () => {
    const s = stalling();
    const { h } = s;
    expect(run(h, T0 + MIN, METERS)).toEqual([]);
    // The store fails: the pipeline holds what it got, and the rules hear nothing for ten minutes.
    s.stall = { sink: 'store', since: h.clock.now, attempts: 1, errorCode: 'DB_UNREACHABLE', held: 4_000 };
    const during = run(h, T0 + 11 * MIN, []);
    expect(names(during)).toEqual([`raise:reading-path:${READING_PATH_RULE_ID}`]);
    expect(during[0]).toMatchObject({ subject: { kind: 'station', id: 'reading-path' }, severity: 'major', areaId: null, value: 4_000 });
  });

  it('clears the station alarm when the store writes again, and judges silence again only after a grace as long as the stall', () => {
    const s = stalling();
    const { h } = s;
    run(h, T0 + MIN, METERS);
    s.stall = { sink: 'store', since: h.clock.now, attempts: 1, errorCode: 'DB_UNREACHABLE', held: 4_000 };
    run(h, T0 + 11 * MIN, []);
    s.stall = undefined;
    const recovered = h.clock.now;
    // The held readings arrive, except from m0..m2, which really went silent: still none blamed during the grace.
    const alive = METERS.slice(3);
    const grace = run(h, recovered + 10 * MIN - SEC, alive);
    expect(names(grace)).toEqual([`clear:reading-path:${READING_PATH_RULE_ID}`]);
    // The grace over, the meters still silent are raised, and their area (3 of 5 in alarm) with them.
    const after = run(h, recovered + 10 * MIN + 2 * SEC, alive);
    expect(names(after).sort()).toEqual(['raise:m0:comm', 'raise:m1:comm', 'raise:m2:comm', 'raise:tx1:abnormal']);
    expect(after.find((a) => a.subject.id === 'm0')?.explanation).toMatch(/^communication loss: no data for 20 min/);
    // And from then on a meter that stops is judged as it always was (3 × 15 s), and so is the region (4 of 10).
    const later = run(h, h.clock.now + 50 * SEC, alive.slice(1));
    expect(names(later)).toEqual(['raise:m3:comm', 'raise:r1:abnormal']);
  });

  it('leaves a meter in alarm before the stall in alarm, neither cleared nor raised again', () => {
    const s = stalling();
    const { h } = s;
    const raised = run(h, T0 + 2 * MIN, METERS.slice(1));
    expect(names(raised)).toEqual(['raise:m0:comm']);
    s.stall = { sink: 'store', since: h.clock.now, attempts: 1, errorCode: 'DB_STATEMENT_TIMEOUT', held: 10 };
    expect(names(run(h, T0 + 7 * MIN, []))).toEqual([`raise:reading-path:${READING_PATH_RULE_ID}`]);
    s.stall = undefined;
    expect(names(run(h, T0 + 12 * MIN, METERS.slice(1)))).toEqual([`clear:reading-path:${READING_PATH_RULE_ID}`]);
    // m0 was never cleared, so it is not raised again; once it reports it clears as usual.
    expect(names(run(h, T0 + 13 * MIN, METERS))).toEqual(['clear:m0:comm']);
  });

  it('does not let an abnormal area counting communication loss come to a head while the path is stalled, and judges it after the grace', () => {
    const slow = [commLoss, rule({ id: 'abnormal', subject: { area: 'tx1' }, detector: 'abnormal-area', params: { maxSharePct: 30, minMeters: 5, forMs: 2 * MIN, clearForMs: 0 } })];
    const s = stalling(slow);
    const { h } = s;
    // m0..m2 of tx1 fall silent: in alarm at 45 s, so tx1 is over its bound and pending from then.
    expect(names(run(h, T0 + MIN, METERS.slice(3)))).toEqual(['raise:m0:comm', 'raise:m1:comm', 'raise:m2:comm']);
    s.stall = { sink: 'store', since: h.clock.now, attempts: 1, errorCode: 'DB_UNREACHABLE', held: 100 };
    // The area's two minutes pass during the stall: it is not raised on a picture the station cannot refresh.
    expect(names(run(h, T0 + 6 * MIN, []))).toEqual([`raise:reading-path:${READING_PATH_RULE_ID}`]);
    s.stall = undefined;
    // Stalled from 60 s, seen flowing at 361 s: silence is evidence again from 662 s.
    expect(names(run(h, T0 + 661 * SEC, METERS.slice(3)))).toEqual([`clear:reading-path:${READING_PATH_RULE_ID}`]);
    // The grace over, the three meters are still silent: the area is raised.
    expect(names(run(h, T0 + 662 * SEC, METERS.slice(3)))).toEqual(['raise:tx1:abnormal']);
  });

  it('explains in English and Chinese that readings are held because the store fails, with the error code and how many wait', () => {
    const s = stalling();
    const { h } = s;
    run(h, T0 + MIN, METERS);
    s.stall = { sink: 'store', since: h.clock.now - 3 * SEC, attempts: 4, errorCode: 'DB_UNREACHABLE', held: 12_345 };
    const [raise] = run(h, T0 + MIN + SEC, []);
    expect(raise?.explanation).toBe('the station\'s reading path is stalled: the store has failed to write readings since 02:00:57Z (4 s; 4 attempts, last error DB_UNREACHABLE), '
      + 'so 12345 readings are held in the ingest pipeline and written once it recovers. Live values, rules and OPC UA see nothing new meanwhile. '
      + 'The devices are not blamed for the silence: communication loss and abnormal areas are not judged while the path is stalled, nor for as long again after it recovers');
    const data = raise?.explanationData;
    const zh = data === undefined ? '' : renderExplanation(data, 'zh');
    expect(zh).toContain('DB_UNREACHABLE');
    expect(zh).toContain('12345 条读数暂存在入库管道中');
    expect(zh).toContain('不判断通信中断和异常台区');
    s.stall = undefined;
    const [clear] = run(h, h.clock.now + SEC, METERS);
    expect(clear?.explanation).toBe('the store writes readings again after 5 s (stalled since 02:00:57Z); the readings held are being written, and meters are judged for communication loss again from 02:01:07Z, after a grace as long as the stall');
  });

  it('brings the open station alarm up to date at most once a minute while the stall lasts', () => {
    const s = stalling();
    const { h } = s;
    run(h, T0 + MIN, METERS);
    const since = h.clock.now;
    const raises: number[] = [];
    while (h.clock.now < since + 150 * SEC) {
      h.clock.now += SEC;
      s.stall = { sink: 'store', since, attempts: (h.clock.now - since) / SEC, errorCode: 'DB_UNREACHABLE', held: (h.clock.now - since) / SEC };
      h.engine.tick();
      for (const sig of h.signals.splice(0)) if (sig.kind === 'raise') raises.push(sig.value);
    }
    expect(raises).toEqual([1, 61, 121]);
  });

  it('clears a station alarm an earlier run left open at the first look that finds the path flowing, without a grace', () => {
    const h = harness(fleet(), rules, { tickBudgetMs: 0, tickMinSlice: 10_000 });
    h.engine.watchReadingPath(() => undefined, T0 - 30 * MIN);
    h.clock.now += SEC;
    h.engine.tick();
    expect(h.take()).toEqual([`clear:reading-path:${READING_PATH_RULE_ID}`]);
    // No grace: meters never heard from by this run are judged from its start, as always.
    const signals = run(h, T0 + 47 * SEC, METERS.slice(1));
    expect(names(signals)).toEqual(['raise:m0:comm']);
  });

  it('is not a stall of the rules when no reading path is watched: communication loss is judged as always', () => {
    const h = harness(fleet(), rules, { tickBudgetMs: 0, tickMinSlice: 10_000 });
    expect(names(run(h, T0 + 47 * SEC, METERS.slice(1)))).toEqual(['raise:m0:comm']);
  });
});
