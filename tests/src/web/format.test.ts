/**
 * The dashboard's formatting (src/web/format.ts), run outside the browser: any number fits a
 * card, one locale writes every date, and alarm explanations read in the operator's language.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fmtDay, fmtExplanation, fmtNumber, fmtQuantity, fmtTime } from '../../../src/web/format.js';
import { setLang } from '../../../src/web/i18n.js';
import type { Explanation } from '../../../src/domain/explanation.js';

/** Wider than this, a figure would not fit the narrowest card at 1366 px (the KPI font). */
const MAX_CHARS = 10;

afterEach(() => { setLang('en'); });

describe('dashboard number formatting', () => {
  it('writes any finite number compactly enough to fit its card, in both languages', () => {
    for (const lang of ['en', 'zh'] as const) {
      setLang(lang);
      for (const v of [-1e300, 1e300, 1e15, -1e15, 123_456_789_012, 1.5e9, 999_999.94, -12_345.678, 0.001, -0]) {
        const text = fmtNumber(v, 2);
        expect(text.length, `${lang} ${v} → ${text}`).toBeLessThanOrEqual(MAX_CHARS);
        expect(text, `${lang} ${v}`).toMatch(/\d/);
      }
    }
  });

  it('keeps ordinary values exact and names huge ones by magnitude', () => {
    setLang('en');
    expect(fmtQuantity(12.345, 'kW')).toBe('12.35 kW');
    expect(fmtQuantity(-1e300, 'kW')).toBe('-1E300 kW');
    expect(fmtNumber(1e15)).toBe('1E15');
    expect(fmtNumber(1.5e9)).toBe('1.5bn');
    setLang('zh');
    expect(fmtNumber(1.5e9)).toBe('15亿');
    expect(fmtNumber(Number.NaN)).toBe('—');
    expect(fmtNumber(Number.POSITIVE_INFINITY)).toBe('—');
  });
});

describe('dashboard dates', () => {
  it('writes dates in the one locale of the language, for timestamps and calendar days alike', () => {
    const ts = new Date(2026, 11, 6, 9, 5, 7).getTime();
    setLang('en');
    expect(fmtTime(ts)).toBe('06/12/2026, 09:05:07');
    expect(fmtDay('2026-12-06')).toBe('06/12/2026');
    setLang('zh');
    expect(fmtTime(ts)).toBe('2026/12/06 09:05:07');
    expect(fmtDay('2026-12-06')).toBe('2026/12/06');
  });
});

describe('alarm explanations in the dashboard', () => {
  const ref = new Date(2026, 11, 6, 9, 0, 0).getTime();
  const data: Explanation = {
    ref,
    parts: [
      { id: 'power-over-limit.raise', en: ['power ', ' is over the limit ', ' (', ' over)'], args: [{ v: 12.5, d: 1, u: 'kW' }, { v: 10, d: 1, u: 'kW' }, { pct: 25 }] },
      { id: 'held', en: [' for ', ' (since ', ')'], args: [{ ms: 300_000 }, { at: ref - 300_000 }] },
    ],
  };

  it('renders in the chosen language with local times, never UTC with a Z', () => {
    setLang('en');
    expect(fmtExplanation(data, 'stored')).toBe('power 12.5 kW is over the limit 10.0 kW (25% over) for 5 min (since 08:55:00)');
    setLang('zh');
    expect(fmtExplanation(data, 'stored')).toBe('功率 12.5 kW 超过限值 10.0 kW（超出 25%），持续 5 分钟（自 08:55:00 起）');
  });

  it('shows the stored English text of an alarm that has no explanation data', () => {
    setLang('zh');
    expect(fmtExplanation(null, 'power 12.4 kW over the 10 kW limit')).toBe('power 12.4 kW over the 10 kW limit');
  });
});
