import { describe, expect, it } from 'vitest';
import { contentRange, selectBytes } from '../../../../src/firmware/ota/byteRange.js';

const ETAG = `"${'ab'.repeat(32)}"`;
const select = (range: string | undefined, ifRange?: string) => selectBytes({ range, ifRange }, 1000, ETAG);

describe('byte ranges of an OTA download (RFC 9110 §14)', () => {
  it('selects one range: first-last, first- and a suffix, the end clamped to the image', () => {
    expect(select('bytes=0-499')).toEqual({ kind: 'range', start: 0, end: 499 });
    expect(select('bytes=500-')).toEqual({ kind: 'range', start: 500, end: 999 });
    expect(select('bytes=-100')).toEqual({ kind: 'range', start: 900, end: 999 });
    expect(select('bytes=990-5000')).toEqual({ kind: 'range', start: 990, end: 999 });
    expect(select('bytes=-5000')).toEqual({ kind: 'range', start: 0, end: 999 });
    expect(select('Bytes = 7 - 7 ')).toEqual({ kind: 'range', start: 7, end: 7 });
  });

  it('finds a range that starts past the end, or an empty suffix, unsatisfiable', () => {
    expect(select('bytes=1000-')).toEqual({ kind: 'unsatisfiable' });
    expect(select('bytes=1000-1200')).toEqual({ kind: 'unsatisfiable' });
    expect(select('bytes=-0')).toEqual({ kind: 'unsatisfiable' });
  });

  it('sends the whole image without a Range, for a malformed one, another unit, or several ranges (§14.2)', () => {
    for (const header of [undefined, 'bytes=', 'bytes=-', 'bytes=5-2', 'bytes=a-', 'items=0-5', 'bytes 0-5', 'bytes=0-5,10-20', 'bytes=0-1, -1',
      `bytes=${'9'.repeat(20)}-`, `bytes=0-${' '.repeat(300)}`]) {
      expect(select(header), String(header)).toEqual({ kind: 'whole' });
    }
  });

  it('applies the range only while If-Range matches the strong ETag (§13.1.5), else sends the whole image', () => {
    expect(select('bytes=10-', ETAG)).toEqual({ kind: 'range', start: 10, end: 999 });
    expect(select('bytes=10-', `W/${ETAG}`)).toEqual({ kind: 'whole' });
    expect(select('bytes=10-', `"${'cd'.repeat(32)}"`)).toEqual({ kind: 'whole' });
    expect(select('bytes=10-', 'Mon, 07 Dec 2026 09:00:00 GMT')).toEqual({ kind: 'whole' });
    // If-Range without Range means nothing.
    expect(select(undefined, ETAG)).toEqual({ kind: 'whole' });
  });

  it('writes Content-Range for a 206 and a 416 (§14.4)', () => {
    expect(contentRange({ kind: 'range', start: 10, end: 999 }, 1000)).toBe('bytes 10-999/1000');
    expect(contentRange({ kind: 'unsatisfiable' }, 1000)).toBe('bytes */1000');
  });
});
