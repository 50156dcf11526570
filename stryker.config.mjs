// Mutation testing of the core modules (issue #15): `npm run mutation`, outside `npm test` because it is slow.
// Stryker changes the code one mutant at a time and runs the unit-level tests that cover it; a mutant no test
// notices "survives". The run fails below `break`. Scores per module are recorded in docs/development.md.
// `npm run mutation -- --mutate src/speech/normalise.ts` runs one module.
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: [
    'src/speech/*.ts',
    'src/upstream/http-errors.ts',
    'src/upstream/sse-decoder.ts',
    'src/upstream/chunk-reader.ts',
    'src/upstream/think-filter.ts',
    'src/session/history.ts',
    'src/session/response-run.ts',
    'src/session/run-state.ts',
    'src/session/reply-record.ts',
    'src/session/tool-step.ts',
    'src/tools/builtin/*.ts',
    'src/transports/rate-limiter.ts',
    'src/transports/frame-budget.ts',
    'src/hosting/json-depth.ts',
  ],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 10_000,
  thresholds: { high: 90, low: 80, break: 80 },
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
