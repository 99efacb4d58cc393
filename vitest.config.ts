import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: ['tests/bench/**', 'node_modules/**', 'dist/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Most files wait on sockets, child processes and timers rather than on the CPU: vitest's
    // default (one worker fewer than the cores) runs them one at a time on a 2-core CI machine.
    maxWorkers: 3,
  },
});
