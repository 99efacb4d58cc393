/**
 * CLI start-up: wall time of `gridhead dlms --help` and of `gridhead dlms get` against a
 * closed port (connection refused at once), each beside a bare `node -e 0`; the overhead is
 * the difference of the medians. Target (docs: DESIGN.md): ≤ 150 ms over bare node.
 *
 * The CLI is installed into a temp folder (tests/helpers/cli.ts) and run as an installed
 * `gridhead` runs: bin/gridhead.js over compiled JavaScript.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { installCli, type CliInstall } from '../helpers/cli.js';
import { freePort } from '../helpers/victoriaMetrics.js';
import { percentile } from './stats.js';

const RUNS = 20;
let cli: CliInstall | undefined;

afterAll(async () => {
  await cli?.dispose();
});

/**
 * Median wall time of each command over RUNS rounds, after one unmeasured warm-up round. The
 * commands take turns within a round, so a load change on the shared machine hits them alike.
 */
function medianMs(commands: readonly (readonly string[])[]): number[] {
  const times = commands.map((): number[] => []);
  for (let round = 0; round <= RUNS; round++) {
    for (const [i, args] of commands.entries()) {
      const start = process.hrtime.bigint();
      const run = spawnSync(process.execPath, args, { stdio: 'ignore' });
      if (run.error !== undefined) throw run.error;
      if (round > 0) times[i]?.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  }
  return times.map((t) => percentile(t, 0.5));
}

it('measures the start-up overhead of gridhead dlms', async () => {
  cli = await installCli();
  const port = await freePort(); // nobody listens on it: the connection is refused at once
  // the figures mean "the command ran" only if it did
  expect(spawnSync(process.execPath, [cli.bin, 'dlms', '--help']).status).toBe(0);
  const get = [cli.bin, 'dlms', 'get', '--host', '127.0.0.1', '--port', String(port), '--framing', 'wrapper', '1.0.1.8.0.255:2'];
  expect(spawnSync(process.execPath, get).status).toBe(3);

  const [bare = NaN, help = NaN, refused = NaN] = medianMs([['-e', '0'], [cli.bin, 'dlms', '--help'], get]);
  console.log(`bench: cli.node_bare = ${bare.toFixed(1)} ms`);
  console.log(`bench: cli.dlms_help = ${help.toFixed(1)} ms`);
  console.log(`bench: cli.dlms_help_overhead = ${(help - bare).toFixed(1)} ms`);
  console.log(`bench: cli.dlms_get_refused_overhead = ${(refused - bare).toFixed(1)} ms`);
});
