import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/storage/db.js';

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'gridhead-db-')); });
afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

// SQLite's PRAGMA synchronous answers 1 for NORMAL and 2 for FULL.
describe('embedded store durability', () => {
  it('fsyncs every commit by default, so acknowledged readings survive a power cut', () => {
    const db = openDatabase(join(dir, 'a.db'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    db.close();
  });

  it('syncs only at checkpoints when durability is normal', () => {
    const db = openDatabase(join(dir, 'b.db'), { durability: 'normal' });
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
    db.close();
  });
});
