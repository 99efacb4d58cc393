import { describe, expect, it } from 'vitest';
import { FirmwareImageCache } from '../../../src/firmware/imageCache.js';
import type { FirmwareImageRecord } from '../../../src/firmware/model.js';

function record(id: string, signature: string | null = null): FirmwareImageRecord {
  return { id, name: id, identifier: `ID-${id}`, version: `v-${id}`, size: 3, sha256: '00', signature, uploadedAt: 0, uploadedBy: 'test' };
}

/** A store that counts its reads of bytes; `missing` ids have no row. */
function countingStore(missing = new Set<string>()) {
  const reads = new Map<string, number>();
  return {
    reads,
    image: (id: string) => Promise.resolve(missing.has(id) ? undefined : record(id, id === 'signed' ? 'a1b2' : null)),
    imageBytes: (id: string) => {
      reads.set(id, (reads.get(id) ?? 0) + 1);
      return Promise.resolve(missing.has(id) ? undefined : new Uint8Array([1, 2, 3]));
    },
  };
}

describe('firmware image cache', () => {
  it('reads an image once for every caller, with its identifier and signature as a session sends them', async () => {
    const store = countingStore();
    const cache = new FirmwareImageCache(store);
    const [a, b] = await Promise.all([cache.load('signed'), cache.load('signed')]);
    expect(a).toBe(b);
    expect(await cache.load('signed')).toBe(a);
    expect(store.reads.get('signed')).toBe(1);
    expect(Buffer.from(a.firmware.identifier).toString()).toBe('ID-signed');
    expect(a.firmware.signature === undefined ? undefined : Buffer.from(a.firmware.signature).toString('hex')).toBe('a1b2');
    expect((await cache.load('plain')).firmware.signature).toBeUndefined();
  });

  it('keeps the most recently used images up to its bound and reads an evicted one again', async () => {
    const store = countingStore();
    const cache = new FirmwareImageCache(store, 2);
    await cache.load('a');
    await cache.load('b');
    await cache.load('a');
    await cache.load('c');
    expect(cache.size).toBe(2);
    await cache.load('a');
    await cache.load('b');
    expect([store.reads.get('a'), store.reads.get('b'), store.reads.get('c')]).toEqual([1, 2, 1]);
  });

  it('fails for an image the store lacks and reads it again at the next call', async () => {
    const missing = new Set(['x']);
    const store = countingStore(missing);
    const cache = new FirmwareImageCache(store);
    await expect(cache.load('x')).rejects.toThrow('firmware image x is missing from the store');
    expect(cache.size).toBe(0);
    missing.delete('x');
    expect((await cache.load('x')).record.id).toBe('x');
    expect(store.reads.get('x')).toBe(2);
  });
});
