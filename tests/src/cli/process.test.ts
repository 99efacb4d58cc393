/**
 * The real `gridhead` process (bin/gridhead.js over the built CLI): what a field engineer's
 * shell sees, and which modules a short-lived command loads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCli, type CliInstall } from '../../helpers/cli.js';
import { freePort } from '../../helpers/victoriaMetrics.js';

let cli: CliInstall;

beforeAll(async () => {
  cli = await installCli();
}, 60_000);

afterAll(async () => {
  await cli.dispose();
});

/** Package names and repository folders of the loaded modules, e.g. `fastify`, `src/config`. */
function origins(modules: readonly string[], root: string): Set<string> {
  const out = new Set<string>();
  for (const url of modules) {
    const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (pkg?.[1] !== undefined) out.add(pkg[1]);
    else if (url.includes(`${root}/dist/`)) out.add(url.slice(url.indexOf(`${root}/dist/`) + root.length + 6).split('/').slice(0, 2).join('/'));
  }
  return out;
}

describe('the gridhead process', () => {
  it('loads only the DLMS stack and its own command for `dlms get`, none of the station', async () => {
    const run = await cli.run(['dlms', 'get', '--host', '127.0.0.1', '--port', String(await freePort()), '--framing', 'wrapper', '1.0.1.8.0.255:2'], { traceModules: true });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/cannot connect/);
    const loaded = origins(run.modules, cli.root);
    expect(loaded).toContain('protocols/dlms');
    expect(loaded).toContain('src/cli');
    // No package at all: the configuration schema (typebox, yaml), the logger (pino), the
    // station's server, store and OPC UA (fastify, better-sqlite3, node-opcua) stay unloaded.
    expect([...loaded].filter((o) => !o.startsWith('protocols/') && !o.startsWith('src/cli'))).toEqual([]);
  });

  it('loads no package and no station module for `dlms --help`', async () => {
    const run = await cli.run(['dlms', '--help'], { traceModules: true });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/gridhead dlms get/);
    expect([...origins(run.modules, cli.root)].filter((o) => !o.startsWith('protocols/') && !o.startsWith('src/cli'))).toEqual([]);
  });

  it('prints its usage on stderr and exits 2 when run without a command', async () => {
    const run = await cli.run([]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^usage:\n {2}gridhead start/);
  });
});
