/**
 * DLMS keys at rest: per meter and per key group, the global unicast
 * encryption key (EK), the authentication key (AK), the broadcast key (BK, optional) and
 * the low-level-security password, each sealed under the master key (sealing.ts).
 *
 * A meter uses its own key set when it has one, else its key group's (endpoint `keyGroup`).
 * Every change of EK, AK or BK starts a new generation: invocation counters are kept per
 * generation, because GCM's IV (system title ‖ counter) must be unique per key, and a new
 * key on the meter starts its counters afresh too.
 *
 * Nothing here logs, and no error message carries a secret.
 *
 * `KeyStore` is the port; `SqliteKeyStore` (here) is the embedded implementation,
 * `PostgresKeyStore` (postgresKeyStore.ts) the shared one, with the same sealing and AAD.
 */
import type { SuiteZeroKeys } from '../../protocols/dlms/security/settings.js';
import { ValidationError } from '../domain/errors.js';
import type { Db } from '../storage/db.js';
import type { MasterKey } from './masterKey.js';
import { open, seal, type Sealed } from './sealing.js';
import { answer } from './embeddedAnswer.js';

export type KeyScope = { readonly kind: 'meter'; readonly id: string } | { readonly kind: 'group'; readonly name: string };
export type KeyName = 'ek' | 'ak' | 'bk' | 'password';

/** A change: a key given replaces the stored one; a key not given is kept. */
export interface KeyInput {
  readonly ek?: Uint8Array;
  readonly ak?: Uint8Array;
  readonly bk?: Uint8Array;
  readonly password?: string;
}

/** What the API may show of a key set: whether each secret is set, never the secret. */
export interface KeySetStatus {
  readonly ekSet: boolean;
  readonly akSet: boolean;
  readonly bkSet: boolean;
  readonly passwordSet: boolean;
  readonly generation: number;
  readonly updatedAt: number;
}

/** The keys a meter uses: from its own set or its group's, with the generation its counters belong to. */
export interface ResolvedKeys {
  /** `meter:<id>` or `group:<name>`. */
  readonly scope: string;
  readonly generation: number;
  /** Present when both EK and AK are set (suite 0 needs both). */
  readonly keys: SuiteZeroKeys | undefined;
  readonly password: string | undefined;
}

export interface KeyChange {
  readonly scope: string;
  /** The generation now in force; undefined after a delete. */
  readonly generation: number | undefined;
  /** The previous generation, when one existed. */
  readonly previous: number | undefined;
}

export interface KeyStoreOptions {
  readonly now?: () => number;
  /** After every committed change, awaited before the change resolves: the counters of older generations may be discarded. */
  readonly onChange?: (change: KeyChange) => void | Promise<void>;
}

/** The master key does not open what the store holds: never a silent reset. */
export class MasterKeyMismatchError extends Error {
  readonly code = 'MASTER_KEY_MISMATCH';
  constructor() {
    super('the master key does not decrypt the stored DLMS keys: set GRIDHEAD_MASTER_KEY to the key they were stored under');
    this.name = 'MasterKeyMismatchError';
  }
}

/** A stored key record fails authentication (tampered, or moved from another meter or slot). */
export class KeyRecordError extends Error {
  readonly code = 'KEY_RECORD_INVALID';
  constructor(readonly scope: string, readonly keyName: KeyName) {
    super(`stored ${keyName} of ${scope} fails authentication (tampered or moved); set it again`);
    this.name = 'KeyRecordError';
  }
}

export const SUITE_ZERO_KEY_BYTES = 16;
export const MAX_PASSWORD_LENGTH = 64;
const KEY_NAMES: readonly KeyName[] = ['ek', 'ak', 'bk', 'password'];
/** The master key check record: a known text sealed under this AAD. */
export const CHECK_AAD = 'gridhead/keys/v1\u0000check';
export const CHECK_TEXT = 'gridhead master key check';

/** The DLMS key store as the station uses it, on any driver. */
export interface KeyStore {
  /** Stores the keys given, keeps the others; a new EK, AK or BK starts a new generation. */
  set(scope: KeyScope, input: KeyInput): Promise<KeySetStatus>;
  status(scope: KeyScope): Promise<KeySetStatus | undefined>;
  /** Removes a key set and its records; false when there was none. */
  delete(scope: KeyScope): Promise<boolean>;
  /** The meter's own keys, else its group's; undefined when neither exists. Rejects with KeyRecordError on a tampered record. */
  resolve(meterId: string, keyGroup?: string): Promise<ResolvedKeys | undefined>;
}

