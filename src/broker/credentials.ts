/**
 * Who may connect to the embedded broker, kept in `<dataDir>/mqtt-credentials.json` (mode
 * 0600), created at the first start:
 *
 *   { "station":   { "username": "gridhead-station", "password": "<random>" },
 *     "simulatorSecret": "<random>",
 *     "terminals": { "<terminalId>": "sha256:<hex of the password's SHA-256>" } }
 *
 * - The station's own clients (telemetry, commands, DLMS pushes, alarms) log in as `station`.
 * - A terminal logs in with its terminal id as the user name; the ACL ties what it may publish
 *   to that id. Real terminals are added under `terminals` (the file is read again when it
 *   changes, no restart). Passwords are long random secrets, so a SHA-256 suffices (as for API
 *   tokens, src/auth/secrets.ts) and a CONNECT storm costs no slow hashing.
 * - Simulated terminals log in with HMAC-SHA256(simulatorSecret, terminalId): the fleet
 *   derives its passwords, the station accepts them only for the ids it knows are simulated.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sameHash, sha256 } from '../auth/secrets.js';
import { makePrivateDir, PRIVATE_FILE_MODE } from '../storage/privateFiles.js';

export const CREDENTIALS_FILE = 'mqtt-credentials.json';
export const STATION_USERNAME = 'gridhead-station';

export interface StationCredentials {
  readonly username: string;
  readonly password: string;
}

/** The credentials file is unreadable or not in the expected shape: the station does not start on a guess. */
export class CredentialsFileError extends Error {
  readonly code = 'MQTT_CREDENTIALS_FILE';
  constructor(readonly file: string, reason: string) {
    super(`MQTT credentials file ${file}: ${reason}; fix it, or move it away to have a new one generated`);
    this.name = 'CredentialsFileError';
  }
}

export type BrokerIdentity = { readonly kind: 'station' } | { readonly kind: 'terminal'; readonly terminalId: string };

export interface BrokerCredentials {
  readonly file: string;
  readonly station: StationCredentials;
  /** The password a simulated terminal logs in with. */
  simulatorPassword(terminalId: string): string;
  /** Who these credentials prove, or undefined. `isSimulated` says which terminal ids may use derived passwords. */
  identify(username: string | undefined, password: Buffer | undefined, isSimulated: (terminalId: string) => boolean): BrokerIdentity | undefined;
}

interface FileContent {
  readonly station: StationCredentials;
  /** SHA-256 of the station's password, computed once per load rather than on every CONNECT. */
  readonly stationHash: Buffer;
  readonly simulatorSecret: string;
  readonly terminals: ReadonlyMap<string, Buffer>;
}

/** Loads `<dataDir>/mqtt-credentials.json`, creating it (mode 0600) when absent. */
export function loadBrokerCredentials(dataDir: string): BrokerCredentials {
  const file = join(dataDir, CREDENTIALS_FILE);
  let content = readOrCreate(file, dataDir);
  let loadedMtime = mtimeOf(file);
  const current = (): FileContent => {
    // Terminals are added by editing the file; pick the change up on the next CONNECT.
    const mtime = mtimeOf(file);
    if (mtime !== loadedMtime) {
      try {
        content = parse(file, readFileSync(file, 'utf8'));
        loadedMtime = mtime;
      } catch {
        // A half-written or broken edit keeps the last good content; the start-up check reports it next time.
      }
    }
    return content;
  };
  const derive = (terminalId: string): string => createHmac('sha256', content.simulatorSecret).update(terminalId, 'utf8').digest('base64url');
  return {
    file,
    station: content.station,
    simulatorPassword: derive,
    identify(username, password, isSimulated) {
      if (username === undefined || password === undefined) return undefined;
      const c = current();
      const given = sha256(password.toString('utf8'));
      if (username === c.station.username) return sameHash(given, c.stationHash) ? { kind: 'station' } : undefined;
      const stored = c.terminals.get(username);
      if (stored !== undefined) return sameHash(given, stored) ? { kind: 'terminal', terminalId: username } : undefined;
      if (isSimulated(username) && sameHash(given, sha256(derive(username)))) return { kind: 'terminal', terminalId: username };
      return undefined;
    },
  };
}

function readOrCreate(file: string, dataDir: string): FileContent {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new CredentialsFileError(file, `cannot read: ${(err as Error).message}`);
    const fresh = {
      station: { username: STATION_USERNAME, password: randomBytes(32).toString('base64url') },
      simulatorSecret: randomBytes(32).toString('base64url'),
      terminals: {},
    };
    makePrivateDir(dataDir);
    try {
      writeFileSync(file, `${JSON.stringify(fresh, null, 2)}\n`, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
      chmodSync(file, PRIVATE_FILE_MODE);
    } catch (e) {
      // Another start on the same data directory wrote it first: use theirs.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new CredentialsFileError(file, `cannot create: ${(e as Error).message}`);
    }
    text = readFileSync(file, 'utf8');
  }
  return parse(file, text);
}

function parse(file: string, text: string): FileContent {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CredentialsFileError(file, `not JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null) throw new CredentialsFileError(file, 'expected an object');
  const o = raw as { station?: { username?: unknown; password?: unknown }; simulatorSecret?: unknown; terminals?: unknown };
  const username = o.station?.username;
  const password = o.station?.password;
  if (typeof username !== 'string' || username === '' || typeof password !== 'string' || password.length < 16) {
    throw new CredentialsFileError(file, 'station.username and station.password (16 characters or more) are required');
  }
  if (typeof o.simulatorSecret !== 'string' || o.simulatorSecret.length < 16) throw new CredentialsFileError(file, 'simulatorSecret (16 characters or more) is required');
  const terminals = new Map<string, Buffer>();
  const entries: unknown = o.terminals ?? {};
  if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) throw new CredentialsFileError(file, 'terminals must map terminal ids to "sha256:<hex>"');
  for (const [id, hash] of Object.entries(entries as Record<string, unknown>)) {
    if (typeof hash !== 'string' || !/^sha256:[0-9a-fA-F]{64}$/.test(hash)) {
      throw new CredentialsFileError(file, `terminals.${id} must be "sha256:" and 64 hex digits (printf %s "$PASSWORD" | sha256sum)`);
    }
    if (id === username) throw new CredentialsFileError(file, `terminal id ${JSON.stringify(id)} is the station's user name`);
    terminals.set(id, Buffer.from(hash.slice('sha256:'.length), 'hex'));
  }
  return { station: { username, password }, stationHash: sha256(password), simulatorSecret: o.simulatorSecret, terminals };
}

function mtimeOf(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}
