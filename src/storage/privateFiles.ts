/**
 * The data directory holds password hashes, sealed DLMS keys, the master key, the bootstrap
 * token and the audit log: only the station's own user may read it. Folders are created 0700
 * and files 0600 whatever the umask, and a data directory left open by an older version or
 * by hand is tightened at start.
 */
import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates `dir` (and missing parents) owner-only; an existing folder keeps its mode. */
export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/**
 * Creates `file` empty and owner-only if it does not exist, and takes group and other
 * permissions away from it if it does; for files another library opens and writes (SQLite).
 */
export function makePrivateFile(file: string): void {
  closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
  restrict(file);
}

/** Takes group and other permissions away from `path` if it exists; true if it had any. */
export function restrict(path: string): boolean {
  let mode: number;
  try {
    mode = lstatSync(path).mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if ((mode & 0o077) === 0) return false;
  chmodSync(path, mode & 0o700);
  return true;
}

/**
 * Makes `dir` private: creates it 0700, or takes group and other permissions away from it and
 * from everything in it (symbolic links are neither followed nor changed). Returns the paths
 * it tightened, for one log line.
 */
export function makeDataDirPrivate(dir: string): string[] {
  makePrivateDir(dir);
  const tightened: string[] = [];
  const walk = (path: string): void => {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return;
    if (restrict(path)) tightened.push(path);
    if (st.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
  };
  walk(dir);
  return tightened;
}
