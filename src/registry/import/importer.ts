/**
 * Bulk registry import: areas.csv, terminals.csv or meters.csv (columns: columns.ts) into a
 * running registry, the same for `gridhead registry import` and the API.
 *
 * Streamed: the CSV is read chunk by chunk (csvRecords.ts) and nothing but the current batch
 * is held. Each row is typed and checked against the schema here, then gathered into batches
 * of `batchRows` that the registry checks against the topology, writes in one transaction,
 * applies and announces (Registry.importBatch). A bad row is rejected with its line, column
 * and reason and the others go on; the summary keeps the `maxErrors` rejections of the lowest
 * lines, in line order, and counts the rest. Rows are checked in file order: a parent area must come before its children
 * (in the same batch or an earlier one), as terminals.csv before meters.csv.
 *
 * Idempotent on ids: a row equal to what is stored is counted unchanged and not written; a
 * row that differs updates the entry. A batch ends early before a row that depends on one
 * pending in it (the same id again, or the address of a meter that moves in the batch), so
 * every row is checked against the registry as the rows above it left it.
 */
import type { ImportListener } from '../../storage/import/importer.js';
import type { ImportBatch, ImportBatchOutcome, ImportRow, Registry } from '../registry.js';
import { rowReader, kindOfHeader, type ImportKind, type RowReader, type SeedOf } from './columns.js';
import { csvRecords } from './csvRecords.js';
import { ImportHeaderInvalid, ImportKindUnknown, RegistryImportError } from './errors.js';

/** Rows per batch by default: one store transaction each. */
export const DEFAULT_IMPORT_BATCH_ROWS = 5_000;
/** The bounds of a batch's size: a batch is held in memory, as seeds and as checked entries. */
export const MAX_IMPORT_BATCH_ROWS = 50_000;
/** Rejected rows kept in the summary by default; the rest are counted. */
export const DEFAULT_KEPT_REJECTIONS = 100;

export interface RegistryImportOptions {
  readonly registry: Pick<Registry, 'importBatch' | 'meterAt'>;
  /** Absent: told from the header (kindOfHeader). */
  readonly kind?: ImportKind;
  /**
   * Check and count only: nothing is written. Rows are checked against the registry and the
   * rows above them in their batch only, so a row needing one of an earlier batch (a meter
   * taking an address a meter leaves) is checked without it; areas are checked in batches of
   * MAX_IMPORT_BATCH_ROWS, so their parents above them count.
   */
  readonly dryRun?: boolean;
  readonly batchRows?: number;
  /** Rejected rows kept in the summary; default DEFAULT_KEPT_REJECTIONS. */
  readonly maxErrors?: number;
  /** Progress, for a display; `totalRows` is its estimate of the rows to come. */
  readonly listener?: ImportListener;
  readonly totalRows?: number;
  readonly now?: () => number;
}

export interface RejectedRow {
  /** The 1-based line of the file the row starts on (the header is line 1). */
  readonly line: number;
  /** The column to blame, when one is. */
  readonly column: string | null;
  readonly code: string;
  readonly message: string;
}

export interface RegistryImportSummary {
  readonly kind: ImportKind;
  readonly dryRun: boolean;
  /** Data rows read (the header not counted). */
  readonly read: number;
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly rejected: number;
  /** The rejected rows of the lowest lines, in file order. */
  readonly errors: readonly RejectedRow[];
  /** Rejected rows not listed in `errors`. */
  readonly errorsOmitted: number;
  readonly elapsedMs: number;
  readonly rowsPerSecond: number;
}

export async function importRegistryCsv(source: AsyncIterable<Buffer | string>, options: RegistryImportOptions): Promise<RegistryImportSummary> {
  const now = options.now ?? Date.now;
  const started = now();
  const run = new ImportRun(options);
  try {
    for await (const records of csvRecords(source)) {
      for (const record of records) {
        if (run.reader === undefined) run.start(record.fields);
        else await run.row(record.line, record.fields);
      }
    }
  } catch (err) {
    // The file breaks off (a quote left open, a body over its limit): the rows before it are kept, as the error says.
    if (err instanceof RegistryImportError) await run.flush();
    throw err;
  }
  if (run.reader === undefined) throw new ImportHeaderInvalid('is missing: the file is empty');
  await run.flush();
  return run.summary(now() - started);
}

/** The state of one import: the batch being gathered and the counts so far. */
class ImportRun {
  reader: RowReader<SeedOf[ImportKind]> | undefined;
  private pending: ImportRow<SeedOf[ImportKind]>[] = [];
  private readonly pendingIds = new Set<string>();
  private batchRows: number;
  private readonly maxErrors: number;
  private readonly errors: RejectedRow[] = [];
  private read = 0;
  private created = 0;
  private updated = 0;
  private unchanged = 0;
  private rejected = 0;

