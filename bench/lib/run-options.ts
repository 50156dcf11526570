// `bench/run.ts`'s command line and the settings derived from it: mode, levels, idle sessions, workload,
// measurement windows, and what each measurement option allows.

import { parseArgs } from 'node:util';
import type { HeapSampleMode } from './heap-sample.js';
import { pairEntryOf } from './paired.js';
import { PORTKEY_VERSION } from './portkey.js';
import { WORKLOAD } from './workload.js';

/** "Not ours" machine CPU (all cores = 100) above which a phase counts as disturbed by other work. */
export const OTHER_CPU_LIMIT = 10;
/** The capacity sweep's default schedule of concurrent sessions (`--sweep`). */
export const SWEEP_STEPS = [50, 100, 200, 300, 400, 600, 800, 1000, 1300, 1600, 2000];
const USAGE = `usage: tsx bench/run.ts [--quick | --smoke] [options]
  --levels 1,100,1000     concurrent sessions per level (default 1,100,1000, none with --sweep or --redis;
                          smoke: 2)
  --idle 10000            idle sessions for the memory phase (0 skips it; smoke: 10)
  --measure-s N           measurement window per phase, seconds (default 40/20/30 full, 4/5/6 quick; with
                          --sweep or --redis 8, 10 from 1,000 sessions, longer below 150 for ~300 turns)
  --sweep                 capacity: raise the sessions step by step on every path (direct, gateway, and
                          --floor and --peer when given) until a path's added first-token p99 passes --knee-ms;
                          reports each path's knee, the CPU there and the cost per 1,000 sessions
  --sweep-steps 50,100,…  the sweep's schedule (default ${SWEEP_STEPS.join(',')}; smoke: 2,4)
  --knee-ms 5             the sweep's limit on added first-token p99 (default 5)
  --redis                 scale-out: at --redis-sessions, CPU per delta of one gateway in memory, one with
                          REDIS_URL and two with REDIS_URL sharing the load, plus redis-server's own CPU
  --redis-sessions 400    total concurrent sessions of each scale-out configuration (default 400; smoke: 2)
  --tokens N              tokens per reply (default ${WORKLOAD.tokens}; smoke: 10); a barge-in comes after a third of them,
                          at most ${WORKLOAD.cancelAfterChunks} (few tokens put a turn's own work in front: its start, call and end)
  --think-ms N            a session's pause between a reply's end and its next turn (default ${WORKLOAD.thinkMs}; smoke: 50)
  --workers N             load-generator processes at >= 500 sessions (default 3)
  --peer portkey          also run every level through Portkey ${PORTKEY_VERSION} (installed into --peer-dir)
  --peer-dir DIR          default /tmp/portkey-bench
  --floor                 also run every level through bench/floor-relay.ts (the least a WS → SSE relay does)
  --rounds N              with --floor: measure the gateway and the floor relay N times at each level, alternated
                          (every other round floor first), and report the median of the N ratios of their CPU per
                          delta (default 1); with --pair-entry: N fresh pairs per level, the two builds swapping
                          places every other round, and the geometric mean of the N ratios (use an even N, so
                          that each build holds each place as often)
  --cpu-prof              run each gateway with --cpu-prof (one profile per gateway process; the largest level's
                          is summarised in the results), and the floor relay (floor/, the whole run), the two
                          compared per delta in the results
  --gateway-env K=V       extra gateway environment (repeatable), e.g. UPSTREAM_CONNECTIONS=2048
  --node-flag=FLAG        a Node or V8 option for every relay of the run, gateway, floor relay and peer alike
                          (repeatable; with "=", as the value starts with --), e.g. --node-flag=--single-threaded-gc,
                          which NODE_OPTIONS refuses
  --paths direct,gateway  run only these paths (debugging; the differences need both)
  --probe-writes          count the gateway's socket writes and the wall time inside them (diagnosis)
  --probe-upstream        count the proxy's upstream connects and time each request from dispatch to its headers
                          being written, on fresh and on reused sockets (diagnosis; undici proxies only)
  --heap-sample MODE      allocated or promoted: V8's GC profiler (bytes the scavenges promoted, GC time) and its
                          sampling heap profiler (bytes by module; promoted: what no scavenge freed) in every proxy
                          over each window, per delta, the proxies side by side (diagnosis: sampling slows them, so
                          the run's latency and CPU figures do not count)
  --from-src              run the gateway from src/ through tsx instead of dist/ (smoke default)
  --no-build              do not rebuild dist/ when it is older than src/
  --gateway-entry FILE    run this server.js instead of dist/src/server.js (A/B against another build)
  --pair-entry FILE       paired A/B: each level's gateway phase runs the run's build and this server.js side by side,
                          half the sessions each, and reports each one's CPU per delta over the same window and their
                          ratio (levels of 2 or more sessions; not with --floor or the probes and profilers)
  --attempts N            re-run a phase while other work on the host took > ${OTHER_CPU_LIMIT} % CPU during it,
                          keeping the cleanest attempt (default 2; smoke: 1)
  --out-dir DIR           where to write results (default bench/results)
  --verbose               echo the gateway's and the peer's output`;

