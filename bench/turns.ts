// `npm run bench:turns`: what speculation (protocol 1.2's turn.interim) buys and costs. A seeded replay of
// Chrome-like interim/final sequences is played through the gateway (a fresh process per pass, in front of the
// in-process simulator, TTFT 300 ms) three times: speculation off, speculation on, and server commit. Per
// committed turn it measures committed → first delta and → first speech from the client's side, adoption,
// upstream requests per committed turn (simulator and gateway /metrics), and that no tool ran for a discarded
// speculation. Prints a report, writes bench/results/turns-<timestamp>.json (or --out), checks the targets.
// Exit code 0 whatever the targets say, unless --strict.
//
// Options: --sequences N (240) --sessions N (16) --seed N (1) --stable-ms N (500, server commit)
//          --ttft N (300) --itl N (25) --quick (48 sequences, 8 sessions) --parallel-passes --out path
//          --strict --verbose

import { parseArgs } from 'node:util';
import { benchLog, finishBench, FINISH_OPTIONS, intOption as int } from './lib/focused-bench.js';
import { formatReport } from './turns/report.js';
import { DEFAULT_OPTIONS, runTurnsBench, type TurnsBenchOptions } from './turns/run.js';

const { values } = parseArgs({
  options: {
    sequences: { type: 'string' },
    sessions: { type: 'string' },
    seed: { type: 'string' },
    'stable-ms': { type: 'string' },
    ttft: { type: 'string' },
    itl: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'parallel-passes': { type: 'boolean', default: false },
    ...FINISH_OPTIONS,
  },
  strict: true,
});

const log = benchLog('turns');
const options: TurnsBenchOptions = {
  sequences: int('sequences', values.sequences, values.quick ? 48 : DEFAULT_OPTIONS.sequences, 1),
  sessions: int('sessions', values.sessions, values.quick ? 8 : DEFAULT_OPTIONS.sessions, 1),
  seed: int('seed', values.seed, DEFAULT_OPTIONS.seed, 0),
  stableMs: int('stable-ms', values['stable-ms'], DEFAULT_OPTIONS.stableMs, 200),
  ttftMs: int('ttft', values.ttft, DEFAULT_OPTIONS.ttftMs, 0),
  interTokenMs: int('itl', values.itl, DEFAULT_OPTIONS.interTokenMs, 0),
  parallelPasses: values['parallel-passes'],
  verbose: values.verbose,
  log,
};

const results = await runTurnsBench(options);
finishBench('turns', results, formatReport(results), { out: values.out, strict: values.strict, log });
