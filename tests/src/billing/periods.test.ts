import { describe, expect, it } from 'vitest';
import { csvField, csvLine } from '../../../src/billing/csv.js';
import { localMidnight, monthBounds } from '../../../src/billing/periods.js';
import { ValidationError } from '../../../src/domain/errors.js';

describe('billing periods in station time', () => {
  it('puts local midnight at the UTC instant of the offset, east and west', () => {
    expect(new Date(localMidnight('2026-03-10', 480)).toISOString()).toBe('2026-03-09T16:00:00.000Z');
    expect(new Date(localMidnight('2026-03-10', -300)).toISOString()).toBe('2026-03-10T05:00:00.000Z');
    expect(new Date(localMidnight('2026-01-01', 0)).toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });

  it('bounds a month by its first local midnight and the next month\'s, across a year end', () => {
    const { start, end } = monthBounds('2026-12', 480);
    expect(new Date(start).toISOString()).toBe('2026-11-30T16:00:00.000Z');
    expect(new Date(end).toISOString()).toBe('2026-12-31T16:00:00.000Z');
  });

  it('rejects dates that do not exist', () => {
    expect(() => localMidnight('2026-02-30', 0)).toThrow(ValidationError);
    expect(() => monthBounds('2026-13', 0)).toThrow(ValidationError);
  });
});

describe('CSV fields (RFC 4180)', () => {
  it('quotes fields holding a comma, quote, CR or LF, doubling inner quotes, and ends lines with CRLF', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(null)).toBe('');
    expect(csvLine(['m1', 1.5, null, 'x'])).toBe('m1,1.5,,x\r\n');
  });
});
