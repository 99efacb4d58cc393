/**
 * What `gridhead db import` shows: a bar redrawn in place on a terminal, plain lines at most
 * every interval otherwise, and per table what was copied, at what rate, and what was not.
 */
import { describe, expect, it } from 'vitest';
import { ImportProgress } from '../../../src/cli/importProgress.js';

function output(isTTY: boolean) {
  let text = '';
  return { isTTY, write: (s: string) => { text += s; }, text: () => text };
}

describe('import progress', () => {
  it('redraws one bar per table in place on a terminal, with rows/s, and ends it with a summary line', () => {
    let now = 0;
    const out = output(true);
    const progress = new ImportProgress(out, { now: () => now });
    progress.tableStarted('readings', 1_000_000, 0);
    now = 2_000;
    progress.batchCommitted('readings', 500_000);
    now = 4_000;
    progress.tableFinished({ table: 'readings', read: 1_000_000, copied: 999_990, skipped: { 'meter not in the registry': 10 }, earlier: false });
    const text = out.text();
    expect(text).toContain('\r\x1b[2Kreadings               [############------------]  50%     500,000/1,000,000  250,000 rows/s');
    expect(text).toContain('[########################] 100%   1,000,000/1,000,000  250,000 rows/s\n');
    expect(text).toContain('readings: 999,990 of 1,000,000 rows copied in 4.0 s (250,000 rows/s)\n  10 not copied: meter not in the registry\n');
  });

  it('writes plain lines, at most one per interval, when the output is not a terminal', () => {
    let now = 0;
    const out = output(false);
    const progress = new ImportProgress(out, { now: () => now, intervalMs: 5_000 });
    progress.tableStarted('readings', 1_000, 400);
    now = 1_000;
    progress.batchCommitted('readings', 500);
    now = 6_000;
    progress.batchCommitted('readings', 700);
    now = 7_000;
    progress.batchCommitted('readings', 800);
    progress.tableFinished({ table: 'rules', read: 2, copied: 2, skipped: {}, earlier: true });
    expect(out.text()).toBe([
      'readings: 1,000 rows, resuming after 400',
      'readings: 700/1,000 rows (70%), 50 rows/s',
      'rules: copied by an earlier run (2 rows)',
      '',
    ].join('\n'));
    expect(out.text()).not.toContain('\r');
  });
});
