import { describe, expect, it } from 'vitest';
import { QUANTITY_NAMES, type Quantity } from '../../../src/domain/index.js';
import { DEFAULT_PLAUSIBILITY, plausibleRange, withinBound, type MeterRating } from '../../../src/ingest/plausibility.js';

const direct: MeterRating = { ctRatio: 1, ptRatio: 1 };
/** A CT/PT-connected meter: 57.7 V, 6 A at its terminals behind 10 kV/100 V and 200/5 A transformers. */
const transformerRated: MeterRating = { ctRatio: 40, ptRatio: 100, nominalVoltage: 57.7, maxCurrent: 6 };
const plausible = (q: Quantity, value: number, meter: MeterRating = direct) => withinBound(value, plausibleRange(q, meter, DEFAULT_PLAUSIBILITY));

describe('plausibility bounds', () => {
  it('bounds voltage to 0 … 2 × nominal on the primary side', () => {
    expect(plausibleRange('voltage.l1', direct, DEFAULT_PLAUSIBILITY)).toEqual({ min: 0, max: 460 });
    expect(plausible('voltage.l2', 0)).toBe(true);
    expect(plausible('voltage.l2', 460)).toBe(true);
    expect(plausible('voltage.l2', 460.1)).toBe(false);
    expect(plausible('voltage.l3', -1)).toBe(false);
    expect(plausibleRange('voltage.l1', transformerRated, DEFAULT_PLAUSIBILITY).max).toBeCloseTo(2 * 57.7 * 100);
  });

  it('bounds current to 0 … overrange × Imax × CT', () => {
    expect(plausibleRange('current.l1', direct, DEFAULT_PLAUSIBILITY)).toEqual({ min: 0, max: 200 });
    expect(plausibleRange('current.l3', transformerRated, DEFAULT_PLAUSIBILITY)).toEqual({ min: 0, max: 2 * 6 * 40 });
    expect(plausible('current.l2', 150)).toBe(true);
    expect(plausible('current.l2', 201)).toBe(false);
    expect(plausible('current.l2', -0.5)).toBe(false);
  });

  it('bounds phase power by the largest plausible voltage times current, and the total by three phases, in both directions', () => {
    // (2 × 230 V) × (2 × 100 A) = 92 kW per phase.
    expect(plausibleRange('power.active.l1', direct, DEFAULT_PLAUSIBILITY)).toEqual({ min: -92, max: 92 });
    expect(plausibleRange('power.active', direct, DEFAULT_PLAUSIBILITY)).toEqual({ min: -276, max: 276 });
    expect(plausibleRange('power.reactive', direct, DEFAULT_PLAUSIBILITY)).toEqual({ min: -276, max: 276 });
    expect(plausible('power.active', -250)).toBe(true); // export
    expect(plausible('power.active', -1e300)).toBe(false);
    expect(plausible('power.active.l2', 93)).toBe(false);
    // Behind transformers: (2 × 57.7 × 100) × (2 × 6 × 40) / 1000 ≈ 5,539 kW per phase.
    expect(plausible('power.active', 15_000, transformerRated)).toBe(true);
    expect(plausible('power.active', 17_000, transformerRated)).toBe(false);
  });

  it('bounds maximum demand like total power, never negative', () => {
    expect(plausibleRange('demand.active.max', direct, DEFAULT_PLAUSIBILITY)).toEqual({ min: 0, max: 276 });
    expect(plausible('demand.active.max', -1)).toBe(false);
  });

  it('bounds power factor to −1 … 1 whatever the ratios', () => {
    expect(plausibleRange('power.factor', transformerRated, DEFAULT_PLAUSIBILITY)).toEqual({ min: -1, max: 1 });
    expect(plausible('power.factor', -0.95)).toBe(true);
    expect(plausible('power.factor', 1.01)).toBe(false);
  });

  it('bounds frequency to the configured 40 … 70 Hz', () => {
    expect(plausible('frequency', 50)).toBe(true);
    expect(plausible('frequency', 39.9)).toBe(false);
    expect(plausible('frequency', 70.1)).toBe(false);
    expect(withinBound(80, plausibleRange('frequency', direct, { ...DEFAULT_PLAUSIBILITY, maxFrequency: 90 }))).toBe(true);
  });

  it('takes energy registers that are non-negative and finite, however large', () => {
    for (const q of QUANTITY_NAMES.filter((n) => n.startsWith('energy.'))) {
      expect(plausible(q, 0)).toBe(true);
      expect(plausible(q, 1e12)).toBe(true);
      expect(plausible(q, -0.001)).toBe(false);
      expect(plausible(q, Number.POSITIVE_INFINITY)).toBe(false);
    }
  });

  it('takes any finite clock drift', () => {
    expect(plausible('clock.drift', -86_400)).toBe(true);
    expect(plausible('clock.drift', Number.NaN)).toBe(false);
  });

  it('uses the meter\'s own rating over the configured defaults, and the configured overrange', () => {
    expect(plausibleRange('current.l1', { ...direct, maxCurrent: 60 }, DEFAULT_PLAUSIBILITY).max).toBe(120);
    expect(plausibleRange('current.l1', direct, { ...DEFAULT_PLAUSIBILITY, maxCurrent: 5, overrange: 1.2 }).max).toBeCloseTo(6);
    expect(plausibleRange('voltage.l1', { ...direct, nominalVoltage: 120 }, DEFAULT_PLAUSIBILITY).max).toBe(240);
  });

  it('refuses non-finite values for every quantity of the catalogue', () => {
    for (const q of QUANTITY_NAMES) {
      for (const v of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) expect(plausible(q, v)).toBe(false);
    }
  });
});
