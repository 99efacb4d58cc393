/**
 * Push object lists learnt per meter in PostgreSQL, shared by every node: the embedded store's
 * semantics (../dlmsPushLists.ts) on table dlms_push_lists, lists as jsonb.
 *
 * Each node keeps its own bounded cache, "none learnt" included: a meter whose lists another
 * node learnt after this one cached "none" is read again by this node at its next push that no
 * list fits (the learner bounds how often), which costs one read, never a push.
 */
import type { PushListStore } from '../../../protocols/dlms/push/pushLists.js';
import type { PushObjectList } from '../../../protocols/dlms/push/pushObjects.js';
import { DEFAULT_PUSH_LIST_METERS, PushListCache, parseLists, type PushListStoreOptions } from '../dlmsPushLists.js';
import type { PostgresDatabase } from './connection.js';

export class PostgresPushListStore implements PushListStore {
  /** Meters whose lists this node dropped for the `maxMeters` cap. */
  evicted = 0;
  private readonly cache: PushListCache;
  private readonly now: () => number;

  constructor(private readonly db: PostgresDatabase, private readonly o: PushListStoreOptions = {}) {
    this.now = o.now ?? Date.now;
    this.cache = new PushListCache(o.cacheSize);
  }

  async get(meterKey: string): Promise<readonly PushObjectList[] | undefined> {
    const cached = this.cache.get(meterKey);
    if (cached !== undefined) return cached ?? undefined;
    const [row] = await this.db.run((sql) => sql<{ lists: unknown }[]>`SELECT lists FROM dlms_push_lists WHERE meter_key = ${meterKey}`);
    const lists = row === undefined ? undefined : parseLists(row.lists);
    this.cache.remember(meterKey, lists ?? null);
    return lists;
  }

  async set(meterKey: string, lists: readonly PushObjectList[]): Promise<void> {
    this.cache.remember(meterKey, lists);
    const maxMeters = this.o.maxMeters ?? DEFAULT_PUSH_LIST_METERS;
    const evicted = await this.db.run((sql) => sql.begin(async (tx) => {
      await tx`INSERT INTO dlms_push_lists (meter_key, lists, learnt_at) VALUES (${meterKey}, ${tx.json(lists)}, ${this.now()})
        ON CONFLICT (meter_key) DO UPDATE SET lists = excluded.lists, learnt_at = excluded.learnt_at`;
      // Everything past the newest maxMeters, in the embedded store's order (learnt_at, then key).
      const gone = await tx`DELETE FROM dlms_push_lists WHERE meter_key IN (
        SELECT meter_key FROM dlms_push_lists ORDER BY learnt_at DESC, meter_key DESC OFFSET ${maxMeters})`;
      return gone.count;
    }));
    if (evicted > 0) {
      this.evicted += evicted;
      this.cache.clear();
    }
  }
}
