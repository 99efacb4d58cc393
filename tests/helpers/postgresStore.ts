/**
 * The PostgreSQL store's settings for tests: the configuration defaults (`storage.postgres`
 * in src/config/schema.ts), with changes a test asks for.
 */
import { Value } from 'typebox/value';
import { PostgresConfig } from '../../src/config/schema.js';
import { openPostgres, type PostgresDatabase } from '../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../src/storage/postgres/migrations.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from './postgres.js';

export const POSTGRES_TEST_CONFIG: PostgresConfig = Value.Default(PostgresConfig, {}) as PostgresConfig;

export function postgresTestConfig(changes: Partial<PostgresConfig> = {}): PostgresConfig {
  return { ...POSTGRES_TEST_CONFIG, ...changes };
}

/**
 * A throw-away cluster for a store suite's PostgreSQL driver: started by the first `open()`
 * of the file, each `open()` a fresh database with every migration applied; `dispose()` in
 * `afterAll`. `unavailable` says why it cannot run here (print it and skip), else undefined.
 */
export interface MigratedPostgres {
  readonly unavailable: string | undefined;
  open(): Promise<PostgresDatabase>;
  dispose(): Promise<void>;
}

export function migratedPostgres(): MigratedPostgres {
  let cluster: TestPostgres | undefined;
  return {
    unavailable: postgresUnavailable(),
    open: async () => {
      cluster ??= await startPostgres();
      const db = await openPostgres({ url: await cluster.createDatabase(), config: POSTGRES_TEST_CONFIG });
      await migratePostgres(db);
      return db;
    },
    dispose: async () => {
      await cluster?.dispose();
      cluster = undefined;
    },
  };
}
