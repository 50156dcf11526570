// `npm run bench:tracing` (issue #19): what OpenTelemetry tracing costs. Two gateway processes in front of the
// simulator (TTFT 300 ms, 20 ms/token, 60 tokens, 2 s think, a barge-in every 4th turn), one without tracing and
// one exporting OTLP/HTTP to a sink in this process, take the same load in alternating rounds. Per mode: client
// first-token latency p50/p99, the gateway's CPU per 1,000 deltas and per turn; what tracing adds (target: under
// 1 ms per turn, first token and CPU) and how many spans the sink received (none: flagged). Prints a report,
// writes bench/results/tracing-<timestamp>.json (or --out). Exit code 0 whatever the targets say, unless --strict.
//
// Options: --sessions N (50 per gateway) --rounds N (4) --window-s N (15) --max-turns N (0; > 0: smoke, each
//          session stops after N turns and every turn counts) --bsp-delay-ms N (500) --out path --strict --verbose

import { parseArgs } from 'node:util';
import { benchLog, finishBench, FINISH_OPTIONS, intOption as int } from './lib/focused-bench.js';
import { formatReport } from './tracing/report.js';
import { runTracingBench, type TracingBenchOptions } from './tracing/run.js';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string' },
    rounds: { type: 'string' },
    'window-s': { type: 'string' },
    'max-turns': { type: 'string' },
    'bsp-delay-ms': { type: 'string' },
    ...FINISH_OPTIONS,
  },
  strict: true,
});

const log = benchLog('tracing');
const options: TracingBenchOptions = {
  sessions: int('sessions', values.sessions, 50, 1),
  rounds: int('rounds', values.rounds, 4, 1),
  windowMs: int('window-s', values['window-s'], 15, 1) * 1000,
  maxTurns: int('max-turns', values['max-turns'], 0, 0),
  bspDelayMs: int('bsp-delay-ms', values['bsp-delay-ms'], 500, 1),
  verbose: values.verbose,
  log,
};

const results = await runTracingBench(options);
finishBench('tracing', results, formatReport(results), { out: values.out, strict: values.strict, log });
