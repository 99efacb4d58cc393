/**
 * Push object lists learnt per meter, in the embedded store (table dlms_push_lists), with a
 * bounded in-memory cache: a restart keeps what the push receiver read from the meters
 * (protocols/dlms/push/pushLists.ts). Bounded: `maxMeters` meters, the least recently learnt
 * are dropped and counted.
 */
import type { PushListStore } from '../../protocols/dlms/push/pushLists.js';
import type { PushObject, PushObjectList } from '../../protocols/dlms/push/pushObjects.js';
import type { Db } from './db.js';

export interface SqlitePushListStoreOptions {
  /** Meters whose lists are kept (default 100,000); the least recently learnt go first. */
  readonly maxMeters?: number;
  /** Meters whose lists are held in memory too (default 10,000). */
  readonly cacheSize?: number;
  readonly now?: () => number;
}

export class SqlitePushListStore implements PushListStore {
  /** Meters whose lists were dropped for the `maxMeters` cap. */
  evicted = 0;
  private readonly cache = new Map<string, readonly PushObjectList[] | null>();
  private readonly select;
  private readonly upsert;
  private readonly count;
  private readonly evict;
  private readonly now: () => number;

  constructor(db: Db, private readonly o: SqlitePushListStoreOptions = {}) {
    this.now = o.now ?? Date.now;
    this.select = db.prepare<[string], { lists: string }>('SELECT lists FROM dlms_push_lists WHERE meter_key = ?');
    this.upsert = db.prepare(`INSERT INTO dlms_push_lists (meter_key, lists, learnt_at) VALUES (?, ?, ?)
      ON CONFLICT (meter_key) DO UPDATE SET lists = excluded.lists, learnt_at = excluded.learnt_at`);
    this.count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM dlms_push_lists');
    this.evict = db.prepare('DELETE FROM dlms_push_lists WHERE meter_key IN (SELECT meter_key FROM dlms_push_lists ORDER BY learnt_at, meter_key LIMIT ?)');
  }

  get(meterKey: string): readonly PushObjectList[] | undefined {
    const cached = this.cache.get(meterKey);
    if (cached !== undefined) return cached ?? undefined;
    const row = this.select.get(meterKey);
    const lists = row === undefined ? undefined : parseLists(row.lists);
    this.remember(meterKey, lists ?? null);
    return lists;
  }

  set(meterKey: string, lists: readonly PushObjectList[]): void {
    this.upsert.run(meterKey, JSON.stringify(lists), this.now());
    this.remember(meterKey, lists);
    const over = (this.count.get()?.n ?? 0) - (this.o.maxMeters ?? 100_000);
    if (over > 0) {
      this.evicted += this.evict.run(over).changes;
      // Which keys went is not worth a query: the cache starts over (it refills from the store).
      this.cache.clear();
    }
  }

  private remember(meterKey: string, lists: readonly PushObjectList[] | null): void {
    this.cache.delete(meterKey);
    this.cache.set(meterKey, lists);
    if (this.cache.size > (this.o.cacheSize ?? 10_000)) {
      const oldest = this.cache.keys().next();
      if (oldest.done !== true) this.cache.delete(oldest.value);
    }
  }
}

/** Lists as stored; a row that is not (written by a future version, damaged) counts as none. */
function parseLists(json: string): readonly PushObjectList[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  const lists = value as unknown[];
  return lists.every(isList) ? lists : undefined;
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
