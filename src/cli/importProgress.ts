/**
 * What `gridhead db import` shows while it copies: on a terminal, one bar per table redrawn
 * in place with rows/s; otherwise (a log file, a pipe) a plain line per table every
 * `intervalMs`, so a log stays readable and still shows the import is moving.
 */
import type { ImportListener, TableResult } from '../storage/import/importer.js';

export interface ProgressOutput {
  write(s: string): unknown;
  /** True on a terminal (`process.stdout.isTTY`). */
  readonly isTTY?: boolean;
}

export interface ImportProgressOptions {
  readonly now?: () => number;
  /** Plain output: at most one line per table this often. Default 5 s. */
  readonly intervalMs?: number;
}

/** A terminal is redrawn at most this often: faster is invisible and costs the copy. */
const REDRAW_MS = 100;
const BAR_WIDTH = 24;

interface Running {
  readonly table: string;
  readonly total: number;
  /** Rows read by earlier runs: not counted in this run's rate. */
  readonly readBefore: number;
  readonly startedAt: number;
  read: number;
  shownAt: number;
}

export class ImportProgress implements ImportListener {
  private running: Running | undefined;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly tty: boolean;

  constructor(private readonly out: ProgressOutput, options: ImportProgressOptions = {}) {
    this.now = options.now ?? Date.now;
    this.intervalMs = options.intervalMs ?? 5_000;
    this.tty = out.isTTY === true;
  }

  tableStarted(table: string, total: number, read: number): void {
    const t = this.now();
    this.running = { table, total, readBefore: read, startedAt: t, read, shownAt: t };
    if (this.tty) this.draw(this.running);
    else this.out.write(`${table}: ${count(total)} rows${read > 0 ? `, resuming after ${count(read)}` : ''}\n`);
  }

  batchCommitted(table: string, read: number): void {
    const r = this.running;
    if (r?.table !== table) return;
    r.read = read;
    const t = this.now();
    if (t - r.shownAt < (this.tty ? REDRAW_MS : this.intervalMs)) return;
    r.shownAt = t;
    if (this.tty) this.draw(r);
    else this.out.write(`${table}: ${count(read)}/${count(r.total)} rows (${percent(read, r.total)}), ${count(rate(r, t))} rows/s\n`);
  }

  tableFinished(result: TableResult): void {
    const r = this.running?.table === result.table ? this.running : undefined;
    this.running = undefined;
    if (result.earlier) {
      this.out.write(`${result.table}: copied by an earlier run (${count(result.copied)} rows)\n`);
      return;
    }
    const t = this.now();
    if (r !== undefined && this.tty) {
      r.read = result.read;
      this.draw(r);
      this.out.write('\n');
    }
    const seconds = r === undefined ? 0 : (t - r.startedAt) / 1000;
    const speed = r === undefined ? '' : ` in ${seconds.toFixed(1)} s (${count(rate(r, t))} rows/s)`;
    this.out.write(`${result.table}: ${count(result.copied)} of ${count(result.read)} rows copied${speed}\n`);
    for (const [reason, n] of Object.entries(result.skipped)) this.out.write(`  ${count(n)} not copied: ${reason}\n`);
  }

  private draw(r: Running): void {
    const share = r.total === 0 ? 1 : Math.min(1, r.read / r.total);
    const filled = Math.round(share * BAR_WIDTH);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}`;
    // \r and erase-line: the bar is redrawn in place on the terminal.
    this.out.write(`\r\x1b[2K${r.table.padEnd(22)} [${bar}] ${percent(r.read, r.total).padStart(4)} ${count(r.read).padStart(11)}/${count(r.total)}  ${count(rate(r, this.now()))} rows/s`);
  }
}

function rate(r: Running, t: number): number {
  const seconds = (t - r.startedAt) / 1000;
  return seconds <= 0 ? 0 : Math.round((r.read - r.readBefore) / seconds);
}

/** n of total as a whole percentage, 100 % for nothing to do. */
export function percent(n: number, total: number): string {
  return `${total === 0 ? 100 : Math.min(100, Math.floor((n / total) * 100))}%`;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}