export const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);

/** The parsed options; prints USAGE and exits on --help. */
export function parseBenchArgs() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      sweep: { type: 'boolean', default: false },
      'sweep-steps': { type: 'string' },
      'knee-ms': { type: 'string', default: '5' },
      redis: { type: 'boolean', default: false },
      'redis-sessions': { type: 'string' },
      smoke: { type: 'boolean', default: false },
      levels: { type: 'string' },
      idle: { type: 'string' },
      'measure-s': { type: 'string' },
      tokens: { type: 'string' },
      'think-ms': { type: 'string' },
      workers: { type: 'string', default: '3' },
      peer: { type: 'string' },
      'peer-dir': { type: 'string', default: '/tmp/portkey-bench' },
      'cpu-prof': { type: 'boolean', default: false },
      'gateway-env': { type: 'string', multiple: true, default: [] },
      'node-flag': { type: 'string', multiple: true, default: [] },
      paths: { type: 'string' },
      'probe-writes': { type: 'boolean', default: false },
      'probe-upstream': { type: 'boolean', default: false },
      'heap-sample': { type: 'string' },
      floor: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      attempts: { type: 'string' },
      'from-src': { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
      'gateway-entry': { type: 'string' },
      'pair-entry': { type: 'string' },
      'out-dir': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  return values;
}

export type BenchArgs = ReturnType<typeof parseBenchArgs>;

/** The workload every session runs (WORKLOAD, or a tiny one for --smoke). */
export interface BenchWorkload {
  ttftMs: number;
  itlMs: number;
  tokens: number;
  thinkMs: number;
  cancelEvery: number;
  cancelAfterChunks: number;
}

export interface BenchSettings {
  mode: 'smoke' | 'quick' | 'full';
  smoke: boolean;
  levels: number[];
  /** Lowered by fitToFileLimit when the open-file limit is too low for it. */
  idleSessions: number;
  workload: BenchWorkload;
  /** One turn of the workload: TTFT, the tokens, and the think time (the ramp of a phase). */
  cycleMs: number;
  measureMsFor: (sessions: number) => number;
  /** --sweep: the schedule of concurrent sessions and the knee's limit on added first-token p99 (ms). */
  sweep: { steps: number[]; kneeMs: number } | null;
  /** --redis: the total concurrent sessions of each scale-out comparison. */
  redisSessions: number[] | null;
  fromSrc: boolean;
  onlyPaths: string[] | undefined;
  attempts: number;
  /** --rounds: gateway and floor phase pairs per level (more than 1 only with --floor and levels to run). */
  rounds: number;
  /** --heap-sample: what every proxy's probe samples over each window, or null. */
  heapSample: HeapSampleMode | null;
  /** --node-flag: Node or V8 options on every relay's command line. */
  nodeFlags: string[];
  /** --pair-entry: the build each gateway phase runs beside the run's own (paired.ts), or null. */
  pairEntry: string | null;
}