export function scopeId(scope: KeyScope): string {
  return scope.kind === 'meter' ? `meter:${scope.id}` : `group:${scope.name}`;
}

export class SqliteKeyStore implements KeyStore {
  private readonly now: () => number;

  /** Throws MasterKeyMismatchError when the store was sealed under another master key. */
  constructor(private readonly db: Db, private readonly master: MasterKey, private readonly options: KeyStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.checkMasterKey();
  }

  async set(scope: KeyScope, input: KeyInput): Promise<KeySetStatus> {
    const { status, change } = this.write(scope, input);
    if (change !== undefined) await this.options.onChange?.(change);
    return status;
  }

  status(scope: KeyScope): Promise<KeySetStatus | undefined> {
    return answer(() => this.statusNow(scope));
  }

  async delete(scope: KeyScope): Promise<boolean> {
    const id = scopeId(scope);
    const row = this.setRow(id);
    if (row === undefined) return false;
    this.db.prepare('DELETE FROM key_sets WHERE scope = ?').run(id);
    await this.options.onChange?.({ scope: id, generation: undefined, previous: row.generation });
    return true;
  }

  resolve(meterId: string, keyGroup?: string): Promise<ResolvedKeys | undefined> {
    return answer(() => this.resolveNow(meterId, keyGroup));
  }

  private write(scope: KeyScope, input: KeyInput): { status: KeySetStatus; change: KeyChange | undefined } {
    validate(input);
    const id = scopeId(scope);
    let change: KeyChange | undefined;
    const status = this.db.transaction(() => {
      const row = this.setRow(id);
      const current = row === undefined ? undefined : this.openAll(id, row.generation);
      const { next, generation } = nextKeySet(current, row?.generation, row === undefined ? this.firstGeneration(id) : 0, input);
      const updatedAt = this.now();
      this.db.prepare('INSERT INTO key_sets (scope, generation, updated_at) VALUES (?, ?, ?) ON CONFLICT(scope) DO UPDATE SET generation = excluded.generation, updated_at = excluded.updated_at')
        .run(id, generation, updatedAt);
      const put = this.db.prepare('INSERT OR REPLACE INTO key_records (scope, name, nonce, sealed) VALUES (?, ?, ?, ?)');
      // Every record is sealed afresh: the generation is part of its AAD.
      for (const [name, plain] of next) {
        const s = seal(this.master, plain, recordAad(id, name, generation));
        put.run(id, name, s.nonce, s.sealed);
      }
      if (generation !== row?.generation) change = { scope: id, generation, previous: row?.generation };
      return statusOf(next, generation, updatedAt);
    })();
    return { status, change };
  }

  private statusNow(scope: KeyScope): KeySetStatus | undefined {
    const id = scopeId(scope);
    const row = this.setRow(id);
    if (row === undefined) return undefined;
    const names = new Set((this.db.prepare('SELECT name FROM key_records WHERE scope = ?').pluck().all(id) as string[]));
    return {
      ekSet: names.has('ek'), akSet: names.has('ak'), bkSet: names.has('bk'), passwordSet: names.has('password'),
      generation: row.generation, updatedAt: row.updated_at,
    };
  }

  private resolveNow(meterId: string, keyGroup?: string): ResolvedKeys | undefined {
    for (const id of resolutionOrder(meterId, keyGroup)) {
      const row = this.setRow(id);
      if (row === undefined) continue;
      return resolvedOf(id, row.generation, this.openAll(id, row.generation));
    }
    return undefined;
  }

  private setRow(id: string): { generation: number; updated_at: number } | undefined {
    return this.db.prepare('SELECT generation, updated_at FROM key_sets WHERE scope = ?').get(id) as { generation: number; updated_at: number } | undefined;
  }

  /** After a delete, a new set continues above every generation that has counters, so none is reused. */
  private firstGeneration(id: string): number {
    const used = this.db.prepare('SELECT MAX(generation) FROM dlms_outgoing_counters WHERE scope = ?').pluck().get(id) as number | null;
    return (used ?? 0) + 1;
  }

  private openAll(id: string, generation: number): Map<KeyName, Uint8Array> {
    const rows = this.db.prepare('SELECT name, nonce, sealed FROM key_records WHERE scope = ?').all(id) as ({ name: KeyName } & Sealed)[];
    return openRecords(this.master, id, generation, rows);
  }

