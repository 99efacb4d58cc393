import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/domain/errors.js';
import { KeyRecordError, KeyStore, MasterKeyMismatchError, type KeyChange } from '../../../src/security/keyStore.js';
import { MasterKey } from '../../../src/security/masterKey.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';

const master = (fill?: number) => new MasterKey(fill === undefined ? randomBytes(32) : Buffer.alloc(32, fill), 'environment');
const hex = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString('hex'));
const EK = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const AK = Buffer.from('d0d1d2d3d4d5d6d7d8d9dadbdcdddedf', 'hex');

const open: Db[] = [];
const dirs: string[] = [];
function fileDb(): { path: string; db: Db } {
  const dir = mkdtempSync(join(tmpdir(), 'gridhead-keys-'));
  dirs.push(dir);
  const path = join(dir, 'store.db');
  const db = openDatabase(path);
  open.push(db);
  return { path, db };
}
function reopen(path: string): Db {
  const db = openDatabase(path);
  open.push(db);
  return db;
}
afterEach(() => {
  for (const db of open.splice(0)) if (db.open) db.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('key store', () => {
  it('round-trips a meter key set through a closed and reopened store', () => {
    const mk = master(7);
    const { path, db } = fileDb();
    new KeyStore(db, mk).set({ kind: 'meter', id: 'm1' }, { ek: EK, ak: AK, password: 'secret-pw' });
    db.close();
    const resolved = new KeyStore(reopen(path), mk).resolve('m1');
    expect(hex(resolved?.keys?.ek)).toBe(hex(EK));
    expect(hex(resolved?.keys?.ak)).toBe(hex(AK));
    expect(resolved?.keys?.bk).toBeUndefined();
    expect(resolved?.password).toBe('secret-pw');
    expect(resolved?.scope).toBe('meter:m1');
  });

  it('stores only ciphertext: neither the key nor the password appears in the database file', () => {
    const { db } = fileDb();
    new KeyStore(db, master()).set({ kind: 'meter', id: 'm1' }, { ek: EK, ak: AK, password: 'secret-pw' });
    const rows = db.prepare('SELECT sealed FROM key_records').pluck().all() as Buffer[];
    for (const r of rows) {
      expect(r.includes(EK)).toBe(false);
      expect(r.includes(AK)).toBe(false);
      expect(r.includes(Buffer.from('secret-pw'))).toBe(false);
    }
  });

  it('refuses to open a store sealed under another master key, and keeps the keys', () => {
    const { path, db } = fileDb();
    const right = master(1);
    new KeyStore(db, right).set({ kind: 'meter', id: 'm1' }, { ek: EK, ak: AK });
    db.close();
    const again = reopen(path);
    expect(() => new KeyStore(again, master(2))).toThrow(MasterKeyMismatchError);
    expect(hex(new KeyStore(again, right).resolve('m1')?.keys?.ek)).toBe(hex(EK));
  });

  it('does not open a key record moved to another meter (the AAD binds scope and name)', () => {
    const { db } = fileDb();
    const store = new KeyStore(db, master());
    store.set({ kind: 'meter', id: 'victim' }, { ek: EK, ak: AK });
    store.set({ kind: 'meter', id: 'attacker' }, { ek: randomBytes(16), ak: randomBytes(16) });
    db.prepare(`UPDATE key_records SET nonce = (SELECT nonce FROM key_records WHERE scope = 'meter:victim' AND name = 'ek'),
      sealed = (SELECT sealed FROM key_records WHERE scope = 'meter:victim' AND name = 'ek') WHERE scope = 'meter:attacker' AND name = 'ek'`).run();
    expect(() => store.resolve('attacker')).toThrow(KeyRecordError);
    // Swapping slots within one meter fails the same way.
    const row = (name: string) => db.prepare(`SELECT nonce, sealed FROM key_records WHERE scope = 'meter:victim' AND name = ?`).get(name) as { nonce: Buffer; sealed: Buffer };
    const [ek, ak] = [row('ek'), row('ak')];
    const put = db.prepare(`UPDATE key_records SET nonce = ?, sealed = ? WHERE scope = 'meter:victim' AND name = ?`);
    put.run(ak.nonce, ak.sealed, 'ek');
    put.run(ek.nonce, ek.sealed, 'ak');
    expect(() => store.resolve('victim')).toThrow(KeyRecordError);
  });

  it("uses the meter's own keys, else its key group's", () => {
    const { db } = fileDb();
    const store = new KeyStore(db, master());
    store.set({ kind: 'group', name: 'east' }, { ek: EK, ak: AK });
    expect(store.resolve('m1', 'east')?.scope).toBe('group:east');
    expect(store.resolve('m1')).toBeUndefined();
    store.set({ kind: 'meter', id: 'm1' }, { ek: AK, ak: EK });
    expect(store.resolve('m1', 'east')?.scope).toBe('meter:m1');
    expect(hex(store.resolve('m1', 'east')?.keys?.ek)).toBe(hex(AK));
  });

  it('starts a new generation when EK, AK or BK changes, not for the same keys or a password change', () => {
    const { db } = fileDb();
    const changes: KeyChange[] = [];
    const store = new KeyStore(db, master(), { onChange: (c) => changes.push(c) });
    const scope = { kind: 'meter', id: 'm1' } as const;
    expect(store.set(scope, { ek: EK, ak: AK }).generation).toBe(1);
    expect(store.set(scope, { ek: EK }).generation).toBe(1);
    expect(store.set(scope, { password: 'pw' }).generation).toBe(1);
    expect(store.set(scope, { bk: EK }).generation).toBe(2);
    expect(store.set(scope, { ak: EK }).generation).toBe(3);
    expect(store.status(scope)).toMatchObject({ ekSet: true, akSet: true, bkSet: true, passwordSet: true, generation: 3 });
    expect(changes.map((c) => [c.generation, c.previous])).toEqual([[1, undefined], [2, 1], [3, 2]]);
    // Kept keys were resealed under the new generation and still open.
    expect(store.resolve('m1')?.password).toBe('pw');
    expect(store.delete(scope)).toBe(true);
    expect(store.resolve('m1')).toBeUndefined();
    expect(store.delete(scope)).toBe(false);
  });

  it('rejects keys of the wrong length and an empty change', () => {
    const { db } = fileDb();
    const store = new KeyStore(db, master());
    expect(() => store.set({ kind: 'meter', id: 'm1' }, { ek: Buffer.alloc(15) })).toThrow(ValidationError);
    expect(() => store.set({ kind: 'meter', id: 'm1' }, {})).toThrow(ValidationError);
    expect(() => store.set({ kind: 'meter', id: 'm1' }, { password: 'x'.repeat(65) })).toThrow(ValidationError);
    expect(store.status({ kind: 'meter', id: 'm1' })).toBeUndefined();
  });

  it('hands out keys that print as [secret] through JSON and inspect', () => {
    const { db } = fileDb();
    const store = new KeyStore(db, master());
    store.set({ kind: 'meter', id: 'm1' }, { ek: EK, ak: AK });
    const keys = store.resolve('m1')?.keys;
    const line = JSON.stringify({ keys }) + inspect(keys) + String(keys?.ek);
    expect(line).not.toContain(hex(EK));
    expect(line).not.toContain('0,1,2,3');
    expect(line).toContain('[secret]');
  });
});
