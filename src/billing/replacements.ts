/**
 * Meter replacements recorded through the API (table `meter_replacements`), beside those in
 * the configuration. Few rows by nature, so each node holds them all in memory, keyed by
 * meter, and the export looks them up without touching the store. The embedded store is
 * here; the PostgreSQL one, which also hears what other nodes record, in
 * src/billing/postgresReplacements.ts.
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

/**
 * How the station reads a register's deltas (vee.ts deltaBetween), for every part that counts
 * energy from them: billing, and the energy programs of load control. The one merge of the
 * replacements in the configuration with those recorded through the API.
 */
export interface RegisterRules {
  /** The register wraps to 0 at this value; absent: never wraps. */
  readonly rolloverAt?: number;
  /** A meter's replacements, configured and recorded, oldest first. */
  replacementsOf(meterId: string): readonly MeterReplacement[];
}

export function registerRules(rolloverAt: number | undefined, configured: readonly MeterReplacement[], recorded?: Pick<ReplacementStore, 'of'>): RegisterRules {
  const byMeter = new Map<string, MeterReplacement[]>();
  for (const r of configured) {
    const list = byMeter.get(r.meterId) ?? [];
    list.push(r);
    list.sort((a, b) => a.at - b.at);
    byMeter.set(r.meterId, list);
  }
  return {
    ...(rolloverAt === undefined ? {} : { rolloverAt }),
    replacementsOf: (meterId) => {
      const fromConfig = byMeter.get(meterId) ?? [];
      const fromApi = recorded?.of(meterId) ?? [];
      if (fromApi.length === 0) return fromConfig;
      if (fromConfig.length === 0) return fromApi;
      return [...fromConfig, ...fromApi].sort((a, b) => a.at - b.at);
    },
  };
}

export interface ReplacementStore {
  /** Records (or corrects, same meter and time) a replacement; resolves once it is stored. */
  add(r: MeterReplacement): Promise<void>;
  /** A meter's replacements, oldest first, from memory. */
  of(meterId: string): readonly MeterReplacement[];
}

/** The replacements a node holds, by meter, oldest first; one per meter and time. */
export class ReplacementIndex {
  private readonly byMeter = new Map<string, MeterReplacement[]>();
  private count = 0;

  /** Throws `ReplacementLimitReached` when `r` would be one more than `MAX_REPLACEMENTS`. */
  checkRoomFor(r: MeterReplacement): void {
    const known = this.byMeter.get(r.meterId)?.some((x) => x.at === r.at) === true;
    if (!known && this.count >= MAX_REPLACEMENTS) throw new ReplacementLimitReached();
  }

  of(meterId: string): readonly MeterReplacement[] {
    return this.byMeter.get(meterId) ?? [];
  }

  /** Fills an empty index from rows sorted by meter and time, in one pass (a fleet's worth must not cost a sort per row). */
  static of(sorted: readonly MeterReplacement[]): ReplacementIndex {
    const index = new ReplacementIndex();
    for (const r of sorted) {
      const list = index.byMeter.get(r.meterId);
      if (list === undefined) index.byMeter.set(r.meterId, [r]);
      else list.push(r);
    }
    index.count = sorted.length;
    return index;
  }

  remember(r: MeterReplacement): void {
    const list = (this.byMeter.get(r.meterId) ?? []).filter((x) => x.at !== r.at);
    if (list.length === (this.byMeter.get(r.meterId)?.length ?? 0)) this.count++;
    list.push(r);
    list.sort((a, b) => a.at - b.at);
    this.byMeter.set(r.meterId, list);
  }
}

export interface ReplacementRow {
  meter_id: string;
  at: number;
  old_final: number;
  new_initial: number;
}

export function replacementOf(r: ReplacementRow): MeterReplacement {
  return { meterId: r.meter_id, at: r.at, oldFinal: r.old_final, newInitial: r.new_initial };
}

export class SqliteReplacementStore implements ReplacementStore {
  private readonly index: ReplacementIndex;
  private readonly upsert;

  constructor(db: Db, private readonly now: () => number = Date.now) {
    this.upsert = db.prepare(`INSERT INTO meter_replacements (meter_id, at, old_final, new_initial, created_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (meter_id, at) DO UPDATE SET old_final = excluded.old_final, new_initial = excluded.new_initial`);
    const rows = db.prepare<[], ReplacementRow>('SELECT meter_id, at, old_final, new_initial FROM meter_replacements ORDER BY meter_id, at').all();
    this.index = ReplacementIndex.of(rows.map(replacementOf));
  }

  // better-sqlite3 answers at once; a throw becomes a rejection, as a network driver reports it.
  add(r: MeterReplacement): Promise<void> {
    return new Promise((resolve) => {
      this.index.checkRoomFor(r);
      this.upsert.run(r.meterId, r.at, r.oldFinal, r.newInitial, this.now());
      this.index.remember(r);
      resolve();
    });
  }

  of(meterId: string): readonly MeterReplacement[] {
    return this.index.of(meterId);
  }
}
