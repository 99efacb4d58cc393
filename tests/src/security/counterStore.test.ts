import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CounterExhaustedError, CounterReplayError, CounterStore, MAX_INVOCATION_COUNTER } from '../../../src/security/counterStore.js';
import type { SecurityCounters } from '../../../protocols/dlms/security/settings.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';

const dbs: Db[] = [];
const dirs: string[] = [];
function dbPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gridhead-ctr-'));
  dirs.push(dir);
  return join(dir, 'store.db');
}
function open(path: string): Db {
  const db = openDatabase(path);
  dbs.push(db);
  return db;
}
afterEach(() => {
  for (const db of dbs.splice(0)) if (db.open) db.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const take = (n: number, c: SecurityCounters) => Array.from({ length: n }, () => c.nextOutgoing());
const strictlyIncreasing = (xs: readonly number[]) => xs.every((x, i) => i === 0 || x > (xs[i - 1] ?? Infinity));

describe('invocation counters', () => {
  it('hand out strictly increasing outgoing numbers across a clean close and reopen, skipping none', () => {
    const path = dbPath();
    let db = open(path);
    let store = new CounterStore(db, { blockSize: 10 });
    const first = take(25, store.countersFor('m1', 'meter:m1', 1));
    store.flush();
    db.close();
    db = open(path);
    store = new CounterStore(db, { blockSize: 10 });
    const second = take(5, store.countersFor('m1', 'meter:m1', 1));
    expect(first[0]).toBe(1);
    expect(strictlyIncreasing([...first, ...second])).toBe(true);
    expect(second[0]).toBe(26);
  });

  it('never reuses a number after a crash in the middle of a block', () => {
    const path = dbPath();
    const db = open(path);
    const used = take(7, new CounterStore(db, { blockSize: 1000 }).countersFor('m1', 'meter:m1', 1));
    // A crash: the process dies without flush(); only what was written before use survives.
    db.close();
    const after = take(3, new CounterStore(open(path), { blockSize: 1000 }).countersFor('m1', 'meter:m1', 1));
    expect(Math.min(...after)).toBeGreaterThan(Math.max(...used));
    expect(after[0]).toBe(1001);
  });

  it('keeps one outgoing counter per key, shared by the meters of a key group', () => {
    const store = new CounterStore(open(dbPath()));
    const a = store.countersFor('m1', 'group:east', 1);
    const b = store.countersFor('m2', 'group:east', 1);
    const own = store.countersFor('m3', 'meter:m3', 1);
    const seen = [a.nextOutgoing(), b.nextOutgoing(), a.nextOutgoing(), b.nextOutgoing()];
    expect(new Set(seen).size).toBe(4);
    expect(own.nextOutgoing()).toBe(1);
    // A new key generation starts afresh.
    expect(store.countersFor('m1', 'group:east', 2).nextOutgoing()).toBe(1);
  });

  it('persists the last incoming counter on accept and refuses a replay, also after reopening', () => {
    const path = dbPath();
    const db = open(path);
    const c = new CounterStore(db).countersFor('m1', 'meter:m1', 1);
    expect(c.lastIncoming()).toBeUndefined();
    c.acceptIncoming(10);
    c.acceptIncoming(11);
    expect(() => { c.acceptIncoming(11); }).toThrow(CounterReplayError);
    expect(() => { c.acceptIncoming(3); }).toThrow(CounterReplayError);
    db.close();
    const again = new CounterStore(open(path)).countersFor('m1', 'meter:m1', 1);
    expect(again.lastIncoming()).toBe(11);
    expect(() => { again.acceptIncoming(11); }).toThrow(CounterReplayError);
    again.acceptIncoming(12);
    expect(again.lastIncoming()).toBe(12);
  });

  it('forgets incoming counters of retired key generations', () => {
    const store = new CounterStore(open(dbPath()));
    store.countersFor('m1', 'meter:m1', 1).acceptIncoming(50);
    store.discard('meter:m1', 2);
    expect(store.countersFor('m1', 'meter:m1', 1).lastIncoming()).toBeUndefined();
  });

  it('refuses to go past the 32-bit counter instead of wrapping', () => {
    const db = open(dbPath());
    db.prepare('INSERT INTO dlms_outgoing_counters (scope, generation, reserved) VALUES (?, ?, ?)').run('meter:m1', 1, MAX_INVOCATION_COUNTER - 1);
    const c = new CounterStore(db).countersFor('m1', 'meter:m1', 1);
    expect(c.nextOutgoing()).toBe(MAX_INVOCATION_COUNTER);
    expect(() => c.nextOutgoing()).toThrow(CounterExhaustedError);
  });

  it('reloads an evicted counter from disk instead of counting twice', () => {
    const store = new CounterStore(open(dbPath()), { maxCached: 1, blockSize: 100 });
    const a = store.countersFor('m1', 'meter:m1', 1);
    const b = store.countersFor('m2', 'meter:m2', 1);
    const seen = [a.nextOutgoing(), b.nextOutgoing(), a.nextOutgoing(), b.nextOutgoing(), a.nextOutgoing()];
    expect(seen).toEqual([1, 1, 2, 2, 3]);
  });
});
