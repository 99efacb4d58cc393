/**
 * Explanations as data: the English text is what it always was, the same data reads in
 * Chinese and in another time zone, every template a detector writes has a Chinese form
 * with the right arguments, and a stored explanation survives a JSON round trip.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initialCondition } from '../../../src/rules/detectors/condition.js';
import { detectCommunicationLoss } from '../../../src/rules/detectors/silence.js';
import { detectPowerOverLimit } from '../../../src/rules/detectors/power.js';
import {
  isExplanation, renderDuration, renderExplanation, type Explanation, type ExplanationFormat,
} from '../../../src/rules/explanation.js';
import { ZH_EXPLANATIONS } from '../../../src/rules/explanationZh.js';
import { HOUR, MIN, SEC, T0 } from './detectors/drive.js';

/** Local time of a station at UTC+8, as the dashboard writes it for a reader there. */
const BEIJING: ExplanationFormat = {
  number: (v, d) => v.toFixed(d),
  instant: (ts) => new Intl.DateTimeFormat('zh-CN', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(ts),
};

function overLimitRaise(): Explanation {
  const zero = { limitKw: 10, hysteresisKw: 0, forMs: 5 * MIN, clearForMs: 0 };
  const pending = detectPowerOverLimit(initialCondition(), 12.5, zero, T0);
  const raised = detectPowerOverLimit(pending.state, 12.5, zero, T0 + 5 * MIN);
  if (raised.event === undefined) throw new Error('expected a raise');
  expect(raised.event.explanation).toBe('power 12.5 kW is over the limit 10.0 kW (25% over) for 5 min (since 02:00:00Z)');
  return raised.event.explanationData;
}

describe('alarm explanations as data', () => {
  it('renders the English text as stored, and the same data in Chinese in the reader\'s time zone', () => {
    const data = overLimitRaise();
    expect(renderExplanation(data, 'en')).toBe('power 12.5 kW is over the limit 10.0 kW (25% over) for 5 min (since 02:00:00Z)');
    expect(renderExplanation(data, 'zh', BEIJING)).toBe('功率 12.5 kW 超过限值 10.0 kW（超出 25%），持续 5 分钟（自 10:00:00 起）');
  });

  it('survives a JSON round trip (how the alarm store keeps it) and refuses what is not one', () => {
    const data = overLimitRaise();
    const back = JSON.parse(JSON.stringify(data)) as unknown;
    expect(isExplanation(back)).toBe(true);
    expect(renderExplanation(back as Explanation, 'zh')).toBe(renderExplanation(data, 'zh'));
    expect(isExplanation({ ref: 1, parts: [{ id: 'x' }] })).toBe(false);
    expect(isExplanation('power 12.5 kW')).toBe(false);
  });

  it('says a meter never heard from has had no reading since it was added, not a "last reading"', () => {
    const params = { expectedIntervalMs: 15 * SEC, missedIntervals: 3, clearForMs: 0 };
    const r = detectCommunicationLoss(initialCondition(), T0, params, T0 + 45 * SEC, 'added');
    expect(r.event?.explanation).toBe('communication loss: no data for 45 s (no reading since it was added at 02:00:00Z; expected every 15 s, 3 intervals missed, limit 3)');
    const data = r.event?.explanationData;
    expect(data === undefined ? '' : renderExplanation(data, 'zh')).toContain('自 02:00:00Z 添加以来没有读数');
  });

  it('writes durations in the largest sensible units, in both languages', () => {
    expect(renderDuration(45 * SEC)).toBe('45 s');
    expect(renderDuration(5 * MIN)).toBe('5 min');
    expect(renderDuration(5 * MIN + 30 * SEC)).toBe('5 min 30 s');
    expect(renderDuration(2 * HOUR + 5 * MIN)).toBe('2 h 5 min');
    expect(renderDuration(74 * HOUR)).toBe('3 d 2 h');
    expect(renderDuration(74 * HOUR, 'zh')).toBe('3 天 2 小时');
  });

  it('writes instants in UTC in English, with the date only when it is not the reference day', () => {
    const at = (ts: number, ref: number): Explanation => ({ ref, parts: [{ id: 'raised', en: ['; raised ', ''], args: [{ at: ts }] }] });
    expect(renderExplanation(at(T0 + 10 * MIN, T0 + HOUR), 'en')).toBe('; raised 02:10:00Z');
    expect(renderExplanation(at(T0 - 3 * HOUR, T0), 'en')).toBe('; raised 2026-11-25 23:00:00Z');
  });

  it('rounds percentages to what they mean and never writes negative zero', () => {
    const one = (arg: Explanation['parts'][number]['args'][number]): string => renderExplanation({ ref: T0, parts: [{ id: 'phase-value', en: ['', ''], args: [arg] }] }, 'en');
    expect(one({ pct: 20.4 })).toBe('20%');
    expect(one({ pct: 4.54 })).toBe('4.5%');
    expect(one({ pct: 10, signed: true })).toBe('+10%');
    expect(one({ pct: -10, signed: true })).toBe('-10%');
    expect(one({ v: -0.001, d: 1, u: '' })).toBe('0.0');
  });

  it('has a Chinese form for every template the station writes, using exactly its arguments', () => {
    const templates = new Map<string, number>();
    for (const file of sourceFiles('src')) {
      for (const m of readFileSync(file, 'utf8').matchAll(/say\('([^']+)'\)`((?:[^`\\]|\\.)*)`/g)) {
        templates.set(m[1] ?? '', (m[2]?.match(/\$\{/g) ?? []).length);
      }
    }
    expect(templates.size).toBeGreaterThan(60);
    for (const [id, args] of templates) {
      const zh = ZH_EXPLANATIONS[id];
      expect(zh, `Chinese for ${id}`).toBeDefined();
      const used = new Set([...(zh ?? '').matchAll(/\{(\d+)\}/g)].map((x) => Number(x[1])));
      expect([...used].sort(), `arguments of ${id}`).toEqual(Array.from({ length: args }, (_, i) => i));
    }
  });
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}
