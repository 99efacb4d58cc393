import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ReplacementStore } from '../../../src/billing/replacements.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';

const dirs: string[] = [];
const dbs: Db[] = [];

function open(dir: string): Db {
  const db = openDatabase(join(dir, 'store.db'));
  dbs.push(db);
  return db;
}

afterEach(() => {
  for (const db of dbs.splice(0)) if (db.open) db.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('ReplacementStore', () => {
  it('keeps replacements across a restart, oldest first, and corrects one recorded at the same time', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridhead-repl-'));
    dirs.push(dir);
    const first = new ReplacementStore(open(dir));
    first.add({ meterId: 'm1', at: 2_000, oldFinal: 20, newInitial: 0 });
    first.add({ meterId: 'm1', at: 1_000, oldFinal: 10, newInitial: 0 });
    first.add({ meterId: 'm1', at: 2_000, oldFinal: 21, newInitial: 1 });
    dbs[0]?.close();
    const reopened = new ReplacementStore(open(dir));
    expect(reopened.of('m1')).toEqual([
      { meterId: 'm1', at: 1_000, oldFinal: 10, newInitial: 0 },
      { meterId: 'm1', at: 2_000, oldFinal: 21, newInitial: 1 },
    ]);
    expect(reopened.of('m2')).toEqual([]);
  });
});
