/**
 * What `main()` of src/cli.ts writes, for tests that run a command in-process: stdout and
 * stderr are captured instead of printed. The spies stay until `vi.restoreAllMocks()`, which
 * each such test file calls after every test.
 */
import { vi } from 'vitest';

export interface CliOutput {
  out(): string;
  err(): string;
}

export function captureCliOutput(): CliOutput {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  return { out: () => out, err: () => err };
}
