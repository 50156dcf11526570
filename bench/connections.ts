// `npm run bench:connections`: does a session's first turn pay for an upstream connection (issue #18 §1)? The
// simulator serves TLS with a 50 ms cost per new connection and a first-token time of 0, so the client's
// `turn` → first response.delta is the latency the gateway adds. Four passes in one run, each on its own
// simulator and gateway process: HTTP/1.1 and HTTP/2 upstream, the connection warmer on and off (the baseline).
// Sessions open in a burst, speak 200–800 ms after session.ready, then a few later turns after think gaps; at 1
// and 100 concurrent sessions, every round after a quiet gap that lets idle connections expire. Prints a
// report, writes bench/results/connections-<timestamp>.json (or --out), checks the targets. Exit code 0 whatever
// the targets say, unless --strict.
//
// Options: --sessions 1,100 (the levels: concurrent sessions per round) --turns N (4) --first-turns N (12: rounds
//          per level = ceil(N / sessions)) --idle-ms N (5500) --cost N (50) --itl N (20) --upstream-idle-ms N
//          (5000; 0: no idle relay) --passes "h1 warmer on,…" --seed N (1) --quick (levels 1,25, 4 first turns,
//          3 turns) --parallel-passes (the smoke test) --out path --strict --verbose

import { parseArgs } from 'node:util';
import { benchLog, finishBench, FINISH_OPTIONS, intOption as int } from './lib/focused-bench.js';
import { formatReport } from './connections/report.js';
import { DEFAULT_WORKLOAD, runConnectionsBench, type ConnectionsBenchOptions } from './connections/run.js';
import { PASS_SETUPS } from './connections/stack.js';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string' },
    turns: { type: 'string' },
    'first-turns': { type: 'string' },
    'idle-ms': { type: 'string' },
    cost: { type: 'string' },
    itl: { type: 'string' },
    'upstream-idle-ms': { type: 'string' },
    passes: { type: 'string' },
    seed: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'parallel-passes': { type: 'boolean', default: false },
    ...FINISH_OPTIONS,
  },
  strict: true,
});

function levels(value: string | undefined): number[] {
  if (value === undefined) return values.quick ? [1, 25] : [1, 100];
  return value.split(',').map((level) => int('sessions', level.trim(), 1, 1));
}

function passes(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const ids = value.split(',').map((id) => id.trim());
  const unknown = ids.filter((id) => !PASS_SETUPS.some((s) => s.id === id));
  if (unknown.length > 0)
    throw new Error(`--passes: unknown ${unknown.join(', ')} (known: ${PASS_SETUPS.map((s) => s.id).join(', ')})`);
  return ids;
}

const log = benchLog('connections');
const chosen = passes(values.passes);
const options: ConnectionsBenchOptions = {
  levels: levels(values.sessions),
  turns: int('turns', values.turns, values.quick ? 3 : 4, 2),
  firstTurns: int('first-turns', values['first-turns'], values.quick ? 4 : 12, 1),
  idleMs: int('idle-ms', values['idle-ms'], 5_500, 0),
  seed: int('seed', values.seed, 1, 0),
  workload: {
    ...DEFAULT_WORKLOAD,
    connectionCostMs: int('cost', values.cost, DEFAULT_WORKLOAD.connectionCostMs, 0),
    interTokenMs: int('itl', values.itl, DEFAULT_WORKLOAD.interTokenMs, 0),
    upstreamIdleMs: int('upstream-idle-ms', values['upstream-idle-ms'], DEFAULT_WORKLOAD.upstreamIdleMs, 0),
  },
  ...(chosen === undefined ? {} : { passes: chosen }),
  parallelPasses: values['parallel-passes'],
  verbose: values.verbose,
  log,
};

const results = await runConnectionsBench(options);
finishBench('connections', results, formatReport(results), { out: values.out, strict: values.strict, log });
