// The whole connection bench as a function (bench/connections.ts and its smoke test call it): the certificates,
// one stack per pass (h1/h2 × warmer on/off), then per level its rounds, each round played by every pass in
// turn (one pass at a time, so they never share the CPU; the order rotates), every pass quiet for `idleMs`
// before each of its rounds, so that the gateway's idle upstream connections have expired; then the figures.

import { resultsHead, type MachineFacts } from '../lib/focused-bench.js';
import { analyse, type LevelFigures } from './analysis.js';
import { makeCertificates } from './certificates.js';
import { endedAsPlanned, planRound, PLAN_SHAPE, runRound, type RoundRun } from './round.js';
import { PASS_SETUPS, PassStack, type Workload } from './stack.js';
import { checkTargets, type Target } from './targets.js';

export interface ConnectionsBenchOptions {
  /** Concurrent sessions per round, one level each (default 1 and 100). */
  levels: number[];
  /** Each level plays ceil(firstTurns / level) rounds: at least this many first turns per pass and level. */
  firstTurns: number;
  /** Turns per session: the first and the later ones. */
  turns: number;
  /** Quiet time of a pass before each of its rounds. */
  idleMs: number;
  seed: number;
  workload: Workload;
  /** Pass ids to run (default all four). */
  passes?: string[];
  /** Play each round on every pass at the same time (the smoke test: faster, but the passes share the CPU). */
  parallelPasses?: boolean;
  verbose?: boolean;
  log?: (line: string) => void;
}

export interface ConnectionsResults {
  schema: 1;
  kind: 'connections';
  startedAt: string;
  durationMs: number;
  options: Omit<ConnectionsBenchOptions, 'log' | 'workload'> & { passes: string[] };
  workload: Workload & { replyTokens: number; plan: typeof PLAN_SHAPE };
  machine: MachineFacts;
  figures: LevelFigures[];
  targets: Target[];
  /** Per pass: connections the simulator accepted over the whole run, the gateway's start-up one included. */
  connectionsOverRun: Record<string, number>;
  /** Chat requests without a turn's tag, and turns requested twice (retries); both should be 0. */
  untaggedRequests: number;
  repeatedRequests: number;
  rounds: RoundRun[];
}

/** Sessions of the unmeasured warm-up round each gateway plays first (tagged level 0). */
const WARM_UP_SESSIONS = 4;

export const DEFAULT_WORKLOAD: Workload = {
  connectionCostMs: 50,
  ttftMs: 0,
  interTokenMs: 20,
  reply: 'Sure, here is a short answer to that. Pack water, a snack and a warm layer, and enjoy the walk.',
  upstreamIdleMs: 5_000,
};

async function startStacks(options: ConnectionsBenchOptions, ids: string[]): Promise<PassStack[]> {
  const certificates = makeCertificates();
  const started = await Promise.allSettled(
    PASS_SETUPS.filter((s) => ids.includes(s.id)).map((setup) =>
      PassStack.start(setup, options.workload, certificates, options.verbose ?? false),
    ),
  );
  // The gateways have read the CA file; the simulators hold the key and certificate in memory.
  certificates.remove();
  const stacks = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(stacks.map((stack) => stack.stop()));
    throw failed.reason;
  }
  return stacks;
}

/**
 * A first round per gateway, not measured: the first turns a gateway process ever serves run cold code (module
 * loading, JIT), which would count against first turns. Then each pass is quiet before its first measured round.
 */
async function warmUpGateways(stacks: PassStack[], options: ConnectionsBenchOptions): Promise<void> {
  const plans = planRound(options.seed, WARM_UP_SESSIONS, 0, 3);
  const runs = await Promise.all(stacks.map((stack) => runRound(stack, plans, 0, 0)));
  for (const stack of stacks) stack.lastActiveAt = performance.now();
  const failed = runs.filter((run) => run.turns.some((t) => !endedAsPlanned(t))).map((run) => run.pass);
  if (failed.length > 0) throw new Error(`the warm-up round failed on ${failed.join(', ')}`);
}

async function playRound(
  stack: PassStack,
  options: ConnectionsBenchOptions,
  level: number,
  round: number,
): Promise<RoundRun> {
  await stack.quiet(options.idleMs);
  const run = await runRound(stack, planRound(options.seed, level, round, options.turns), level, round);
  stack.lastActiveAt = performance.now();
  return run;
}

async function playLevels(stacks: PassStack[], options: ConnectionsBenchOptions): Promise<RoundRun[]> {
  const log = options.log ?? (() => {});
  const runs: RoundRun[] = [];
  for (const [index, level] of options.levels.entries()) {
    const rounds = Math.ceil(options.firstTurns / level);
    log(`level ${level}: ${rounds} round(s) of ${level} session(s) × ${options.turns} turns per pass`);
    for (let round = 0; round < rounds; round += 1) {
      const shift = (round + index) % stacks.length;
      const order = [...stacks.slice(shift), ...stacks.slice(0, shift)];
      const played: RoundRun[] = [];
      if (options.parallelPasses === true)
        played.push(...(await Promise.all(order.map((stack) => playRound(stack, options, level, round)))));
      else for (const stack of order) played.push(await playRound(stack, options, level, round));
      runs.push(...played);
      const took = played.map((run) => `${run.pass} ${(run.durationMs / 1000).toFixed(1)} s`).join(', ');
      if (options.verbose === true || level > 1 || round % 4 === 3) log(`  round ${round + 1}/${rounds}: ${took}`);
    }
  }
  return runs;
}

export async function runConnectionsBench(options: ConnectionsBenchOptions): Promise<ConnectionsResults> {
  const log = options.log ?? (() => {});
  const ids = options.passes ?? PASS_SETUPS.map((s) => s.id);
  const startedAt = new Date();
  const began = performance.now();
  log(`starting ${ids.length} gateways (${ids.join(', ')})`);
  const stacks = await startStacks(options, ids);
  let runs: RoundRun[];
  try {
    await warmUpGateways(stacks, options);
    runs = await playLevels(stacks, options);
  } finally {
    await Promise.all(stacks.map((stack) => stack.stop()));
  }
  const figures = analyse(
    runs,
    stacks.map((s) => s.setup),
    options.levels,
    options.workload.connectionCostMs,
  );
  const { log: _log, workload, ...rest } = options;
  return {
    ...resultsHead('connections', startedAt, began),
    options: { ...rest, passes: ids },
    workload: { ...workload, replyTokens: workload.reply.split(/\s+/).length, plan: PLAN_SHAPE },
    figures,
    targets: checkTargets(figures),
    connectionsOverRun: Object.fromEntries(stacks.map((s) => [s.setup.id, s.sim.connectionStats().opened])),
    untaggedRequests: stacks.reduce((sum, s) => sum + s.untagged, 0),
    repeatedRequests: stacks.reduce((sum, s) => sum + s.repeated, 0),
    rounds: runs,
  };
}
