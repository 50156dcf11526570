import { defineConfig } from 'vitest/config';

// The unit-level tests mutation testing runs (stryker.config.mjs): the core modules' own tests, no browser, no
// Redis, no spawned processes, so each mutant is judged in seconds.
export default defineConfig({
  test: {
    include: [
      'test/session/**/*.test.ts',
      'test/upstream/**/*.test.ts',
      'test/transports/rate-limiter.test.ts',
      'test/speech/**/*.test.ts',
      'test/tools/**/*.test.ts',
      'test/transports/robustness-units.test.ts',
    ],
    // Tests that start the whole gateway or real HTTP servers: slow, and the modules have unit tests of their own.
    exclude: [
      'test/tools/tools.test.ts',
      'test/tools/tools-module.test.ts',
      'test/upstream/awkward-*.test.ts',
      'test/upstream/client-*.test.ts',
      'test/upstream/think-tags.test.ts',
    ],
    testTimeout: 10_000,
    pool: 'forks',
  },
});
