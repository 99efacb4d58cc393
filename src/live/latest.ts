/**
 * In-memory latest value of every meter's quantities, fed by the pipeline as a sink. Newer
 * device timestamps win; a late-arriving older reading never overwrites a newer one.
 */
import type { LatestValue, MeterId, Quantity, Reading } from '../domain/index.js';
import type { ReadingSink } from '../ingest/pipeline.js';

export class LatestValues implements ReadingSink {
  readonly name = 'live';
  private readonly byMeter = new Map<MeterId, Map<Quantity, LatestValue>>();
  /** Station time each meter was last heard from (any reading), as the rule engine counts it. */
  private readonly heard = new Map<MeterId, number>();
  private readonly writeListeners = new Set<(batch: readonly Reading[]) => void>();

  /** `now`: the station clock stamping when a reading arrived (the rule engine's clock). */
  constructor(private readonly now: () => number = Date.now) {}

  write(batch: readonly Reading[]): void {
    const at = this.now();
    for (const r of batch) {
      this.heard.set(r.meterId, at);
      let m = this.byMeter.get(r.meterId);
      if (m === undefined) {
        m = new Map();
        this.byMeter.set(r.meterId, m);
      }
      const prev = m.get(r.quantity);
      if (prev !== undefined && prev.ts > r.ts) continue;
      m.set(r.quantity, { quantity: r.quantity, value: r.value, unit: r.unit, ts: r.ts, quality: r.quality });
    }
    for (const l of this.writeListeners) l(batch);
  }

  /**
   * Hears every batch once it is applied, to keep figures derived from the latest values (the
   * overview's area figures) in step at the cost of the batch. A listener must not throw: the
   * pipeline would retry the batch.
   */
  onWrite(listener: (batch: readonly Reading[]) => void): () => void {
    this.writeListeners.add(listener);
    return () => this.writeListeners.delete(listener);
  }

  of(meterId: MeterId): LatestValue[] {
    const m = this.byMeter.get(meterId);
    return m === undefined ? [] : [...m.values()];
  }

  value(meterId: MeterId, q: Quantity): LatestValue | undefined {
    return this.byMeter.get(meterId)?.get(q);
  }

  /** Station time of the last reading received from the meter; undefined before the first. */
  lastHeard(meterId: MeterId): number | undefined {
    return this.heard.get(meterId);
  }

  forget(meterId: MeterId): void {
    this.byMeter.delete(meterId);
    this.heard.delete(meterId);
  }
}

/**
 * A meter's live values completed by its stored ones: after a restart the live table starts
 * empty, and quantities read rarely (energy registers, every few minutes) would be missing
 * until their next read. The newer value of each quantity wins.
 */
export function withStored(live: readonly LatestValue[], stored: readonly LatestValue[]): LatestValue[] {
  const out = new Map<Quantity, LatestValue>();
  for (const v of stored) out.set(v.quantity, v);
  for (const v of live) {
    const s = out.get(v.quantity);
    if (s === undefined || v.ts >= s.ts) out.set(v.quantity, v);
  }
  return [...out.values()];
}
