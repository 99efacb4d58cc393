/**
 * DLMS keys in PostgreSQL, shared by every node of a station: the embedded key store's
 * records (keyStore.ts), sealed the same way under the same master key with the same AAD,
 * so a record means the same on either driver.
 *
 * A change reads the key set, seals the next one and writes it in one transaction that first
 * takes an advisory lock on the scope: two nodes changing one meter's keys at once apply one
 * change after the other, and neither loses the other's (a password set beside a key change),
 * nor do both start the same generation. `onChange` (the counters' discard) is awaited after
 * the commit, before the change resolves.
 */
import type { MasterKey } from './masterKey.js';
import type { PostgresDatabase, Queryable } from '../storage/postgres/connection.js';
import { ADVISORY_LOCK_SPACE } from '../storage/postgres/connection.js';
import { seal, type Sealed } from './sealing.js';
import {
  CHECK_AAD, CHECK_TEXT, checkSealedCheck, nextKeySet, openRecords, recordAad, resolutionOrder, resolvedOf, scopeId, statusOf, validate,
  type KeyChange, type KeyInput, type KeyName, type KeyScope, type KeySetStatus, type KeyStore, type KeyStoreOptions, type ResolvedKeys,
} from './keyStore.js';

type RecordRow = { readonly name: KeyName } & Sealed;

export class PostgresKeyStore implements KeyStore {
  private readonly now: () => number;

  private constructor(private readonly db: PostgresDatabase, private readonly master: MasterKey, private readonly options: KeyStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Rejects with MasterKeyMismatchError when the database's keys were sealed under another master key. */
  static async open(db: PostgresDatabase, master: MasterKey, options: KeyStoreOptions = {}): Promise<PostgresKeyStore> {
    const s = seal(master, Buffer.from(CHECK_TEXT, 'utf8'), CHECK_AAD);
    // The first node to start writes the check; every node, that one included, verifies it.
    const rows = await db.run(async (sql) => {
      await sql`INSERT INTO key_store_check (id, nonce, sealed) VALUES (1, ${Buffer.from(s.nonce)}, ${Buffer.from(s.sealed)}) ON CONFLICT (id) DO NOTHING`;
      return sql<Sealed[]>`SELECT nonce, sealed FROM key_store_check WHERE id = 1`;
    });
    const row = rows[0];
    if (row === undefined) throw new Error('key_store_check holds no row after its insert');
    checkSealedCheck(master, row);
    return new PostgresKeyStore(db, master, options);
  }

  async set(scope: KeyScope, input: KeyInput): Promise<KeySetStatus> {
    validate(input);
    const id = scopeId(scope);
    const { status, change } = await this.db.run((sql) => sql.begin(async (tx) => {
      // Keyed by the scope's hash: two scopes that collide only wait for each other, never mix.
      await tx`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_SPACE}::int4, hashtext(${id}))`;
      const row = (await tx<{ generation: number }[]>`SELECT generation FROM key_sets WHERE scope = ${id}`)[0];
      const current = row === undefined ? undefined : openRecords(this.master, id, row.generation, await records(tx, id));
      const first = row === undefined ? await this.firstGeneration(tx, id) : 0;
      const { next, generation } = nextKeySet(current, row?.generation, first, input);
      const updatedAt = this.now();
      await tx`INSERT INTO key_sets (scope, generation, updated_at) VALUES (${id}, ${generation}, ${updatedAt})
               ON CONFLICT (scope) DO UPDATE SET generation = excluded.generation, updated_at = excluded.updated_at`;
      // Every record is sealed afresh: the generation is part of its AAD.
      const sealed = [...next].map(([name, plain]) => {
        const s = seal(this.master, plain, recordAad(id, name, generation));
        return { scope: id, name, nonce: Buffer.from(s.nonce), sealed: Buffer.from(s.sealed) };
      });
      await tx`INSERT INTO key_records ${tx(sealed, 'scope', 'name', 'nonce', 'sealed')}
               ON CONFLICT (scope, name) DO UPDATE SET nonce = excluded.nonce, sealed = excluded.sealed`;
      const changed: KeyChange | undefined = generation === row?.generation ? undefined : { scope: id, generation, previous: row?.generation };
      return { status: statusOf(next, generation, updatedAt), change: changed };
    }));
    if (change !== undefined) await this.options.onChange?.(change);
    return status;
  }

  async status(scope: KeyScope): Promise<KeySetStatus | undefined> {
    const id = scopeId(scope);
    const rows = await this.db.run((sql) => sql<{ generation: number; updated_at: number; name: KeyName | null }[]>`
      SELECT s.generation, s.updated_at, r.name FROM key_sets s LEFT JOIN key_records r ON r.scope = s.scope WHERE s.scope = ${id}`);
    const first = rows[0];
    if (first === undefined) return undefined;
    const names = new Set(rows.map((r) => r.name));
    return {
      ekSet: names.has('ek'), akSet: names.has('ak'), bkSet: names.has('bk'), passwordSet: names.has('password'),
      generation: first.generation, updatedAt: first.updated_at,
    };
  }

  async delete(scope: KeyScope): Promise<boolean> {
    const id = scopeId(scope);
    const rows = await this.db.run((sql) => sql<{ generation: number }[]>`DELETE FROM key_sets WHERE scope = ${id} RETURNING generation`);
    const row = rows[0];
    if (row === undefined) return false;
    await this.options.onChange?.({ scope: id, generation: undefined, previous: row.generation });
    return true;
  }

  /** One round trip: the meter's set and its group's together, the meter's preferred. */
  async resolve(meterId: string, keyGroup?: string): Promise<ResolvedKeys | undefined> {
    const order = resolutionOrder(meterId, keyGroup);
    const rows = await this.db.run((sql) => sql<({ scope: string; generation: number; name: KeyName | null; nonce: Buffer | null; sealed: Buffer | null })[]>`
      SELECT s.scope, s.generation, r.name, r.nonce, r.sealed
      FROM key_sets s LEFT JOIN key_records r ON r.scope = s.scope
      WHERE s.scope = ANY(${order}::text[])`);
    const id = order.find((o) => rows.some((r) => r.scope === o));
    if (id === undefined) return undefined;
    const mine = rows.filter((r) => r.scope === id);
    const generation = mine[0]?.generation ?? 0;
    const held = mine.flatMap((r) => (r.name === null || r.nonce === null || r.sealed === null ? [] : [{ name: r.name, nonce: r.nonce, sealed: r.sealed }]));
    return resolvedOf(id, generation, openRecords(this.master, id, generation, held));
  }

  /** After a delete, a new set continues above every generation that has counters, so none is reused. */
  private async firstGeneration(tx: Queryable, id: string): Promise<number> {
    const used = (await tx<{ g: number | null }[]>`SELECT max(generation) AS g FROM dlms_outgoing_counters WHERE scope = ${id}`)[0]?.g;
    return (used ?? 0) + 1;
  }
}

function records(tx: Queryable, id: string): Promise<RecordRow[]> {
  return tx<RecordRow[]>`SELECT name, nonce, sealed FROM key_records WHERE scope = ${id}`;
}
