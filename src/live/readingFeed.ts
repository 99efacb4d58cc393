/**
 * Readings of chosen meters as they arrive, for the live stream's `event: meter`. A sink of
 * the ingest pipeline: with no subscriber it costs one size check per batch.
 */
import type { MeterId, Reading } from '../domain/index.js';
import type { ReadingSink } from '../ingest/pipeline.js';

export type MeterReadingListener = (readings: readonly Reading[]) => void;

export class MeterReadingFeed implements ReadingSink {
  readonly name = 'live-feed';
  readonly #byMeter = new Map<MeterId, Set<MeterReadingListener>>();
  #listenerErrors = 0;

  constructor(private readonly onListenerError: (err: unknown) => void = () => undefined) {}

  get listenerErrors(): number {
    return this.#listenerErrors;
  }

  subscribe(meterId: MeterId, listener: MeterReadingListener): () => void {
    let set = this.#byMeter.get(meterId);
    if (set === undefined) {
      set = new Set();
      this.#byMeter.set(meterId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#byMeter.delete(meterId);
    };
  }

  write(batch: readonly Reading[]): void {
    if (this.#byMeter.size === 0) return;
    const hits = new Map<MeterId, Reading[]>();
    for (const r of batch) {
      if (!this.#byMeter.has(r.meterId)) continue;
      const list = hits.get(r.meterId);
      if (list === undefined) hits.set(r.meterId, [r]);
      else list.push(r);
    }
    for (const [id, readings] of hits) {
      for (const listener of this.#byMeter.get(id) ?? []) {
        // A failing stream must never fail the pipeline's sink (which would retry the batch).
        try {
          listener(readings);
        } catch (err) {
          this.#listenerErrors++;
          this.onListenerError(err);
        }
      }
    }
  }
}
