/**
 * Why `gridhead db import` refuses, as errors with a stable `code`; each message says what to
 * do. What the database itself reports stays a `DatabaseError` (src/storage/postgres/errors.ts).
 */

export type ImportErrorCode =
  | 'IMPORT_SOURCE_MISSING'
  | 'IMPORT_SOURCE_UNREADABLE'
  | 'IMPORT_SOURCE_TOO_NEW'
  | 'IMPORT_SOURCE_OUTDATED'
  | 'IMPORT_TARGET_NOT_EMPTY'
  | 'IMPORT_TARGET_OTHER_STATION'
  | 'IMPORT_RUNNING'
  | 'IMPORT_ALREADY_DONE';

export abstract class ImportError extends Error {
  abstract readonly code: ImportErrorCode;
}

/** The data directory has no embedded store. */
export class ImportSourceMissing extends ImportError {
  readonly code = 'IMPORT_SOURCE_MISSING';
  constructor(readonly dataDir: string) {
    super(`${dataDir} holds no embedded store (gridhead.db): give the data directory of the embedded station (its dataDir, or GRIDHEAD_DATA_DIR)`);
    this.name = 'ImportSourceMissing';
  }
}

/** The file is not a SQLite database, or not one of gridhead's. */
export class ImportSourceUnreadable extends ImportError {
  readonly code = 'IMPORT_SOURCE_UNREADABLE';
  constructor(readonly file: string, cause: unknown) {
    super(`${file} cannot be read as an embedded store: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'ImportSourceUnreadable';
  }
}

/** The store was migrated by a newer build than this one: its tables may hold what this build does not know. */
export class ImportSourceTooNew extends ImportError {
  readonly code = 'IMPORT_SOURCE_TOO_NEW';
  constructor(readonly file: string, readonly version: number, readonly known: number) {
    super(`${file} is at schema version ${version}, newer than this build knows (${known}): import with the gridhead release that wrote it, or a newer one`);
    this.name = 'ImportSourceTooNew';
  }
}

/** The store was last opened by an older build; the import reads it read-only, so it cannot migrate it. */
export class ImportSourceOutdated extends ImportError {
  readonly code = 'IMPORT_SOURCE_OUTDATED';
  constructor(readonly file: string, readonly version: number, readonly expected: number) {
    super(`${file} is at schema version ${version}, this build expects ${expected}: start the embedded station once with this build (gridhead start), which migrates it, stop it, then import`);
    this.name = 'ImportSourceOutdated';
  }
}

/** The target holds rows this import did not write: copying beside them could mix two stations' ids. */
export class ImportTargetNotEmpty extends ImportError {
  readonly code = 'IMPORT_TARGET_NOT_EMPTY';
  constructor(readonly target: string, readonly tables: readonly string[]) {
    super(`${target} already holds station data that no import wrote (in ${tables.join(', ')}): import into an empty database (createdb, then gridhead db import)`);
    this.name = 'ImportTargetNotEmpty';
  }
}

/** The target holds an import of another embedded store (its registry's meters differ). */
export class ImportTargetOtherStation extends ImportError {
  readonly code = 'IMPORT_TARGET_OTHER_STATION';
  constructor(readonly target: string, readonly otherDir: string, readonly startedAt: number) {
    super(`${target} holds another station's import (from ${otherDir}, started ${new Date(startedAt).toISOString()}; its meters differ from this store's): `
      + 'import each station into a database of its own; if this is the same station whose registry changed since, finish that import from the same store or start again on an empty database');
    this.name = 'ImportTargetOtherStation';
  }
}

/** Another `gridhead db import` holds the import lock of this database. */
export class ImportAlreadyRunning extends ImportError {
  readonly code = 'IMPORT_RUNNING';
  constructor(readonly target: string) {
    super(`another gridhead db import is running into ${target}: wait for it to end (or stop it; a later run resumes where it stopped)`);
    this.name = 'ImportAlreadyRunning';
  }
}

/**
 * The import from this store was completed. Running it again is refused rather than merged:
 * the station may have run on PostgreSQL since, handing out ids the embedded store also used.
 */
export class ImportAlreadyDone extends ImportError {
  readonly code = 'IMPORT_ALREADY_DONE';
  constructor(readonly target: string, readonly sourceDir: string, readonly finishedAt: number) {
    super(`${target} already holds this station, imported from ${sourceDir} (completed ${new Date(finishedAt).toISOString()}): nothing to do; `
      + 'to import again, drop and recreate the database first');
    this.name = 'ImportAlreadyDone';
  }
}
