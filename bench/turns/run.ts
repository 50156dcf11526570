// The whole turn bench as a function (bench/turns.ts and its smoke test call it): the replay from the seed,
// the simulator, one pass per mode (speculation off, on, server commit), each on a fresh gateway, then the
// figures, the targets and the cross-checks.

import { resultsHead, type MachineFacts } from '../lib/focused-bench.js';
import { analysePass, type PassReport } from './analysis.js';
import { PASS_MODES, runPass, type PassMode } from './pass.js';
import { generateReplay, replayStats, type ReplayStats } from './replay.js';
import { BENCH_REPLY, TurnsStack } from './stack.js';
import { checkTargets, crossChecks, type CrossCheck, type Target } from './targets.js';

export interface TurnsBenchOptions {
  sequences: number;
  sessions: number;
  seed: number;
  /** serverCommit.stableMs of the server-commit pass. */
  stableMs: number;
  ttftMs: number;
  interTokenMs: number;
  modes?: readonly PassMode[];
  /** Run the passes at the same time (each still on its own gateway): faster, for the smoke test. */
  parallelPasses?: boolean;
  verbose?: boolean;
  log?: (line: string) => void;
}

export interface TurnsResults {
  schema: 1;
  kind: 'turns';
  startedAt: string;
  durationMs: number;
  options: Omit<TurnsBenchOptions, 'log' | 'modes'> & { modes: PassMode[]; speculationStableMs: string };
  workload: { ttftMs: number; interTokenMs: number; reply: string; replyTokens: number };
  machine: MachineFacts;
  replay: ReplayStats;
  passes: PassReport[];
  targets: Target[];
  crossChecks: CrossCheck[];
  /** Upstream requests from sessions no pass registered (should be 0). */
  unattributedRequests: number;
}

export const DEFAULT_OPTIONS: TurnsBenchOptions = {
  sequences: 240,
  sessions: 16,
  seed: 1,
  stableMs: 500,
  ttftMs: 300,
  interTokenMs: 25,
};

export async function runTurnsBench(options: TurnsBenchOptions): Promise<TurnsResults> {
  const log = options.log ?? (() => {});
  const modes = [...(options.modes ?? PASS_MODES)];
  const startedAt = new Date();
  const began = performance.now();
  const replay = generateReplay({ sequences: options.sequences, seed: options.seed });
  const stack = await TurnsStack.start(options, options.verbose ?? false);
  const reports: Partial<Record<PassMode, PassReport>> = {};
  try {
    const one = async (mode: PassMode): Promise<void> => {
      log(`pass "${mode}": ${replay.length} sequences over ${options.sessions} sessions`);
      const run = await runPass(stack, replay, { mode, sessions: options.sessions, stableMs: options.stableMs, log });
      reports[mode] = analysePass(run);
      log(`pass "${mode}" done in ${(run.durationMs / 1000).toFixed(1)} s`);
    };
    if (options.parallelPasses === true) await Promise.all(modes.map(one));
    else for (const mode of modes) await one(mode);
  } finally {
    await stack.close();
  }
  const { log: _log, modes: _modes, ...rest } = options;
  return {
    ...resultsHead('turns', startedAt, began),
    options: { ...rest, modes, speculationStableMs: process.env.SPECULATION_STABLE_MS ?? 'gateway default (250)' },
    workload: {
      ttftMs: options.ttftMs,
      interTokenMs: options.interTokenMs,
      reply: BENCH_REPLY,
      replyTokens: BENCH_REPLY.split(/\s+/).length,
    },
    replay: replayStats(replay),
    passes: modes.map((mode) => reports[mode]!),
    targets: checkTargets(reports),
    crossChecks: crossChecks(reports),
    unattributedRequests: stack.unattributed,
  };
}
