import { describe, expect, it } from 'vitest';
import { toCsv } from '../../../src/web/csv.js';

describe('analysis CSV export', () => {
  it('writes RFC 4180 rows with a byte order mark, quoting what needs it and leaving missing figures empty', () => {
    const text = toCsv(['区域', 'Loss (kWh)'], [['TX 1', 12.5], ['say "hi", then\nleave', null], ['x', Number.NaN]]);
    expect(text).toBe('\uFEFF区域,Loss (kWh)\r\nTX 1,12.5\r\n"say ""hi"", then\nleave",\r\nx,\r\n');
  });
});
