import { describe, expect, it } from 'vitest';
import { buildConfig, ConfigError } from '../../src/config/load.js';
import { storageDriverOf } from '../../src/stores.js';

const URL = 'postgres://gridhead:secret@127.0.0.1:5432/gridhead';
const storage = (s: Record<string, unknown> = {}) => buildConfig({ storage: s }, 'test').storage;

describe('the storage driver a station runs on', () => {
  it('is embedded when neither the configuration nor the environment names a database', () => {
    expect(storageDriverOf(storage(), {})).toBe('embedded');
  });

  it('is PostgreSQL when GRIDHEAD_DATABASE_URL is set or storage.postgres.url is given, and the driver is left out', () => {
    expect(storageDriverOf(storage(), { GRIDHEAD_DATABASE_URL: URL })).toBe('postgres');
    expect(storageDriverOf(storage({ postgres: { url: URL } }), {})).toBe('postgres');
  });

  it('follows an explicit driver: embedded beside a URL in the file, PostgreSQL given a URL', () => {
    expect(storageDriverOf(storage({ driver: 'embedded', postgres: { url: URL } }), {})).toBe('embedded');
    expect(storageDriverOf(storage({ driver: 'postgres' }), { GRIDHEAD_DATABASE_URL: URL })).toBe('postgres');
  });

  it('refuses embedded while GRIDHEAD_DATABASE_URL is set, naming both, without the password', () => {
    const err = catchError(() => storageDriverOf(storage({ driver: 'embedded' }), { GRIDHEAD_DATABASE_URL: URL }));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues[0]?.path).toBe('storage.driver');
    expect((err as Error).message).toContain('GRIDHEAD_DATABASE_URL');
    expect((err as Error).message).not.toContain('secret');
  });

  it('refuses PostgreSQL without a URL, naming GRIDHEAD_DATABASE_URL and storage.postgres.url', () => {
    const err = catchError(() => storageDriverOf(storage({ driver: 'postgres' }), { GRIDHEAD_DATABASE_URL: '' }));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('GRIDHEAD_DATABASE_URL');
    expect((err as Error).message).toContain('storage.postgres.url');
  });
});

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}
