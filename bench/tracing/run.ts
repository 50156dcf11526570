// The whole tracing bench as a function (bench/tracing.ts calls it): the simulator process with the bench's
// workload, the OTLP sink, two gateway processes from src/ that differ only in OTEL_EXPORTER_OTLP_ENDPOINT (off:
// unset; on: the sink), then rounds of one measured phase per gateway (bench/lib/phase.ts: load workers, the
// window, the gateway's CPU from /proc), the order alternating round by round so host drift falls on both alike.

import { resultsHead, type MachineFacts } from '../lib/focused-bench.js';
import { DEFAULT_SYSTEM_PROMPT } from '../../src/config.js';
import { runPhase, type PhaseContext, type PhasePlan } from '../lib/phase.js';
import {
  startGatewayProcess,
  startSimulatorProcess,
  stopProcess,
  type ServerProcess,
  type SimulatorProcess,
} from '../lib/procs.js';
import { WORKLOAD } from '../lib/workload.js';
import {
  analyse,
  checkTargets,
  windowFigures,
  type Target,
  type TracingFigures,
  type TracingMode,
  type WindowFigures,
} from './analysis.js';
import { startOtlpSink, type OtlpSink, type SinkStats } from './otlp-sink.js';

export interface TracingBenchOptions {
  sessions: number;
  rounds: number;
  /** Each phase's measured window (after a warm-up of one cycle plus 1 s). */
  windowMs: number;
  /** Smoke mode: each session stops after this many turns, and every turn counts (0: windows). */
  maxTurns: number;
  /** OTEL_BSP_SCHEDULE_DELAY of the tracing gateway: spans leave it at least this often. */
  bspDelayMs: number;
  verbose?: boolean;
  log?: (line: string) => void;
}

export interface TracingResults {
  schema: 1;
  kind: 'tracing';
  startedAt: string;
  durationMs: number;
  options: Omit<TracingBenchOptions, 'log'>;
  workload: typeof WORKLOAD & { cycleMs: number };
  machine: MachineFacts;
  /** What the two gateways' environments differ in; OTEL_* variables of the caller's own were left out of both. */
  gatewayEnv: Record<TracingMode, Record<string, string>>;
  ignoredCallerEnv: string[];
  windows: WindowFigures[];
  figures: TracingFigures;
  sink: SinkStats & { spansPerTracedTurn: number | null };
  targets: Target[];
}

const CYCLE_MS = WORKLOAD.ttftMs + WORKLOAD.tokens * WORKLOAD.itlMs + WORKLOAD.thinkMs;

/** OTEL_* from the caller's environment would reach both gateways: the off one must not trace at all. */
function dropCallerOtelEnv(): string[] {
  const names = Object.keys(process.env).filter((name) => name.startsWith('OTEL_'));
  for (const name of names) delete process.env[name];
  return names.sort();
}

function gatewayEnvs(options: TracingBenchOptions, sink: OtlpSink): Record<TracingMode, Record<string, string>> {
  // One client address carries every session: lift the per-address caps, as bench/run.ts does.
  const limits = {
    MAX_CONNECTIONS_PER_IP: String(options.sessions + 1_000),
    MAX_CONNECTIONS: String(options.sessions + 1_000),
    MAX_RESPONSES_PER_IP: '100000',
    TURNS_PER_MINUTE_PER_IP: '1000000',
  };
  return {
    off: limits,
    on: {
      ...limits,
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      OTEL_BSP_SCHEDULE_DELAY: String(options.bspDelayMs),
    },
  };
}

function phaseContext(sim: SimulatorProcess, gateway: ServerProcess, options: TracingBenchOptions): PhaseContext {
  return {
    sim,
    server: gateway,
    url: `ws://127.0.0.1:${gateway.port}/v1/voice`,
    kind: 'ws',
    headers: {},
    workload: WORKLOAD,
    model: 'asi1-mini',
    systemPrompt: DEFAULT_SYSTEM_PROMPT,
    maxTokens: 400,
    log: options.log ?? (() => {}),
    waitForQuiet: options.maxTurns === 0,
  };
}

function phasePlan(options: TracingBenchOptions): PhasePlan {
  const smoke = options.maxTurns > 0;
  return {
    path: 'gateway',
    sessions: options.sessions,
    workers: 1,
    idle: false,
    rampMs: smoke ? 0 : CYCLE_MS,
    warmMs: smoke ? 0 : 1_000,
    measureMs: options.windowMs,
    maxTurns: options.maxTurns,
  };
}

async function playRounds(
  sim: SimulatorProcess,
  gateways: Record<TracingMode, ServerProcess>,
  options: TracingBenchOptions,
): Promise<WindowFigures[]> {
  const log = options.log ?? (() => {});
  const windows: WindowFigures[] = [];
  for (let round = 0; round < options.rounds; round += 1) {
    const order: TracingMode[] = round % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
    for (const mode of order) {
      const report = await runPhase(phaseContext(sim, gateways[mode], options), phasePlan(options));
      const window = windowFigures(round, mode, report);
      windows.push(window);
      log(
        `round ${round + 1}/${options.rounds}, tracing ${mode}: first token p50 ${window.ttftMs.p50?.toFixed(2) ?? '–'} ms, ` +
          `${window.turns} turns, ${window.chunks} deltas, CPU ${(window.cpuSeconds * 1000).toFixed(0)} ms`,
      );
    }
  }
  return windows;
}

export async function runTracingBench(options: TracingBenchOptions): Promise<TracingResults> {
  const log = options.log ?? (() => {});
  const startedAt = new Date();
  const began = performance.now();
  const ignoredCallerEnv = dropCallerOtelEnv();
  const sink = await startOtlpSink();
  const gatewayEnv = gatewayEnvs(options, sink);
  const started: Partial<Record<TracingMode, ServerProcess>> = {};
  let sim: SimulatorProcess | undefined;
  let windows: WindowFigures[];
  let sinkStats: SinkStats;
  try {
    const simulator = await startSimulatorProcess(WORKLOAD);
    sim = simulator;
    const start = async (mode: TracingMode): Promise<void> => {
      const env = gatewayEnv[mode];
      started[mode] = await startGatewayProcess({
        simUrl: simulator.url,
        fromSrc: true,
        env,
        echo: options.verbose ?? false,
      });
    };
    const failed = (await Promise.allSettled([start('off'), start('on')])).find((s) => s.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    log(`gateways: tracing off pid ${started.off!.pid}, on pid ${started.on!.pid} (OTLP sink ${sink.url})`);
    windows = await playRounds(simulator, { off: started.off!, on: started.on! }, options);
    // The last batch leaves the tracing gateway within one schedule delay.
    await new Promise((resolve) => setTimeout(resolve, options.bspDelayMs + 1_000));
    sinkStats = sink.stats();
  } finally {
    await Promise.all(Object.values(started).map((gateway) => stopProcess(gateway.child)));
    if (sim !== undefined) await stopProcess(sim.child);
    await sink.close();
  }
  const figures = analyse(windows);
  const tracedTurns = windows.filter((w) => w.mode === 'on').reduce((n, w) => n + w.turnsStarted, 0);
  const { log: _log, ...rest } = options;
  return {
    ...resultsHead('tracing', startedAt, began),
    options: rest,
    workload: { ...WORKLOAD, cycleMs: CYCLE_MS },
    gatewayEnv,
    ignoredCallerEnv,
    windows,
    figures,
    sink: { ...sinkStats, spansPerTracedTurn: tracedTurns > 0 ? sinkStats.spans / tracedTurns : null },
    targets: checkTargets(figures, sinkStats),
  };
}
