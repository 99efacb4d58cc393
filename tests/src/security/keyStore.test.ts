/**
 * The key store's behaviour, one suite run against every driver: the embedded store (SQLite)
 * and the PostgreSQL store on a throw-away cluster (skipped, with the reason printed, where
 * PostgreSQL is not installed). Each `open` is a store with its own connection, as a restart
 * or another node has.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/domain/errors.js';
import { KeyRecordError, MasterKeyMismatchError, SqliteKeyStore, type KeyChange, type KeyStore, type KeyStoreOptions } from '../../../src/security/keyStore.js';
import { MasterKey } from '../../../src/security/masterKey.js';
import { PostgresKeyStore } from '../../../src/security/postgresKeyStore.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';
import { openPostgres, type PostgresDatabase } from '../../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../../src/storage/postgres/migrations.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../../helpers/postgresStore.js';

const master = (fill?: number) => new MasterKey(fill === undefined ? randomBytes(32) : Buffer.alloc(32, fill), 'environment');
const hex = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString('hex'));
const EK = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const AK = Buffer.from('d0d1d2d3d4d5d6d7d8d9dadbdcdddedf', 'hex');

/** A fresh database of one driver. */
interface Database {
  open(key: MasterKey, options?: KeyStoreOptions): Promise<KeyStore>;
  /** Every sealed value as stored. */
  sealedValues(): Promise<Buffer[]>;
  /** Overwrites one record with a copy of another's sealed bytes, as an attacker with write access could. */
  copyRecord(from: { scope: string; name: string }, to: { scope: string; name: string }): Promise<void>;
  dispose(): Promise<void>;
}

interface Driver {
  readonly name: string;
  readonly unavailable: string | undefined;
  database(): Promise<Database>;
}

const embedded: Driver = {
  name: 'embedded (SQLite)',
  unavailable: undefined,
  database: () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridhead-keys-'));
    const path = join(dir, 'store.db');
    const open: Db[] = [];
    const connect = (): Db => {
      const db = openDatabase(path);
      open.push(db);
      return db;
    };
    const admin = connect();
    return Promise.resolve({
      open: (key, options) => new Promise<KeyStore>((resolve) => { resolve(new SqliteKeyStore(connect(), key, options)); }),
      sealedValues: () => Promise.resolve(admin.prepare('SELECT sealed FROM key_records').pluck().all() as Buffer[]),
      copyRecord: (from, to) => {
        const row = admin.prepare('SELECT nonce, sealed FROM key_records WHERE scope = ? AND name = ?').get(from.scope, from.name) as { nonce: Buffer; sealed: Buffer };
        admin.prepare('UPDATE key_records SET nonce = ?, sealed = ? WHERE scope = ? AND name = ?').run(row.nonce, row.sealed, to.scope, to.name);
        return Promise.resolve();
      },
      dispose: () => {
        for (const db of open) if (db.open) db.close();
        rmSync(dir, { recursive: true, force: true });
        return Promise.resolve();
      },
    });
  },
};

let cluster: TestPostgres | undefined;
const postgresDriver: Driver = {
  name: 'PostgreSQL',
  unavailable: postgresUnavailable(),
  database: async () => {
    cluster ??= await startPostgres();
    const url = await cluster.createDatabase();
    const pools: PostgresDatabase[] = [];
    const connect = async (): Promise<PostgresDatabase> => {
      const db = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
      pools.push(db);
      return db;
    };
    const admin = await connect();
    await migratePostgres(admin);
    return {
      open: async (key, options) => PostgresKeyStore.open(await connect(), key, options),
      sealedValues: async () => (await admin.sql<{ sealed: Buffer }[]>`SELECT sealed FROM key_records`).map((r) => r.sealed),
      copyRecord: async (from, to) => {
        await admin.sql`UPDATE key_records t SET nonce = f.nonce, sealed = f.sealed FROM key_records f
                        WHERE f.scope = ${from.scope} AND f.name = ${from.name} AND t.scope = ${to.scope} AND t.name = ${to.name}`;
      },
      dispose: async () => {
        await Promise.all(pools.map((p) => p.close()));
      },
    };
  },
};

afterAll(async () => {
  await cluster?.dispose();
});

