import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/load.js';
import { MASTER_KEY_ENV, loadMasterKey, parseMasterKey } from '../../../src/security/masterKey.js';

const HEX = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'gridhead-mk-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('master key', () => {
  it('accepts 64 hex digits or base64 of 32 bytes, and nothing else', () => {
    expect(Buffer.from(parseMasterKey(HEX) ?? []).toString('hex')).toBe(HEX);
    expect(Buffer.from(parseMasterKey(Buffer.from(HEX, 'hex').toString('base64')) ?? []).toString('hex')).toBe(HEX);
    expect(parseMasterKey(HEX.slice(2))).toBeUndefined();
    expect(parseMasterKey(Buffer.alloc(31).toString('base64'))).toBeUndefined();
    expect(parseMasterKey('not a key')).toBeUndefined();
  });

  it('takes the key from the environment', () => {
    const key = loadMasterKey({ env: { [MASTER_KEY_ENV]: HEX }, dataDir: tempDir(), simulatorsEnabled: false, warn: () => undefined });
    expect(Buffer.from(key.bytes()).toString('hex')).toBe(HEX);
    expect(key.origin).toBe('environment');
    expect(JSON.stringify({ key })).not.toContain('0011');
    expect(String(key)).toBe('[master key]');
  });

  it('refuses to start without the variable when simulators are disabled, naming it', () => {
    const dir = tempDir();
    let caught: unknown;
    try {
      loadMasterKey({ env: {}, dataDir: dir, simulatorsEnabled: false, warn: () => undefined });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).code).toBe('CONFIG');
    expect((caught as ConfigError).message).toContain(MASTER_KEY_ENV);
  });

  it('rejects a malformed variable with a ConfigError', () => {
    expect(() => loadMasterKey({ env: { [MASTER_KEY_ENV]: 'abc' }, dataDir: tempDir(), simulatorsEnabled: true, warn: () => undefined }))
      .toThrow(ConfigError);
  });

  it('in the demo generates a key file with mode 0600 once, reuses it, and warns each start', () => {
    const dir = tempDir();
    const warnings: string[] = [];
    const first = loadMasterKey({ env: {}, dataDir: dir, simulatorsEnabled: true, warn: (m) => warnings.push(m) });
    const file = join(dir, 'master.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = loadMasterKey({ env: {}, dataDir: dir, simulatorsEnabled: true, warn: (m) => warnings.push(m) });
    expect(Buffer.compare(first.bytes(), second.bytes())).toBe(0);
    expect(readFileSync(file, 'utf8').trim()).toBe(Buffer.from(first.bytes()).toString('hex'));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain(MASTER_KEY_ENV);
    expect(warnings[0]).not.toContain(Buffer.from(first.bytes()).toString('hex'));
  });

  it('refuses a damaged demo key file instead of replacing it', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'master.key'), 'garbage\n', { mode: 0o600 });
    expect(() => loadMasterKey({ env: {}, dataDir: dir, simulatorsEnabled: true, warn: () => undefined })).toThrow(ConfigError);
    expect(readFileSync(join(dir, 'master.key'), 'utf8')).toBe('garbage\n');
  });
});
