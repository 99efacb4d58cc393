import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli.js';
import { captureCliOutput } from '../helpers/cliOutput.js';

describe('gridhead command line', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('prints its usage for help', async () => {
    const io = captureCliOutput();
    expect(await main(['help'])).toBe(0);
    expect(io.out()).toMatch(/gridhead start \[--config FILE\]/);
  });

  it('exits 2 with every configuration problem on stderr, before starting anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-cli-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'http:\n  port: 99999\nsimulatorz: {}\n');
    const io = captureCliOutput();
    expect(await main(['start', '--config', file])).toBe(2);
    expect(io.err()).toContain(`invalid configuration in ${file}`);
    expect(io.err()).toMatch(/http\.port: /);
    expect(io.err()).toMatch(/simulatorz: unknown key/);
  });

  it('exits 2 on an unknown option or command', async () => {
    const io = captureCliOutput();
    expect(await main(['start', '--colour'])).toBe(2);
    expect(await main(['fly'])).toBe(2);
    expect(io.err()).toMatch(/unknown command "fly"/);
  });

  it('reports a missing configuration file by name', async () => {
    const io = captureCliOutput();
    expect(await main(['sim', '--config', '/nonexistent/gridhead.yaml'])).toBe(2);
    expect(io.err()).toMatch(/\/nonexistent\/gridhead\.yaml/);
  });
});