describe.each([embedded, postgresDriver])('key store on $name', (driver) => {
  let database: Database;

  beforeAll(() => {
    if (driver.unavailable !== undefined) console.warn(`skipped: ${driver.unavailable}`);
  });
  beforeEach(async (ctx) => {
    if (driver.unavailable !== undefined) ctx.skip();
    database = await driver.database();
  }, 30_000);
  afterEach(async () => {
    await database.dispose();
  });

  it('round-trips a meter key set through a closed and reopened store', async () => {
    const mk = master(7);
    await (await database.open(mk)).set({ kind: 'meter', id: 'm1' }, { ek: EK, ak: AK, password: 'secret-pw' });
    const resolved = await (await database.open(mk)).resolve('m1');
    expect(hex(resolved?.keys?.ek)).toBe(hex(EK));
    expect(hex(resolved?.keys?.ak)).toBe(hex(AK));
    expect(resolved?.keys?.bk).toBeUndefined();
    expect(resolved?.password).toBe('secret-pw');
    expect(resolved?.scope).toBe('meter:m1');
  });

  it('stores only ciphertext: neither the key nor the password appears in the database', async () => {
    await (await database.open(master())).set({ kind: 'meter', id: 'm1' }, { ek: EK, ak: AK, password: 'secret-pw' });
    const rows = await database.sealedValues();
    expect(rows).toHaveLength(3);
    for (const r of rows) {
      expect(r.includes(EK)).toBe(false);
      expect(r.includes(AK)).toBe(false);
      expect(r.includes(Buffer.from('secret-pw'))).toBe(false);
    }
  });

  it('refuses to open a store sealed under another master key, and keeps the keys', async () => {
    const right = master(1);
    await (await database.open(right)).set({ kind: 'meter', id: 'm1' }, { ek: EK, ak: AK });
    await expect(database.open(master(2))).rejects.toThrow(MasterKeyMismatchError);
    expect(hex((await (await database.open(right)).resolve('m1'))?.keys?.ek)).toBe(hex(EK));
  });

  it('does not open a key record moved to another meter (the AAD binds scope and name)', async () => {
    const store = await database.open(master());
    await store.set({ kind: 'meter', id: 'victim' }, { ek: EK, ak: AK });
    await store.set({ kind: 'meter', id: 'attacker' }, { ek: randomBytes(16), ak: randomBytes(16) });
    await database.copyRecord({ scope: 'meter:victim', name: 'ek' }, { scope: 'meter:attacker', name: 'ek' });
    await expect(store.resolve('attacker')).rejects.toThrow(KeyRecordError);
    // Swapping slots within one meter fails the same way.
    await database.copyRecord({ scope: 'meter:victim', name: 'ak' }, { scope: 'meter:victim', name: 'ek' });
    await expect(store.resolve('victim')).rejects.toThrow(KeyRecordError);
  });

  it("uses the meter's own keys, else its key group's", async () => {
    const store = await database.open(master());
    await store.set({ kind: 'group', name: 'east' }, { ek: EK, ak: AK });
    expect((await store.resolve('m1', 'east'))?.scope).toBe('group:east');
    expect(await store.resolve('m1')).toBeUndefined();
    await store.set({ kind: 'meter', id: 'm1' }, { ek: AK, ak: EK });
    expect((await store.resolve('m1', 'east'))?.scope).toBe('meter:m1');
    expect(hex((await store.resolve('m1', 'east'))?.keys?.ek)).toBe(hex(AK));
  });

  it('starts a new generation when EK, AK or BK changes, not for the same keys or a password change', async () => {
    const changes: KeyChange[] = [];
    const store = await database.open(master(), { onChange: (c) => { changes.push(c); } });
    const scope = { kind: 'meter', id: 'm1' } as const;
    expect((await store.set(scope, { ek: EK, ak: AK })).generation).toBe(1);
    expect((await store.set(scope, { ek: EK })).generation).toBe(1);
    expect((await store.set(scope, { password: 'pw' })).generation).toBe(1);
    expect((await store.set(scope, { bk: EK })).generation).toBe(2);
    expect((await store.set(scope, { ak: EK })).generation).toBe(3);
    expect(await store.status(scope)).toMatchObject({ ekSet: true, akSet: true, bkSet: true, passwordSet: true, generation: 3 });
    expect(changes.map((c) => [c.generation, c.previous])).toEqual([[1, undefined], [2, 1], [3, 2]]);
    // Kept keys were resealed under the new generation and still open.
    expect((await store.resolve('m1'))?.password).toBe('pw');
    expect(await store.delete(scope)).toBe(true);
    expect(await store.resolve('m1')).toBeUndefined();
    expect(await store.delete(scope)).toBe(false);
  });

  it('rejects keys of the wrong length and an empty change', async () => {
    const store = await database.open(master());
    await expect(store.set({ kind: 'meter', id: 'm1' }, { ek: Buffer.alloc(15) })).rejects.toThrow(ValidationError);
    await expect(store.set({ kind: 'meter', id: 'm1' }, {})).rejects.toThrow(ValidationError);
    await expect(store.set({ kind: 'meter', id: 'm1' }, { password: 'x'.repeat(65) })).rejects.toThrow(ValidationError);
    expect(await store.status({ kind: 'meter', id: 'm1' })).toBeUndefined();
  });

  it('hands out keys that print as [secret] through JSON and inspect', async () => {
    const store = await database.open(master());
    await store.set({ kind: 'meter', id: 'm1' }, { ek: EK, ak: AK });
    const keys = (await store.resolve('m1'))?.keys;
    const line = JSON.stringify({ keys }) + inspect(keys) + String(keys?.ek);
    expect(line).not.toContain(hex(EK));
    expect(line).not.toContain('0,1,2,3');
    expect(line).toContain('[secret]');
  });

  it('applies changes from two stores to one key set one after the other, losing neither', async () => {
    const mk = master(5);
    const [a, b] = await Promise.all([database.open(mk), database.open(mk)]);
    const scope = { kind: 'meter', id: 'm1' } as const;
    await a.set(scope, { ek: EK, ak: AK });
    const results = await Promise.all([
      ...Array.from({ length: 5 }, (_, i) => a.set(scope, { ek: Buffer.alloc(16, i + 1) })),
      b.set(scope, { password: 'kept' }),
    ]);
    const final = await b.resolve('m1');
    // Every key change made a generation of its own, and the password set between them survived.
    expect(results.slice(0, 5).map((r) => r.generation).sort((x, y) => x - y)).toEqual([2, 3, 4, 5, 6]);
    expect(final?.generation).toBe(6);
    expect(final?.password).toBe('kept');
  });
});
