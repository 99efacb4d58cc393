import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BOOTSTRAP_FILE, bootstrapAdmin } from '../../../src/auth/bootstrap.js';
import { BootstrapTokenError } from '../../../src/auth/errors.js';
import { AuthService } from '../../../src/auth/service.js';
import { SqliteAuthStore } from '../../../src/auth/store.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';

const dirs: string[] = [];
const dbs: Db[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup() {
  const dataDir = mkdtempSync(join(tmpdir(), 'gridhead-boot-'));
  dirs.push(dataDir);
  const db = openDatabase(join(dataDir, 'gridhead.db'));
  dbs.push(db);
  const warnings: string[] = [];
  return { dataDir, auth: new AuthService(new SqliteAuthStore(db)), warnings, warn: (_f: Record<string, unknown>, m: string) => { warnings.push(m); } };
}

describe('bootstrap of the first admin', () => {
  it('generates an admin token once, logs it in one warning, writes it mode 0600, and never again', async () => {
    const { dataDir, auth, warnings, warn } = setup();
    const first = await bootstrapAdmin({ auth, env: {}, dataDir, warn });
    expect(first.kind).toBe('generated');
    const file = join(dataDir, BOOTSTRAP_FILE);
    const token = readFileSync(file, 'utf8').trim();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await auth.authenticateToken(token)).toEqual({ subject: 'token:bootstrap', role: 'admin', via: 'token' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(token);
    expect(warnings[0]).not.toContain('\n');

    expect((await bootstrapAdmin({ auth, env: {}, dataDir, warn })).kind).toBe('admin-exists');
    expect(readFileSync(file, 'utf8').trim()).toBe(token);
    expect(warnings).toHaveLength(1);
  });

  it('uses GRIDHEAD_BOOTSTRAP_TOKEN when set, writing no file and logging no token', async () => {
    const { dataDir, auth, warnings, warn } = setup();
    const given = 'my-own-bootstrap-token-of-forty-characters';
    expect((await bootstrapAdmin({ auth, env: { GRIDHEAD_BOOTSTRAP_TOKEN: given }, dataDir, warn })).kind).toBe('from-environment');
    expect((await auth.authenticateToken(given))?.role).toBe('admin');
    expect(() => statSync(join(dataDir, BOOTSTRAP_FILE))).toThrow();
    expect(warnings).toEqual([]);
  });

  it('refuses to start with a bootstrap token shorter than 32 characters', async () => {
    const { dataDir, auth, warn } = setup();
    await expect(bootstrapAdmin({ auth, env: { GRIDHEAD_BOOTSTRAP_TOKEN: 'too-short' }, dataDir, warn })).rejects.toThrow(BootstrapTokenError);
    expect(await auth.adminExists()).toBe(false);
  });
});
