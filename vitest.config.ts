import { defineConfig } from 'vitest/config';

/**
 * Files that run whole station processes and time their take-overs, kills and restarts (take
 * over within 10 s, a stall noticed within its timeout): they run after the others, one at a
 * time, with the machine to themselves, so the windows they check measure the station and not
 * the test files beside them.
 */
const PROCESS_FILES = [
  'tests/integration/cluster-*.test.ts',
  'tests/integration/mqtt-crash.*.test.ts',
  'tests/integration/cli-startup.test.ts',
  'tests/integration/postgres-*.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'processes', include: PROCESS_FILES, maxWorkers: 1, sequence: { groupOrder: 1 } } },
      // The rest wait mostly on sockets, child processes and timers, not on the CPU: vitest's
      // default (one worker fewer than the cores) would run them one at a time on a 2-core CI machine.
      {
        extends: true,
        test: { name: 'files', include: ['tests/**/*.test.ts'], exclude: ['tests/bench/**', 'node_modules/**', 'dist/**', ...PROCESS_FILES], maxWorkers: 3, sequence: { groupOrder: 0 } },
      },
    ],
  },
});
