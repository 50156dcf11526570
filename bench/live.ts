// `npm run bench:live` (issue #18 §4): asi1-mini's own first-token time and what the gateway adds to it, against
// the real API, direct and through the gateway in the same run, plus the first-speech time a voice user gets.
// Short and polite: a few one-sentence prompts, small max_tokens, one or two turns at a time, a pause after each.
// Needs ASI_ONE_API_KEY; without it, says why it skipped and exits 0. What it sends and what it costs:
// docs/benchmarks/live.md. Prints a report, writes bench/results/live-<timestamp>.json (or --out). Exit code 0
// unless the run could not start (or, with --strict, a check failed).
//
// Options: --turns N (10 per path) --concurrency 1|2 (1) --pause-ms N (2000) --settle-ms N (250) --max-tokens N
//          (64) --timeout-ms N (30000) --base-url URL (ASI_BASE_URL, else https://api.asi1.ai/v1: any
//          OpenAI-compatible endpoint) --out path --strict --verbose

import { parseArgs } from 'node:util';
import { DEFAULT_BASE_URL } from '../src/config.js';
import { benchLog, finishBench, FINISH_OPTIONS, intOption as int } from './lib/focused-bench.js';
import { formatReport } from './live/report.js';
import { runLiveBench, type LiveBenchOptions } from './live/run.js';

const { values } = parseArgs({
  options: {
    turns: { type: 'string' },
    concurrency: { type: 'string' },
    'pause-ms': { type: 'string' },
    'settle-ms': { type: 'string' },
    'max-tokens': { type: 'string' },
    'timeout-ms': { type: 'string' },
    'base-url': { type: 'string' },
    ...FINISH_OPTIONS,
  },
  strict: true,
});

const log = benchLog('live');
const apiKey = process.env.ASI_ONE_API_KEY ?? '';

if (apiKey.trim() === '') {
  process.stdout.write(
    'bench:live skipped: ASI_ONE_API_KEY is not set.\n' +
      'It measures the real asi1-mini API (about 22 short requests, a few tens of thousands of tokens), so it needs ' +
      'your key: ASI_ONE_API_KEY=sk_... npm run bench:live\n' +
      'What it sends and what it costs: docs/benchmarks/live.md\n',
  );
} else {
  const concurrency = int('concurrency', values.concurrency, 1, 1);
  if (concurrency > 2) throw new Error(`--concurrency is 1 or 2 (a polite run against a real API), got ${concurrency}`);
  const options: LiveBenchOptions = {
    baseUrl: values['base-url'] ?? (process.env.ASI_BASE_URL || DEFAULT_BASE_URL),
    apiKey,
    model: 'asi1-mini',
    turns: int('turns', values.turns, 10, 1),
    concurrency,
    pauseMs: int('pause-ms', values['pause-ms'], 2_000, 0),
    settleMs: int('settle-ms', values['settle-ms'], 250, 0),
    maxTokens: int('max-tokens', values['max-tokens'], 64, 1),
    timeoutMs: int('timeout-ms', values['timeout-ms'], 30_000, 1_000),
    verbose: values.verbose,
    log,
  };
  try {
    const results = await runLiveBench(options);
    finishBench('live', results, formatReport(results), { out: values.out, strict: values.strict, log });
  } catch (err) {
    log(`could not run: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
