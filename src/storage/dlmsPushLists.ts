/**
 * Push object lists learnt per meter (protocols/dlms/push/pushLists.ts), kept in the station's
 * store so a restart keeps what the push receiver read from the meters: `SqlitePushListStore`
 * here (table dlms_push_lists), `PostgresPushListStore` in postgres/dlmsPushLists.ts.
 *
 * Bounded: `maxMeters` meters (`dlms.push.lists.maxMeters`), the least recently learnt are
 * dropped and counted; `cacheSize` meters are held in memory too, "none learnt" included, since
 * the receiver asks for every push that does not describe itself.
 */
import type { PushListStore } from '../../protocols/dlms/push/pushLists.js';
import type { PushObject, PushObjectList } from '../../protocols/dlms/push/pushObjects.js';
import { settled, type Db } from './db.js';

export interface PushListStoreOptions {
  /** Meters whose lists are kept (default 100,000); the least recently learnt go first. */
  readonly maxMeters?: number;
  /** Meters whose lists are held in memory too (default 10,000). */
  readonly cacheSize?: number;
  readonly now?: () => number;
}

export const DEFAULT_PUSH_LIST_METERS = 100_000;
const DEFAULT_CACHE_SIZE = 10_000;

export class SqlitePushListStore implements PushListStore {
  /** Meters whose lists were dropped for the `maxMeters` cap. */
  evicted = 0;
  private readonly cache: PushListCache;
  private readonly select;
  private readonly upsert;
  private readonly count;
  private readonly evict;
  private readonly now: () => number;

  constructor(db: Db, private readonly o: PushListStoreOptions = {}) {
    this.now = o.now ?? Date.now;
    this.cache = new PushListCache(o.cacheSize);
    this.select = db.prepare<[string], { lists: string }>('SELECT lists FROM dlms_push_lists WHERE meter_key = ?');
    this.upsert = db.prepare(`INSERT INTO dlms_push_lists (meter_key, lists, learnt_at) VALUES (?, ?, ?)
      ON CONFLICT (meter_key) DO UPDATE SET lists = excluded.lists, learnt_at = excluded.learnt_at`);
    this.count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM dlms_push_lists');
    this.evict = db.prepare('DELETE FROM dlms_push_lists WHERE meter_key IN (SELECT meter_key FROM dlms_push_lists ORDER BY learnt_at, meter_key LIMIT ?)');
  }

  get(meterKey: string): Promise<readonly PushObjectList[] | undefined> {
    return settled(() => {
      const cached = this.cache.get(meterKey);
      if (cached !== undefined) return cached ?? undefined;
      const row = this.select.get(meterKey);
      const lists = row === undefined ? undefined : parseLists(parseJson(row.lists));
      this.cache.remember(meterKey, lists ?? null);
      return lists;
    });
  }

  set(meterKey: string, lists: readonly PushObjectList[]): Promise<void> {
    this.cache.remember(meterKey, lists);
    return settled(() => {
      this.upsert.run(meterKey, JSON.stringify(lists), this.now());
      const over = (this.count.get()?.n ?? 0) - (this.o.maxMeters ?? DEFAULT_PUSH_LIST_METERS);
      if (over > 0) {
        this.evicted += this.evict.run(over).changes;
        // Which keys went is not worth a query: the cache starts over (it refills from the store).
        this.cache.clear();
      }
    });
  }
}

/**
 * The lists of the most recently used meters, null for "none learnt"; bounded, the least
 * recently used go first.
 */
export class PushListCache {
  private readonly entries = new Map<string, readonly PushObjectList[] | null>();

  constructor(private readonly size = DEFAULT_CACHE_SIZE) {}

  /** The lists held for `meterKey`, null when it has none, undefined when it is not held. */
  get(meterKey: string): readonly PushObjectList[] | null | undefined {
    return this.entries.get(meterKey);
  }

  remember(meterKey: string, lists: readonly PushObjectList[] | null): void {
    this.entries.delete(meterKey);
    this.entries.set(meterKey, lists);
    if (this.entries.size > this.size) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}

/** Lists as stored (parsed JSON); a value that is not (written by a future version, damaged) counts as none. */
export function parseLists(value: unknown): readonly PushObjectList[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const lists = value as unknown[];
  return lists.every(isList) ? lists : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isList(v: unknown): v is PushObjectList {
  if (typeof v !== 'object' || v === null) return false;
  const l = v as { pushSetup?: unknown; objects?: unknown };
  return typeof l.pushSetup === 'string' && Array.isArray(l.objects) && (l.objects as unknown[]).every(isObject);
}

function isObject(v: unknown): v is PushObject {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.classId === 'number' && typeof o.obis === 'string' && typeof o.attribute === 'number' && typeof o.dataIndex === 'number';
}
