import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../src/domain/errors.js';
import { PowerOverLimitParams, VoltageLimitsParams, parseDetectorParams } from '../../../../src/rules/detectors/index.js';

describe('parseDetectorParams', () => {
  it('fills in the defaults', () => {
    expect(parseDetectorParams(PowerOverLimitParams, { limitKw: 80 })).toEqual({ limitKw: 80, hysteresisKw: 0, forMs: 0, clearForMs: 0 });
  });

  it('does not modify its input', () => {
    const input = { limitKw: 80 };
    parseDetectorParams(PowerOverLimitParams, input);
    expect(input).toEqual({ limitKw: 80 });
  });

  it('rejects a bad field with a ValidationError naming it', () => {
    const bad = () => parseDetectorParams(VoltageLimitsParams, { nominalV: 230, lowPct: 10, highPct: -1 });
    expect(bad).toThrow(ValidationError);
    expect(bad).toThrow(/highPct/);
    try {
      bad();
    } catch (e) {
      expect(e).toMatchObject({ code: 'VALIDATION', field: 'highPct' });
    }
  });

  it('rejects unknown fields', () => {
    expect(() => parseDetectorParams(PowerOverLimitParams, { limitKw: 80, limitkW: 90 })).toThrow(/additional properties/);
  });
});
