import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OtaDownloads, type OtaDownloadsOptions } from '../../../../src/firmware/ota/downloads.js';
import { OtaDownloadsBusy, OtaTokensExhausted, OtaTokenUnknown } from '../../../../src/firmware/ota/errors.js';

const image = new Uint8Array([1, 2, 3, 4]);
const sha256 = createHash('sha256').update(image).digest('hex');

function registry(o: Partial<OtaDownloadsOptions> = {}) {
  let now = 1_000_000;
  const downloads = new OtaDownloads({
    source: (id) => (id === 'img-1' ? Promise.resolve({ bytes: image, sha256 }) : Promise.reject(new Error(`no image ${id}`))),
    baseUrl: () => 'https://headend.example.net/',
    tokenTtlMs: 60_000, maxTokens: 3, maxConcurrentDownloads: 2,
    clock: () => now,
    ...o,
  });
  return { downloads, advance: (ms: number) => { now += ms; } };
}

describe('OTA download tokens', () => {
  it('grants a URL under the base URL with a 43-character base64url token that opens the image', async () => {
    const { downloads } = registry();
    const grant = downloads.grant('offer-1', 'img-1');
    expect(grant.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(grant.url).toBe(`https://headend.example.net/api/v1/firmware/ota/${grant.token}`);
    expect(grant.expiresAt).toBe(1_060_000);
    const d = await downloads.open(grant.token);
    expect([d.body, d.sha256, d.size, d.selection]).toEqual([image, sha256, 4, { kind: 'whole' }]);
    d.release(4);
    // The same token again, for the rest of a broken download: it stays valid until expiry or revocation.
    const rest = await downloads.open(grant.token, { range: 'bytes=1-', ifRange: `"${sha256}"` });
    expect([rest.body, rest.selection]).toEqual([image.subarray(1), { kind: 'range', start: 1, end: 3 }]);
    rest.release(1);
    expect(downloads.grant('offer-2', 'img-1').token).not.toBe(grant.token);
  });

  it('forgets a token once expired, revoked, or replaced by a new grant of the same offer', async () => {
    const { downloads, advance } = registry();
    const first = downloads.grant('offer-1', 'img-1');
    const again = downloads.grant('offer-1', 'img-1');
    await expect(downloads.open(first.token)).rejects.toBeInstanceOf(OtaTokenUnknown);
    const other = downloads.grant('offer-2', 'img-1');
    downloads.revoke('offer-2');
    await expect(downloads.open(other.token)).rejects.toBeInstanceOf(OtaTokenUnknown);
    advance(60_000);
    await expect(downloads.open(again.token)).rejects.toBeInstanceOf(OtaTokenUnknown);
    expect(downloads.live).toBe(0);
    await expect(downloads.open('not-a-token')).rejects.toMatchObject({ code: 'OTA_TOKEN_UNKNOWN', status: 404 });
  });

  it('bounds live tokens, and frees room as they expire', () => {
    const { downloads, advance } = registry();
    for (const id of ['o1', 'o2', 'o3']) downloads.grant(id, 'img-1');
    expect(() => downloads.grant('o4', 'img-1')).toThrow(OtaTokensExhausted);
    advance(60_000);
    expect(downloads.grant('o4', 'img-1').token).toHaveLength(43);
  });

  it('bounds downloads at once; a released or failed download frees its slot', async () => {
    const { downloads } = registry();
    const [a, b, c] = ['o1', 'o2', 'o3'].map((id) => downloads.grant(id, 'img-1').token) as [string, string, string];
    const first = await downloads.open(a);
    const second = await downloads.open(b);
    await expect(downloads.open(c)).rejects.toMatchObject({ code: 'OTA_DOWNLOADS_BUSY', status: 503, retryAfterSec: 30 });
    await expect(downloads.open(c)).rejects.toBeInstanceOf(OtaDownloadsBusy);
    first.release(0);
    first.release(0);
    expect(downloads.active).toBe(1);
    (await downloads.open(c)).release(0);
    second.release(0);
    downloads.revoke('o1');
    const missing = downloads.grant('o4', 'img-gone').token;
    await expect(downloads.open(missing)).rejects.toThrow('no image img-gone');
    expect(downloads.active).toBe(0);
  });

  it('refuses a range past the end with the image size and frees the slot; counts what it started, completed, refused and served', async () => {
    const { downloads, advance } = registry();
    const token = downloads.grant('o1', 'img-1').token;
    await expect(downloads.open(token, { range: 'bytes=4-' })).rejects.toMatchObject({ code: 'OTA_RANGE_NOT_SATISFIABLE', status: 416, size: 4 });
    expect(downloads.active).toBe(0);
    (await downloads.open(token)).release(4);
    (await downloads.open(token, { range: 'bytes=-3' })).release(1);
    (await downloads.open(token, { range: 'bytes=0-0' })).release(1);
    const held = [await downloads.open(token), await downloads.open(token)];
    await expect(downloads.open(token)).rejects.toBeInstanceOf(OtaDownloadsBusy);
    for (const h of held) h.release(0);
    await expect(downloads.open(downloads.grant('o2', 'img-gone').token)).rejects.toThrow('no image img-gone');
    advance(60_000);
    await expect(downloads.open(token, { range: 'bytes=0-' })).rejects.toBeInstanceOf(OtaTokenUnknown);
    expect(downloads.stats()).toEqual({
      started: { whole: 3, range: 2 }, completed: { whole: 1, range: 1 },
      refused: { unknown_token: 1, busy: 1, range_not_satisfiable: 1, image_unavailable: 1 },
      bytesServed: 6,
    });
  });
});