  constructor(private readonly options: RegistryImportOptions) {
    this.batchRows = Math.min(MAX_IMPORT_BATCH_ROWS, Math.max(1, options.batchRows ?? DEFAULT_IMPORT_BATCH_ROWS));
    this.maxErrors = options.maxErrors ?? DEFAULT_KEPT_REJECTIONS;
  }

  start(header: readonly string[]): void {
    const names = header.map((h) => h.trim());
    const kind = this.options.kind ?? kindOfHeader(names);
    if (kind === undefined) throw new ImportKindUnknown(names);
    this.reader = rowReader(kind, names);
    // A dry run applies nothing, so a child area is checked against its parent only inside one batch: the largest batch covers a fleet's areas.
    if (kind === 'areas' && this.options.dryRun === true) this.batchRows = MAX_IMPORT_BATCH_ROWS;
    this.options.listener?.tableStarted?.(kind, this.options.totalRows ?? 0, 0);
  }

  async row(line: number, fields: readonly string[]): Promise<void> {
    const reader = this.reader;
    if (reader === undefined) return;
    this.read++;
    const outcome = reader.read(fields);
    if (!outcome.ok) {
      this.reject({ line, column: outcome.problem.column, code: 'VALIDATION', message: outcome.problem.message });
      return;
    }
    if (this.dependsOnPending(reader.kind, outcome.seed)) await this.flush();
    this.pending.push({ line, seed: outcome.seed });
    this.pendingIds.add(outcome.seed.id);
    if (this.pending.length >= this.batchRows) await this.flush();
  }

  async flush(): Promise<void> {
    const reader = this.reader;
    if (reader === undefined || this.pending.length === 0) return;
    const outcome = await this.options.registry.importBatch({ kind: reader.kind, rows: this.pending } as ImportBatch, { dryRun: this.options.dryRun === true });
    this.pending = [];
    this.pendingIds.clear();
    this.count(outcome);
    this.options.listener?.batchCommitted?.(reader.kind, this.read);
  }

  summary(elapsedMs: number): RegistryImportSummary {
    const kind = this.reader?.kind ?? 'meters';
    this.options.listener?.tableFinished?.({
      table: kind, read: this.read, copied: this.created + this.updated, earlier: false,
      skipped: { ...(this.unchanged > 0 ? { 'unchanged (stored as given)': this.unchanged } : {}), ...(this.rejected > 0 ? { rejected: this.rejected } : {}) },
    });
    return {
      kind, dryRun: this.options.dryRun === true, read: this.read, created: this.created, updated: this.updated, unchanged: this.unchanged,
      rejected: this.rejected, errors: this.errors, errorsOmitted: this.rejected - this.errors.length, elapsedMs,
      rowsPerSecond: elapsedMs <= 0 ? 0 : Math.round((this.read / elapsedMs) * 1000),
    };
  }

  /** A row for an id pending in the batch, or taking the address of a meter that moves in it, needs the batch applied first. */
  private dependsOnPending(kind: ImportKind, seed: SeedOf[ImportKind]): boolean {
    if (this.pendingIds.has(seed.id)) return true;
    if (kind !== 'meters') return false;
    const m = seed as SeedOf['meters'];
    const holder = this.options.registry.meterAt(m.terminalId, m.address);
    return holder !== undefined && holder.id !== m.id && this.pendingIds.has(holder.id);
  }

  private count(outcome: ImportBatchOutcome): void {
    this.created += outcome.created;
    this.updated += outcome.updated;
    this.unchanged += outcome.unchanged;
    for (const r of outcome.rejected) this.reject({ line: r.line, column: r.field, code: r.code, message: r.message });
  }

  /**
   * Keeps the rejections of the lowest lines, in line order: a batch's rejections are found after
   * the type errors of rows below it, so the first found are not the first in the file.
   */
  private reject(row: RejectedRow): void {
    this.rejected++;
    const errors = this.errors;
    if (this.maxErrors <= 0) return;
    const full = errors.length >= this.maxErrors;
    const last = errors[errors.length - 1];
    if (full && last !== undefined && last.line <= row.line) return;
    // After the rows of the same line already kept: equal lines stay in the order found.
    let lo = 0;
    let hi = errors.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((errors[mid]?.line ?? 0) <= row.line) lo = mid + 1;
      else hi = mid;
    }
    errors.splice(lo, 0, row);
    if (full) errors.pop();
  }
}
