import { defineConfig } from 'vitest/config';

// Benchmarks are plain test files that print `bench: <name> = <value> <unit>` lines.
// They never assert on time; run them with `npm run bench`.
export default defineConfig({
  test: {
    include: ['tests/bench/**/*.bench.ts'],
    testTimeout: 600_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