  private checkMasterKey(): void {
    const row = this.db.prepare('SELECT nonce, sealed FROM key_store_check WHERE id = 1').get() as Sealed | undefined;
    if (row === undefined) {
      const s = seal(this.master, Buffer.from(CHECK_TEXT, 'utf8'), CHECK_AAD);
      this.db.prepare('INSERT INTO key_store_check (id, nonce, sealed) VALUES (1, ?, ?)').run(s.nonce, s.sealed);
      return;
    }
    checkSealedCheck(this.master, row);
  }
}


/** Throws MasterKeyMismatchError unless `row` is the check text sealed under `master`. */
export function checkSealedCheck(master: MasterKey, row: Sealed): void {
  const plain = open(master, row, CHECK_AAD);
  if (plain === undefined || Buffer.from(plain).toString('utf8') !== CHECK_TEXT) throw new MasterKeyMismatchError();
}

/** The scopes a meter's keys come from, first match wins: its own set, then its key group's. */
export function resolutionOrder(meterId: string, keyGroup: string | undefined): string[] {
  return [scopeId({ kind: 'meter', id: meterId }), ...(keyGroup === undefined ? [] : [scopeId({ kind: 'group', name: keyGroup })])];
}

/** Opens a key set's records; throws KeyRecordError for one that fails authentication. */
export function openRecords(master: MasterKey, id: string, generation: number, rows: readonly ({ readonly name: KeyName } & Sealed)[]): Map<KeyName, Uint8Array> {
  const out = new Map<KeyName, Uint8Array>();
  for (const r of rows) {
    const plain = open(master, r, recordAad(id, r.name, generation));
    if (plain === undefined) throw new KeyRecordError(id, r.name);
    out.set(r.name, plain);
  }
  return out;
}

export function resolvedOf(id: string, generation: number, plain: ReadonlyMap<KeyName, Uint8Array>): ResolvedKeys {
  const ek = plain.get('ek');
  const ak = plain.get('ak');
  const bk = plain.get('bk');
  const password = plain.get('password');
  return {
    scope: id,
    generation,
    keys: ek !== undefined && ak !== undefined ? { ek, ak, ...(bk === undefined ? {} : { bk }) } : undefined,
    password: password === undefined ? undefined : Buffer.from(password).toString('utf8'),
  };
}

/**
 * The key set after applying `input` to `current`, and its generation: a new EK, AK or BK
 * starts the next one; a first set starts at `firstGeneration`.
 */
export function nextKeySet(
  current: ReadonlyMap<KeyName, Uint8Array> | undefined, currentGeneration: number | undefined, firstGeneration: number, input: KeyInput,
): { next: Map<KeyName, Uint8Array>; generation: number } {
  const held = current ?? new Map<KeyName, Uint8Array>();
  const keyChanged = (['ek', 'ak', 'bk'] as const).some((n) => input[n] !== undefined && !sameBytes(input[n], held.get(n)));
  const generation = currentGeneration === undefined ? firstGeneration : keyChanged ? currentGeneration + 1 : currentGeneration;
  const next = new Map(held);
  for (const n of ['ek', 'ak', 'bk'] as const) {
    const v = input[n];
    if (v !== undefined) next.set(n, v);
  }
  if (input.password !== undefined) next.set('password', Buffer.from(input.password, 'utf8'));
  return { next, generation };
}

/** Scope, slot and generation in the AAD: a sealed value opens only where it was written. */
export function recordAad(scope: string, name: KeyName, generation: number): string {
  return `gridhead/keys/v1\u0000${scope}\u0000${name}\u0000${generation}`;
}

export function validate(input: KeyInput): void {
  if (!KEY_NAMES.some((n) => input[n] !== undefined)) throw new ValidationError('give at least one of ek, ak, bk, password');
  for (const n of ['ek', 'ak', 'bk'] as const) {
    const v = input[n];
    // Security suite 0 is AES-GCM-128 (IEC 62056-5-3 §5.3.4.2 table 10): 128-bit keys.
    if (v !== undefined && v.length !== SUITE_ZERO_KEY_BYTES) throw new ValidationError(`${n} must be ${SUITE_ZERO_KEY_BYTES} octets (${SUITE_ZERO_KEY_BYTES * 2} hex digits)`, n);
  }
  const p = input.password;
  if (p !== undefined && (p.length === 0 || p.length > MAX_PASSWORD_LENGTH)) {
    throw new ValidationError(`password must have 1 to ${MAX_PASSWORD_LENGTH} characters`, 'password');
  }
}

export function statusOf(keys: ReadonlyMap<KeyName, Uint8Array>, generation: number, updatedAt: number): KeySetStatus {
  return { ekSet: keys.has('ek'), akSet: keys.has('ak'), bkSet: keys.has('bk'), passwordSet: keys.has('password'), generation, updatedAt };
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