export function benchSettings(values: BenchArgs): BenchSettings {
  const mode = values.smoke ? 'smoke' : values.quick ? 'quick' : 'full';
  const smoke = mode === 'smoke';
  const workload = workloadOf(values, smoke);
  const focused = values.sweep || values.redis;
  const cycleMs = workload.ttftMs + workload.itlMs * (workload.tokens - 1) + workload.thinkMs;
  const levels = sessionList(values.levels ?? (focused ? '' : smoke ? '2' : '1,100,1000'));
  return {
    mode,
    smoke,
    levels,
    idleSessions: Number(values.idle ?? (smoke ? 10 : 10_000)),
    workload,
    cycleMs,
    measureMsFor: (sessions: number): number => {
      if (values['measure-s'] !== undefined) return Number(values['measure-s']) * 1000;
      if (mode === 'quick') return sessions >= 1000 ? 6_000 : sessions >= 100 ? 5_000 : 4_000;
      // At least ~300 first tokens per phase, so that a p99 is not just the worst turn or two.
      if (focused)
        return Math.max(sessions >= 1000 ? 10_000 : 8_000, Math.ceil((300 * cycleMs) / sessions / 1000) * 1000);
      return sessions === 1 ? 40_000 : sessions >= 1000 ? 30_000 : 20_000;
    },
    sweep: values.sweep
      ? {
          steps: sessionList(values['sweep-steps'] ?? (smoke ? '2,4' : SWEEP_STEPS.join(','))),
          kneeMs: positive(values['knee-ms'], '--knee-ms'),
        }
      : null,
    redisSessions: values.redis ? sessionList(values['redis-sessions'] ?? (smoke ? '2' : '400')) : null,
    fromSrc: values['from-src'] || smoke,
    onlyPaths: values.paths?.split(','),
    attempts: Math.max(1, Number(values.attempts ?? (smoke ? 1 : 2))),
    rounds: roundsOf(values, levels),
    heapSample: heapSampleOf(values),
    nodeFlags: nodeFlagsOf(values),
    pairEntry: pairEntryOf(values, levels),
  };
}

/** The workload every session runs: the issue's, or a tiny one for --smoke, with --tokens and --think-ms applied. */
function workloadOf(values: BenchArgs, smoke: boolean): BenchWorkload {
  const workload = smoke
    ? { ttftMs: 20, itlMs: 5, tokens: 10, thinkMs: 50, cancelEvery: 2, cancelAfterChunks: 3 }
    : { ...WORKLOAD };
  if (values.tokens !== undefined) {
    const tokens = Number(values.tokens);
    if (!Number.isInteger(tokens) || tokens < 1)
      throw new Error(`--tokens expects a whole number ≥ 1, got "${values.tokens}"`);
    workload.tokens = tokens;
    workload.cancelAfterChunks = Math.min(workload.cancelAfterChunks, Math.max(1, Math.floor(tokens / 3)));
  }
  if (values['think-ms'] !== undefined) workload.thinkMs = positive(values['think-ms'], '--think-ms');
  return workload;
}

/** --rounds, refused where its extra phases could not make a pair (it would spend minutes measuring nothing). */
function roundsOf(values: BenchArgs, levels: number[]): number {
  if (values.rounds === undefined) return 1;
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`--rounds expects a whole number ≥ 1, got "${values.rounds}"`);
  if (rounds === 1) return 1;
  // With --pair-entry each round is a fresh pair of the two builds (paired.ts checks the rest).
  if (values['pair-entry'] !== undefined) return rounds;
  if (!values.floor)
    throw new Error('--rounds compares the gateway with the floor relay (add --floor) or two builds (--pair-entry)');
  const paths = values.paths?.split(',');
  if (paths !== undefined && !(paths.includes('gateway') && paths.includes('floor')))
    throw new Error('--rounds needs both the gateway and the floor relay in --paths');
  if (levels.length === 0) throw new Error('--rounds applies to --levels, and this run has none');
  // Each round's gateway would write over the last one's profile, and the floor's covers the whole run.
  if (values['cpu-prof']) throw new Error('--rounds and --cpu-prof do not go together');
  return rounds;
}

/** --heap-sample's mode, or null without it. */
function heapSampleOf(values: BenchArgs): HeapSampleMode | null {
  const mode = values['heap-sample'];
  if (mode === undefined) return null;
  if (mode !== 'allocated' && mode !== 'promoted')
    throw new Error(`--heap-sample is allocated or promoted, got "${mode}"`);
  // Its tables are per level: sweep steps are not levels, and scale-out sums several gateways' stats.
  if (values.sweep || values.redis) throw new Error('--heap-sample applies to --levels, not to --sweep or --redis');
  return mode;
}

function positive(text: string, option: string): number {
  const value = Number(text);
  if (!(value > 0)) throw new Error(`${option} expects a positive number, got "${text}"`);
  return value;
}

/** A comma-separated list of session counts (empty entries and zeros dropped). */
function sessionList(text: string): number[] {
  return text
    .split(',')
    .map(Number)
    .filter((n) => n > 0);
}

/** --node-flag values, each one option (`--name` or `--name=value`): they go on the relays' command lines. */
export function nodeFlagsOf(values: BenchArgs): string[] {
  for (const flag of values['node-flag'])
    if (!/^--[a-z0-9][a-z0-9_-]*(=\S+)?$/i.test(flag))
      throw new Error(`--node-flag expects --name[=value], got "${flag}"`);
  return values['node-flag'];
}
