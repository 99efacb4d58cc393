import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ImageTransfer, type FirmwareOptions } from '../../../simulators/dlms/imageTransfer.js';

const T0 = Date.UTC(2025, 0, 6, 8, 0, 0);
const id = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** An image of `size` octets whose every octet differs from its neighbours'. */
function image(size: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 7 + seed) & 0xff);
}

function blockOf(img: Uint8Array, n: number, blockSize: number): Uint8Array {
  return img.subarray(n * blockSize, Math.min(img.length, (n + 1) * blockSize));
}

/** A transfer of `img` under `identifier`, initiated and sent except `skip`. */
function sent(img: Uint8Array, options: FirmwareOptions = {}, skip: readonly number[] = [], identifier = 'FW-2.0.0'): ImageTransfer {
  const t = new ImageTransfer({ blockSize: 16, ...options });
  const bs = t.readBlockSize();
  expect(t.initiate(id(identifier), img.length, T0)).toBe('success');
  for (let n = 0; n < Math.ceil(img.length / bs); n++) {
    if (!skip.includes(n)) expect(t.block(n, blockOf(img, n, bs), T0)).toBe('success');
  }
  return t;
}

describe('simulated image transfer (Blue Book IC 18)', () => {
  it('holds blocks and reports them as a bit-string, bit 0 the most significant bit of the first octet', () => {
    const t = new ImageTransfer({ blockSize: 16 });
    expect(t.transferredBlocks()).toEqual({ bits: 0, bytes: new Uint8Array(0) });
    expect(t.status(T0)).toBe('not-initiated');
    expect(t.holdsImage).toBe(false);
    const img = image(16 * 10 + 5); // 11 blocks, the last of 5 octets
    expect(t.initiate(id('FW-2'), img.length, T0)).toBe('success');
    expect(t.holdsImage).toBe(true);
    expect(t.status(T0)).toBe('initiated');
    for (const n of [0, 2, 9, 10]) expect(t.block(n, blockOf(img, n, 16), T0)).toBe('success');
    expect(t.transferredBlocks()).toEqual({ bits: 11, bytes: Uint8Array.of(0b1010_0000, 0b0110_0000) });
    expect(t.firstNotTransferred()).toBe(1);
    expect(t.block(1, blockOf(img, 1, 16), T0)).toBe('success');
    expect(t.firstNotTransferred()).toBe(3);
  });

  it('refuses a block of the wrong length, a number past the image, and a block before any initiate', () => {
    const fresh = new ImageTransfer({ blockSize: 16 });
    expect(fresh.block(0, new Uint8Array(16), T0)).toBe('other-reason');
    const t = sent(image(40), {}, [0, 1, 2]);
    expect(t.block(0, new Uint8Array(15), T0)).toBe('other-reason');
    expect(t.block(2, new Uint8Array(16), T0)).toBe('other-reason'); // the last block is 8 octets
    expect(t.block(3, new Uint8Array(8), T0)).toBe('other-reason');
    expect(t.firstNotTransferred()).toBe(0);
  });

  it('resumes on an initiate with the same identifier and size, and starts over on another', () => {
    const img = image(100);
    const t = sent(img, {}, [3, 5]);
    expect(t.firstNotTransferred()).toBe(3);
    expect(t.initiate(id('FW-2.0.0'), 100, T0)).toBe('success');
    expect(t.firstNotTransferred()).toBe(3);
    // Blocks 0..6 with 3 and 5 missing; the eighth bit is padding.
    expect(t.transferredBlocks()).toEqual({ bits: 7, bytes: Uint8Array.of(0b1110_1010) });
    expect(t.initiate(id('FW-2.0.0'), 101, T0)).toBe('success');
    expect(t.firstNotTransferred()).toBe(0);
    expect(t.transferredBlocks()).toEqual({ bits: 7, bytes: new Uint8Array(1) });
    for (let n = 0; n < 4; n++) t.block(n, blockOf(image(101), n, 16), T0);
    expect(t.initiate(id('FW-3.0.0'), 101, T0)).toBe('success');
    expect(t.firstNotTransferred()).toBe(0);
  });

  it('verifies over verifyMs: temporary-failure and status 2 meanwhile, then successful with the image to activate', () => {
    const img = image(50);
    const t = sent(img, { verifyMs: 1_000 });
    expect(t.imageToActivate(T0)).toBeUndefined();
    expect(t.verify(T0)).toBe('temporary-failure');
    expect(t.status(T0 + 999)).toBe('verification-initiated');
    expect(t.verify(T0 + 500)).toBe('temporary-failure');
    expect(t.imageToActivate(T0 + 999)).toBeUndefined();
    expect(t.status(T0 + 1_000)).toBe('verification-successful');
    expect(t.verify(T0 + 1_001)).toBe('success');
    const info = t.imageToActivate(T0 + 1_001);
    expect(info?.size).toBe(50);
    expect(text(info?.identification ?? new Uint8Array())).toBe('FW-2.0.0');
    expect(info?.signature).toEqual(new Uint8Array(createHash('sha256').update(img).digest()));
  });

  it('fails verification when a block is missing or the meter is set to fail, and verifies again once the gap is filled', () => {
    const img = image(50);
    const gap = sent(img, { verifyMs: 100 }, [1]);
    expect(gap.verify(T0)).toBe('temporary-failure');
    expect(gap.status(T0 + 100)).toBe('verification-failed');
    expect(gap.imageToActivate(T0 + 100)).toBeUndefined();
    expect(gap.block(1, blockOf(img, 1, 16), T0 + 200)).toBe('success');
    expect(gap.status(T0 + 200)).toBe('initiated');
    expect(gap.verify(T0 + 200)).toBe('temporary-failure');
    expect(gap.status(T0 + 300)).toBe('verification-successful');

    const failing = sent(img, { verifyMs: 100, failVerification: true });
    expect(failing.verify(T0)).toBe('temporary-failure');
    expect(failing.status(T0 + 100)).toBe('verification-failed');
    expect(failing.activate(T0 + 100)).toBe('other-reason');
  });

  it('answers a verification that completes at once (verifyMs 0) directly', () => {
    expect(sent(image(20), { verifyMs: 0 }).verify(T0)).toBe('success');
    expect(sent(image(20), { verifyMs: 0 }, [0]).verify(T0)).toBe('other-reason');
  });

  it('activates a verified image over activateMs: the active identifier and signature become the image’s and the buffer is freed', () => {
    const img = image(70);
    const t = sent(img, { verifyMs: 0, activateMs: 400, version: 'FW-1.0.0' });
    expect(text(t.active.identifier)).toBe('FW-1.0.0');
    const before = t.active.signature;
    expect(t.activate(T0)).toBe('other-reason'); // not verified yet
    expect(t.verify(T0)).toBe('success');
    expect(t.activate(T0)).toBe('temporary-failure');
    expect(t.status(T0 + 399)).toBe('activation-initiated');
    expect(t.activate(T0 + 100)).toBe('temporary-failure');
    expect(text(t.active.identifier)).toBe('FW-1.0.0');
    expect(t.status(T0 + 400)).toBe('activation-successful');
    expect(text(t.active.identifier)).toBe('FW-2.0.0');
    expect(t.active.signature).toEqual(new Uint8Array(createHash('sha256').update(img).digest()));
    expect(t.active.signature).not.toEqual(before);
    expect(t.holdsImage).toBe(false);
    // The image is gone: the same identifier again is a new transfer.
    expect(t.block(0, blockOf(img, 0, 16), T0 + 500)).toBe('other-reason');
    expect(t.initiate(id('FW-2.0.0'), 70, T0 + 500)).toBe('success');
    expect(t.firstNotTransferred()).toBe(0);
    expect(t.holdsImage).toBe(true);
  });

  it('refuses the configured identifiers, an image larger than maxImageBytes, an empty one, and any initiate while disabled', () => {
    const t = new ImageTransfer({ refuseIdentifiers: ['BAD-FW'], maxImageBytes: 4096 });
    expect(t.initiate(id('BAD-FW'), 100, T0)).toBe('other-reason');
    expect(t.initiate(id('FW-2'), 4097, T0)).toBe('other-reason');
    expect(t.initiate(id('FW-2'), 0, T0)).toBe('other-reason');
    expect(t.status(T0)).toBe('not-initiated');
    expect(t.holdsImage).toBe(false);
    expect(t.initiate(id('FW-2'), 4096, T0)).toBe('success');
    t.transferEnabled = false;
    expect(t.initiate(id('FW-2'), 4096, T0)).toBe('other-reason');
    expect(t.block(0, new Uint8Array(192), T0)).toBe('other-reason');
  });

  it('reports the block sizes of `blockSizes` on successive reads and starts over when a resume meets another block size', () => {
    const t = new ImageTransfer({ blockSizes: [32, 32, 64] });
    expect(t.readBlockSize()).toBe(32);
    expect(t.initiate(id('FW-2'), 100, T0)).toBe('success');
    expect(t.transferredBlocks().bits).toBe(4);
    expect(t.block(0, new Uint8Array(32), T0)).toBe('success');
    expect(t.readBlockSize()).toBe(32);
    expect(t.initiate(id('FW-2'), 100, T0)).toBe('success');
    expect(t.firstNotTransferred()).toBe(1);
    expect(t.readBlockSize()).toBe(64);
    expect(t.readBlockSize()).toBe(64);
    expect(t.initiate(id('FW-2'), 100, T0)).toBe('success');
    expect(t.transferredBlocks().bits).toBe(2);
    expect(t.firstNotTransferred()).toBe(0);
  });

  it('answers temporary-failure to an initiate or a block while a verification runs', () => {
    const t = sent(image(40), { verifyMs: 100 });
    t.verify(T0);
    expect(t.initiate(id('FW-9'), 40, T0 + 50)).toBe('temporary-failure');
    expect(t.block(0, new Uint8Array(16), T0 + 50)).toBe('temporary-failure');
    expect(t.status(T0 + 100)).toBe('verification-successful');
  });

  it('fails a scheduled activation of an image not verified, and runs one of a verified image', () => {
    const unverified = sent(image(40));
    unverified.activateScheduled(T0);
    expect(unverified.status(T0)).toBe('activation-failed');
    const verified = sent(image(40), { verifyMs: 0, activateMs: 300 });
    verified.verify(T0);
    verified.activateScheduled(T0 + 1_000);
    expect(verified.status(T0 + 1_299)).toBe('activation-initiated');
    expect(verified.status(T0 + 1_300)).toBe('activation-successful');
    expect(text(verified.active.identifier)).toBe('FW-2.0.0');
  });
});
