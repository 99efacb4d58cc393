/**
 * The OTA download route's byte ranges over a real socket (RFC 9110 §14): one range answered
 * 206 with Content-Range, a range past the end 416 with the size, and every case the route
 * answers with the whole image instead (several ranges, a malformed Range, a stale If-Range).
 * The token serves as many GETs as the terminal needs until it is revoked, each one holding a slot.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startAedes } from '../../helpers/aedes.js';
import { IMAGE, SHA256, startOtaRig } from '../../helpers/otaRig.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ETAG = `"${SHA256}"`;
const SIZE = IMAGE.byteLength;

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  const body = new Uint8Array(await res.arrayBuffer());
  const h = (name: string) => res.headers.get(name);
  return { status: res.status, body, contentRange: h('content-range'), length: h('content-length'), acceptRanges: h('accept-ranges'), etag: h('etag'), type: h('content-type') };
}

describe('GET /api/v1/firmware/ota/:token with Range', () => {
  it('answers one range with 206 and Content-Range: first-last, first- and a suffix', async () => {
    const r = await startOtaRig(() => startAedes(), cleanups);
    const { url } = r.downloads.grant('o-1', 'img-1');
    const cases: [string, number, number][] = [['bytes=0-99', 0, 99], ['bytes=150000-', 150_000, SIZE - 1], ['bytes=-3', SIZE - 3, SIZE - 1], ['bytes=199990-999999', 199_990, SIZE - 1]];
    for (const [range, first, last] of cases) {
      const res = await get(url, { range, 'if-range': ETAG });
      expect(res, range).toMatchObject({ status: 206, contentRange: `bytes ${first}-${last}/${SIZE}`, length: String(last - first + 1), acceptRanges: 'bytes', etag: ETAG, type: 'application/octet-stream' });
      expect(Buffer.from(res.body).equals(Buffer.from(IMAGE.subarray(first, last + 1))), range).toBe(true);
    }
    // A response counts once the station closed it, which may come a moment after the client read the last byte.
    await r.until(() => r.downloads.active === 0);
    expect(r.downloads.stats()).toMatchObject({ started: { whole: 0, range: 4 }, completed: { whole: 0, range: 4 } });
  });

  it('answers a range past the end with 416 and Content-Range: bytes */size, as problem+json', async () => {
    const r = await startOtaRig(() => startAedes(), cleanups);
    const { url } = r.downloads.grant('o-2', 'img-1');
    for (const range of [`bytes=${SIZE}-`, 'bytes=-0']) {
      const res = await get(url, { range });
      expect(res, range).toMatchObject({ status: 416, contentRange: `bytes */${SIZE}`, type: 'application/problem+json; charset=utf-8' });
      expect(JSON.parse(Buffer.from(res.body).toString('utf8'))).toMatchObject({ status: 416, code: 'OTA_RANGE_NOT_SATISFIABLE', title: 'Range Not Satisfiable' });
    }
    expect(r.downloads.active).toBe(0);
    expect(r.downloads.stats().refused.range_not_satisfiable).toBe(2);
  });

  it('sends the whole image (200) for several ranges, a malformed Range, or an If-Range that does not match', async () => {
    const r = await startOtaRig(() => startAedes(), cleanups);
    const { url } = r.downloads.grant('o-3', 'img-1');
    const cases: Record<string, string>[] = [
      { range: 'bytes=0-9,20-29' }, { range: 'bytes=9-0' }, { range: 'pages=1-2' }, { range: 'bytes=abc' },
      { range: 'bytes=10-', 'if-range': `"${'0'.repeat(64)}"` }, { range: 'bytes=10-', 'if-range': `W/${ETAG}` },
    ];
    for (const headers of cases) {
      const res = await get(url, headers);
      expect(res, JSON.stringify(headers)).toMatchObject({ status: 200, contentRange: null, length: String(SIZE), acceptRanges: 'bytes', etag: ETAG });
      expect(Buffer.from(res.body).equals(Buffer.from(IMAGE)), JSON.stringify(headers)).toBe(true);
    }
  });

  it('serves the same token again until the offer is revoked, and a ranged GET waits for a slot like a whole one', async () => {
    const r = await startOtaRig(() => startAedes(), cleanups);
    const { url, token } = r.downloads.grant('o-4', 'img-1');
    expect((await get(url)).status).toBe(200);
    expect((await get(url, { range: 'bytes=100-' })).status).toBe(206);
    const held = [await r.downloads.open(token), await r.downloads.open(token)];
    const busy = await fetch(url, { headers: { range: 'bytes=100-' } });
    expect([busy.status, busy.headers.get('retry-after')]).toEqual([503, '30']);
    await busy.body?.cancel();
    for (const h of held) h.release(0);
    r.downloads.revoke('o-4');
    const gone = await get(url, { range: 'bytes=100-' });
    expect(gone.status).toBe(404);
    expect(r.downloads.stats().refused).toMatchObject({ busy: 1, unknown_token: 1 });
  });
});
