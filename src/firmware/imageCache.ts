/**
 * Firmware images read once from the store and shared: the campaign runner sends their blocks
 * over sessions, the OTA download route serves them to terminals, and without a cache each
 * download and each device would read the whole image again. Images are immutable once
 * uploaded (no update, no delete), so a cached image never goes stale. The few most recently
 * used are kept, a bound on memory whatever the campaigns' images weigh; a failed read is
 * forgotten so the next caller tries again.
 */
import type { FirmwareImage } from '../../protocols/adapter.js';
import type { FirmwareImageRecord } from './model.js';
import type { FirmwareStore } from './store.js';

/** An image's record and its bytes as a session transfers them. */
export interface LoadedImage {
  readonly record: FirmwareImageRecord;
  readonly firmware: FirmwareImage;
}

/** Images kept by default: the running campaigns seldom use more than one or two at once. */
export const DEFAULT_CACHED_IMAGES = 4;

export class FirmwareImageCache {
  /** Insertion order is recency: a hit is moved to the end, the first is the one evicted. */
  readonly #loaded = new Map<string, Promise<LoadedImage>>();

  constructor(
    private readonly store: Pick<FirmwareStore, 'image' | 'imageBytes'>,
    private readonly max = DEFAULT_CACHED_IMAGES,
  ) {}

  load(id: string): Promise<LoadedImage> {
    const hit = this.#loaded.get(id);
    if (hit !== undefined) {
      this.#loaded.delete(id);
      this.#loaded.set(id, hit);
      return hit;
    }
    const loaded = Promise.all([this.store.image(id), this.store.imageBytes(id)]).then(([record, bytes]) => {
      if (record === undefined || bytes === undefined) throw new Error(`firmware image ${id} is missing from the store`);
      const signature = record.signature === null ? undefined : Buffer.from(record.signature, 'hex');
      return { record, firmware: { identifier: Buffer.from(record.identifier, 'utf8'), bytes, ...(signature === undefined ? {} : { signature }) } };
    });
    loaded.catch(() => { if (this.#loaded.get(id) === loaded) this.#loaded.delete(id); });
    this.#loaded.set(id, loaded);
    for (const oldest of this.#loaded.keys()) {
      if (this.#loaded.size <= this.max) break;
      this.#loaded.delete(oldest);
    }
    return loaded;
  }

  get size(): number {
    return this.#loaded.size;
  }
}
