/**
 * The master key that seals DLMS keys at rest (DESIGN.md: `GRIDHEAD_MASTER_KEY`).
 *
 * Production sets the variable: 64 hex digits, or base64 of 32 bytes. The one-machine demo
 * (simulators enabled) may run without it: a key is generated once into
 * `<dataDir>/master.key` (mode 0600) and reused, with a warning at each start. Without the
 * variable and without simulators the station refuses to start, naming the variable.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../config/load.js';
import { makePrivateDir } from '../storage/privateFiles.js';

export const MASTER_KEY_ENV = 'GRIDHEAD_MASTER_KEY';
export const MASTER_KEY_FILE = 'master.key';
const KEY_BYTES = 32;

/** A 32-byte key that never shows itself in logs, JSON or string conversions. */
export class MasterKey {
  readonly #bytes: Uint8Array;

  constructor(bytes: Uint8Array, readonly origin: 'environment' | 'file') {
    if (bytes.length !== KEY_BYTES) throw new RangeError(`a master key has ${KEY_BYTES} bytes, not ${bytes.length}`);
    this.#bytes = Uint8Array.from(bytes);
  }

  /** The raw key, for the cipher only. */
  bytes(): Uint8Array {
    return this.#bytes;
  }

  toJSON(): string {
    return '[master key]';
  }

  toString(): string {
    return '[master key]';
  }
}

export interface MasterKeyOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly dataDir: string;
  /** Demo mode: a missing key may be generated into the data folder. */
  readonly simulatorsEnabled: boolean;
  /** Called once when the demo key file is used, so the operator learns production must set the variable. */
  readonly warn: (message: string, file: string) => void;
}

export function loadMasterKey({ env, dataDir, simulatorsEnabled, warn }: MasterKeyOptions): MasterKey {
  const text = env[MASTER_KEY_ENV];
  if (text !== undefined && text !== '') {
    const bytes = parseMasterKey(text);
    if (bytes === undefined) {
      throw new ConfigError('environment', [{ path: MASTER_KEY_ENV, message: 'expected 64 hex digits or the base64 encoding of 32 bytes' }]);
    }
    return new MasterKey(bytes, 'environment');
  }
  const file = join(dataDir, MASTER_KEY_FILE);
  if (!simulatorsEnabled) {
    throw new ConfigError('environment', [{
      path: MASTER_KEY_ENV,
      message: `not set: the station keeps DLMS keys encrypted under it; set it to 64 hex digits (e.g. \`openssl rand -hex 32\`)${exists(file) ? ` — a demo key exists in ${file}, set the variable to its content to keep the stored keys` : ''}`,
    }]);
  }
  const key = new MasterKey(readOrCreateKeyFile(file, dataDir), 'file');
  warn(`${MASTER_KEY_ENV} is not set: using the demo master key in ${file}; production must set ${MASTER_KEY_ENV}`, file);
  return key;
}

/** 64 hex digits, or base64 (standard or URL alphabet) of exactly 32 bytes; undefined otherwise. */
export function parseMasterKey(text: string): Uint8Array | undefined {
  const t = text.trim();
  if (/^[0-9A-Fa-f]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    const bytes = Buffer.from(t, 'base64');
    if (bytes.length === KEY_BYTES) return bytes;
  }
  return undefined;
}

function readOrCreateKeyFile(file: string, dataDir: string): Uint8Array {
  if (!exists(file)) {
    makePrivateDir(dataDir);
    try {
      // 'wx': never overwrite a key another process wrote in the meantime.
      writeFileSync(file, `${randomBytes(KEY_BYTES).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const bytes = parseMasterKey(readFileSync(file, 'utf8'));
  if (bytes === undefined) {
    throw new ConfigError(file, [{ path: MASTER_KEY_FILE, message: `does not hold a master key (64 hex digits); restore it or set ${MASTER_KEY_ENV}` }]);
  }
  return bytes;
}

function exists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}
