/**
 * The data directory holds password hashes, sealed keys, the master key and the audit log:
 * folders 0700, files 0600, whatever the umask, and tightened at start if left open.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/storage/db.js';
import { makeDataDirPrivate } from '../../../src/storage/privateFiles.js';
import { createLogger } from '../../../src/observe/logger.js';
import { startTestHeadEnd } from '../../helpers/headend.js';

const mode = (path: string) => statSync(path).mode & 0o777;
const dirs: string[] = [];
let umask: number;

beforeEach(() => {
  // The usual umask, under which files are created readable by everyone unless made private.
  umask = process.umask(0o022);
});

afterEach(() => {
  process.umask(umask);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'gridhead-private-'));
  dirs.push(d);
  return d;
}

describe('private data files', () => {
  it('creates the store folder 0700 and the database, its WAL and shared memory 0600', () => {
    const dir = join(tempDir(), 'data');
    const path = join(dir, 'gridhead.db');
    const db = openDatabase(path);
    db.exec('CREATE TABLE t (x INTEGER)');
    db.prepare('INSERT INTO t VALUES (1)').run();
    expect(mode(dir)).toBe(0o700);
    expect(mode(path)).toBe(0o600);
    expect(mode(`${path}-wal`)).toBe(0o600);
    expect(mode(`${path}-shm`)).toBe(0o600);
    db.close();
  });

  it('tightens a database and WAL an older version left 0644', () => {
    const dir = tempDir();
    const path = join(dir, 'gridhead.db');
    const first = openDatabase(path);
    first.exec('CREATE TABLE t (x INTEGER)');
    chmodSync(path, 0o644);
    chmodSync(`${path}-wal`, 0o644);
    const second = openDatabase(path);
    expect(mode(path)).toBe(0o600);
    expect(mode(`${path}-wal`)).toBe(0o600);
    second.close();
    first.close();
  });

  it('takes group and other permissions from a whole data folder, once, without following links', () => {
    const dir = tempDir();
    const outside = join(tempDir(), 'shared.txt');
    writeFileSync(outside, 'x', { mode: 0o644 });
    mkdirSync(join(dir, 'influx-spool'), { mode: 0o755 });
    writeFileSync(join(dir, 'influx-spool', '00000001.seg'), 'x', { mode: 0o644 });
    writeFileSync(join(dir, 'master.key'), 'x', { mode: 0o600 });
    symlinkSync(outside, join(dir, 'link'));
    chmodSync(dir, 0o755);
    expect(makeDataDirPrivate(dir).sort()).toEqual([dir, join(dir, 'influx-spool'), join(dir, 'influx-spool', '00000001.seg')].sort());
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, 'influx-spool'))).toBe(0o700);
    expect(mode(join(dir, 'influx-spool', '00000001.seg'))).toBe(0o600);
    expect(mode(outside)).toBe(0o644);
    expect(makeDataDirPrivate(dir)).toEqual([]);
  });

  it('starts a head-end on a data folder left open: one warning, and every file it holds is owner-only', async () => {
    const dir = join(tempDir(), 'data');
    mkdirSync(dir, { mode: 0o755 });
    writeFileSync(join(dir, 'notes.txt'), 'left by hand', { mode: 0o644 });
    const lines: { level: number; msg: string }[] = [];
    const logger = createLogger('info', { write: (s: string) => { lines.push(JSON.parse(s) as { level: number; msg: string }); } });
    // No bootstrap token and no master key given: the demo station writes both into the folder.
    const demo = { mqtt: { embeddedBroker: { enabled: true, port: 0 } }, simulators: { enabled: true, modbus: { count: 0 }, mqtt: { count: 0 }, dlms: { count: 0 } } };
    const he = await startTestHeadEnd(demo, { dataDir: dir, logger, env: { GRIDHEAD_BOOTSTRAP_TOKEN: '', GRIDHEAD_MASTER_KEY: '' } });
    try {
      expect(lines.filter((l) => l.msg.startsWith('data directory was open to other users'))).toHaveLength(1);
      expect(mode(dir)).toBe(0o700);
      for (const file of ['notes.txt', 'gridhead.db', 'gridhead.db-wal', 'gridhead.db-shm', 'master.key', 'bootstrap-token']) {
        expect([file, mode(join(dir, file))]).toEqual([file, 0o600]);
      }
    } finally {
      await he.stop();
    }
  }, 30_000);
});
