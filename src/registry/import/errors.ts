/**
 * Why a registry import stops as a whole, as errors with a stable `code`; each message says
 * what to change. A bad row does not stop an import: it is rejected with its line, column and
 * reason (RejectedRow in importer.ts) and the rows around it go on.
 */

export type RegistryImportErrorCode =
  | 'REGISTRY_IMPORT_HEADER'
  | 'REGISTRY_IMPORT_KIND'
  | 'REGISTRY_IMPORT_RECORD_TOO_LONG'
  | 'REGISTRY_IMPORT_UNTERMINATED_QUOTE'
  | 'REGISTRY_IMPORT_TOO_LARGE'
  | 'REGISTRY_IMPORT_STORE_BUSY';

export abstract class RegistryImportError extends Error {
  abstract readonly code: RegistryImportErrorCode;
  /** The API's answer (the name Fastify's error handler reads): the CSV cannot be imported (400), or is too large (413); the store is busy (409). */
  readonly statusCode: number = 400;
}

/** The header row is missing, names a column twice, a column the kind does not have, or lacks a required one. */
export class ImportHeaderInvalid extends RegistryImportError {
  readonly code = 'REGISTRY_IMPORT_HEADER';
  constructor(readonly reason: string) {
    super(`the header row (line 1) ${reason}`);
    this.name = 'ImportHeaderInvalid';
  }
}

/** The kind was neither given nor recognisable from the header. */
export class ImportKindUnknown extends RegistryImportError {
  readonly code = 'REGISTRY_IMPORT_KIND';
  constructor(header: readonly string[]) {
    super(`cannot tell areas, terminals or meters from the header (${header.join(',')}): a meters file has a terminalId column, `
      + 'a terminals file a protocol column, an areas file a kind column; or give the kind (--kind)');
    this.name = 'ImportKindUnknown';
  }
}

export class CsvRecordTooLong extends RegistryImportError {
  readonly code = 'REGISTRY_IMPORT_RECORD_TOO_LONG';
  constructor(readonly line: number, readonly limit: number) {
    super(`line ${line}: a record longer than ${limit.toLocaleString('en-US')} characters (a quote left open?); rows before it were imported`);
    this.name = 'CsvRecordTooLong';
  }
}

export class CsvUnterminatedQuote extends RegistryImportError {
  readonly code = 'REGISTRY_IMPORT_UNTERMINATED_QUOTE';
  constructor(readonly line: number) {
    super(`line ${line}: a quoted field is not closed before the end of the file; rows before it were imported`);
    this.name = 'CsvUnterminatedQuote';
  }
}

/** An API body above `http.registryImportLimitBytes`; the rows read before the limit were imported. */
export class ImportBodyTooLarge extends RegistryImportError {
  readonly code = 'REGISTRY_IMPORT_TOO_LARGE';
  override readonly statusCode = 413;
  constructor(readonly limit: number) {
    super(`the CSV body is larger than http.registryImportLimitBytes (${limit.toLocaleString('en-US')} bytes): split the file, `
      + 'or raise the limit; rows read before the limit were imported (an import is idempotent: sending them again changes nothing)');
    this.name = 'ImportBodyTooLarge';
  }
}

/** `gridhead registry import` on the embedded store while a station has it open: SQLite has one writer, the station. */
export class ImportStoreBusy extends RegistryImportError {
  readonly code = 'REGISTRY_IMPORT_STORE_BUSY';
  override readonly statusCode = 409;
  constructor(readonly file: string) {
    super(`${file} is open in a running station: stop it first, or import through its API `
      + '(POST /api/v1/registry/import/{areas|terminals|meters}, role admin), which updates the running station as well');
    this.name = 'ImportStoreBusy';
  }
}
