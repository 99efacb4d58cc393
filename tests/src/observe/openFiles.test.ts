import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/observe/logger.js';
import { checkOpenFiles, OTHER_DESCRIPTORS, parseOpenFilesLimit } from '../../../src/observe/openFiles.js';

const run = promisify(execFile);

function captured(): { lines: Record<string, unknown>[]; logger: ReturnType<typeof createLogger> } {
  const lines: Record<string, unknown>[] = [];
  return { lines, logger: createLogger('info', { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>); } }) };
}

describe('open-files limit', () => {
  it.runIf(process.platform === 'linux')('reads a Node process started with a low soft limit as raised to its hard limit', async () => {
    // The station counts on Node raising the soft limit at start: only the hard one needs setting.
    const { stdout } = await run('sh', ['-c', `ulimit -Sn 256 && exec "${process.execPath}" -e "process.stdout.write(require('fs').readFileSync('/proc/self/limits','utf8'))"`]);
    const { stdout: hard } = await run('sh', ['-c', 'ulimit -Hn']);
    const limit = parseOpenFilesLimit(stdout);

    expect(limit).toBeDefined();
    expect(limit?.hard).toBe(hard.trim() === 'unlimited' ? Number.POSITIVE_INFINITY : Number(hard));
    expect(limit?.soft).toBe(limit?.hard);
  });

  it('reads "unlimited" as no limit, and a text without the line as unknown', () => {
    expect(parseOpenFilesLimit('Max open files            unlimited            unlimited            files\n')).toEqual({ soft: Infinity, hard: Infinity });
    expect(parseOpenFilesLimit('Max processes 100 100 processes\n')).toBeUndefined();
  });

  it('warns with the numbers when the sessions and the other descriptors exceed the soft limit', () => {
    const { lines, logger } = captured();
    const fits = checkOpenFiles({ soft: 1_024, hard: 4_096 }, [{ what: 'collectionSessions', count: 4_096 }], logger);

    expect(fits).toBe(false);
    expect(lines).toEqual([expect.objectContaining({ level: 40, soft: 1_024, hard: 4_096, needed: 4_096 + OTHER_DESCRIPTORS, collectionSessions: 4_096 })]);
    expect(lines[0]?.msg).toMatch(/LimitNOFILE/);
  });

  it('logs the limit without a warning when everything fits', () => {
    const { lines, logger } = captured();
    expect(checkOpenFiles({ soft: 65_536, hard: 65_536 }, [{ what: 'collectionSessions', count: 4_096 }], logger)).toBe(true);
    expect(lines).toEqual([expect.objectContaining({ level: 30, msg: 'open-files limit', soft: 65_536 })]);
  });
});
