/**
 * The PostgreSQL store's settings for tests: the configuration defaults (`storage.postgres`
 * in src/config/schema.ts), with changes a test asks for.
 */
import { Value } from 'typebox/value';
import { PostgresConfig } from '../../src/config/schema.js';

export const POSTGRES_TEST_CONFIG: PostgresConfig = Value.Default(PostgresConfig, {}) as PostgresConfig;

export function postgresTestConfig(changes: Partial<PostgresConfig> = {}): PostgresConfig {
  return { ...POSTGRES_TEST_CONFIG, ...changes };
}
