import { defineConfig } from 'vitest/config';

// Low timeouts: a hang should fail fast rather than stall CI. Tests wait on events, never on sleeps.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'packages/client/test/**/*.test.ts'],
    testTimeout: 10_000,
    hookTimeout: 10_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
