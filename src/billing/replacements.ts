/**
 * Meter replacements recorded through the API (table `meter_replacements`), beside those in
 * the configuration. Few rows by nature, so they are held in memory, keyed by meter, and
 * the export looks them up without touching the store.
 */
import { ConflictError } from '../domain/errors.js';
import type { Db } from '../storage/db.js';
import type { MeterReplacement } from './vee.js';

/** Recorded replacements kept at most; a station exchanging more meters than this archives old ones. */
export const MAX_REPLACEMENTS = 100_000;

export class ReplacementLimitReached extends ConflictError {
  constructor() {
    super(`at most ${MAX_REPLACEMENTS} meter replacements are recorded`);
  }
}

export class ReplacementStore {
  private readonly byMeter = new Map<string, MeterReplacement[]>();
  private count = 0;
  private readonly upsert;

  constructor(db: Db, private readonly now: () => number = Date.now) {
    this.upsert = db.prepare(`INSERT INTO meter_replacements (meter_id, at, old_final, new_initial, created_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (meter_id, at) DO UPDATE SET old_final = excluded.old_final, new_initial = excluded.new_initial`);
    const rows = db.prepare<[], { meter_id: string; at: number; old_final: number; new_initial: number }>(
      'SELECT meter_id, at, old_final, new_initial FROM meter_replacements ORDER BY meter_id, at',
    ).all();
    for (const r of rows) this.remember({ meterId: r.meter_id, at: r.at, oldFinal: r.old_final, newInitial: r.new_initial });
  }

  /** Records (or corrects, same meter and time) a replacement. */
  add(r: MeterReplacement): void {
    const known = this.byMeter.get(r.meterId)?.some((x) => x.at === r.at) === true;
    if (!known && this.count >= MAX_REPLACEMENTS) throw new ReplacementLimitReached();
    this.upsert.run(r.meterId, r.at, r.oldFinal, r.newInitial, this.now());
    this.remember(r);
  }

  /** A meter's replacements, oldest first. */
  of(meterId: string): readonly MeterReplacement[] {
    return this.byMeter.get(meterId) ?? [];
  }

  private remember(r: MeterReplacement): void {
    const list = (this.byMeter.get(r.meterId) ?? []).filter((x) => x.at !== r.at);
    if (list.length === (this.byMeter.get(r.meterId)?.length ?? 0)) this.count++;
    list.push(r);
    list.sort((a, b) => a.at - b.at);
    this.byMeter.set(r.meterId, list);
  }
}
