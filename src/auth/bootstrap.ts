/**
 * The first admin, without a default password (a shipped default is the first one tried
 * against an exposed station): at a start where no admin user or admin token exists, an
 * admin token named `bootstrap` is created, from
 * GRIDHEAD_BOOTSTRAP_TOKEN when set, else generated, logged once at warn and written to
 * `<dataDir>/bootstrap-token` (mode 0600). Once an admin exists nothing happens, so the
 * token is never regenerated; delete the file after creating real users and tokens.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BootstrapTokenError } from './errors.js';
import { MAX_TOKEN_LENGTH, MIN_TOKEN_LENGTH } from './secrets.js';
import type { AuthService, TokenView } from './service.js';
import { makePrivateDir, makePrivateFile } from '../storage/privateFiles.js';

export const BOOTSTRAP_ENV = 'GRIDHEAD_BOOTSTRAP_TOKEN';
export const BOOTSTRAP_FILE = 'bootstrap-token';
export const BOOTSTRAP_TOKEN_NAME = 'bootstrap';

export interface BootstrapOptions {
  readonly auth: Pick<AuthService, 'adminExists' | 'createToken' | 'importToken'>;
  readonly env: NodeJS.ProcessEnv;
  readonly dataDir: string;
  /** Receives the one warning that carries a generated token. */
  readonly warn: (fields: Record<string, unknown>, message: string) => void;
}

export type BootstrapOutcome =
  | { readonly kind: 'admin-exists' }
  | { readonly kind: 'from-environment'; readonly token: TokenView }
  | { readonly kind: 'generated'; readonly token: TokenView; readonly file: string };

export async function bootstrapAdmin({ auth, env, dataDir, warn }: BootstrapOptions): Promise<BootstrapOutcome> {
  const given = env[BOOTSTRAP_ENV];
  // A set but unusable value is a mistake to stop on, even when it would not be used.
  if (given !== undefined && given !== '' && (given.length < MIN_TOKEN_LENGTH || given.length > MAX_TOKEN_LENGTH || /\s/.test(given))) {
    throw new BootstrapTokenError(`${BOOTSTRAP_ENV} must be ${MIN_TOKEN_LENGTH}–${MAX_TOKEN_LENGTH} characters without white space `
      + `(it has ${given.length}); generate one with: openssl rand -base64 32`);
  }
  if (await auth.adminExists()) return { kind: 'admin-exists' };
  if (given !== undefined && given !== '') {
    return { kind: 'from-environment', token: await auth.importToken(given, { name: BOOTSTRAP_TOKEN_NAME, role: 'admin' }, 'bootstrap') };
  }
  // Stored before it is written to the file or the log: a token shown is a token that works.
  const { token, view } = await auth.createToken({ name: BOOTSTRAP_TOKEN_NAME, role: 'admin' }, 'bootstrap');
  makePrivateDir(dataDir);
  const file = join(dataDir, BOOTSTRAP_FILE);
  // Created (or tightened, if an older one is there) owner-only before the token is written.
  makePrivateFile(file);
  writeFileSync(file, `${token}\n`);
  warn({ file }, `no admin exists: created the admin API token ${token} (also in ${file}, mode 0600); `
    + 'use it as "Authorization: Bearer <token>" to create users and tokens, then revoke it; it is not shown again');
  return { kind: 'generated', token: view, file };
}
