// One measured phase: one path (direct, gateway or peer) at one concurrency. Forks the load workers, runs the
// workload over a window, samples the proxy's and the simulator's CPU, event-loop delay and memory at the
// window's edges; phase-figures.ts merges everything into a PathReport (and matches cancel latency: each
// response.cancel's send time against the simulator's "client-closed" time for the same x-session-id).

import type { ChildProcess } from 'node:child_process';
import { epochNow } from './clock.js';
import type { FromWorker, PathName, ProcessStats, WorkerConfig, WorkerResult } from './messages.js';
import { buildPathReport, combineStats, type CpuPoint, type PathReport, type PhaseWindow } from './phase-figures.js';
import {
  BENCH_DIR,
  cpuSecondsOf,
  cpuSplitOf,
  forkTs,
  machineCpu,
  waitForMessage,
  type ServerProcess,
  type SimulatorProcess,
} from './procs.js';

export { errorCount, matchCancels, proxyCores, type PathReport, type ServerFigures } from './phase-figures.js';

export interface PhasePlan {
  path: PathName;
  sessions: number;
  workers: number;
  idle: boolean;
  /** Spread of the sessions' first turns, and the extra warm-up before the window opens. */
  rampMs: number;
  warmMs: number;
  measureMs: number;
  /** Smoke mode: each session stops after this many turns and the window lasts until all are done. */
  maxTurns: number;
}

export interface PhaseContext {
  sim: SimulatorProcess;
  /** The process the path goes through (undefined for direct). */
  server: ServerProcess | undefined;
  url: string;
  kind: 'ws' | 'sse';
  headers: Record<string, string>;
  workload: { thinkMs: number; cancelEvery: number; cancelAfterChunks: number };
  model: string;
  systemPrompt: string;
  maxTokens: number;
  log: (line: string) => void;
  /** Wait for other work on the host to settle before the phase (not in smoke mode: no timing matters). */
  waitForQuiet: boolean;
  /**
   * A scale-out phase: the gateways sharing the load (`server` is the first). Worker w drives replicas[w % n],
   * so the load splits evenly when the worker count is a multiple of n; CPU and memory are summed over them.
   */
  replicas?: { server: ServerProcess; url: string }[];
  /** Other processes the path needs, whose CPU the phase reports too (redis-server). */
  sidecars?: { name: string; pid: number }[];
}

/** The proxy processes a phase goes through: none (direct), the one server, or every replica. */
function proxiesOf(ctx: PhaseContext): ServerProcess[] {
  return ctx.replicas?.map((r) => r.server) ?? (ctx.server === undefined ? [] : [ctx.server]);
}

/** Every proxy's stats (after a full GC when `gc`), as one. */
async function proxyStats(proxies: ServerProcess[], gc: boolean): Promise<ProcessStats | undefined> {
  return combineStats(await Promise.all(proxies.map((p) => p.probe.stats(gc))));
}

const sleepUntil = (epoch: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, epoch - epochNow())));

/**
 * Waits (up to `maxWaitMs`) until the machine is quiet: under `busyPercent` CPU over one second while the
 * bench's own processes are idle between phases. Other work on a shared host would land in the figures.
 */
export async function waitForQuietMachine(
  log: (line: string) => void,
  busyPercent = 15,
  maxWaitMs = 90_000,
): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  let warned = false;
  for (;;) {
    const a = machineCpu();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const b = machineCpu();
    const busy = (100 * (b.busy - a.busy)) / Math.max(1, b.total - a.total);
    if (busy < busyPercent || Date.now() > deadline) {
      if (busy >= busyPercent)
        log(`machine still ${busy.toFixed(0)}% busy with other work; measuring anyway (see "not ours")`);
      return busy;
    }
    if (!warned) log(`machine ${busy.toFixed(0)}% busy with other work; waiting for it to settle`);
    warned = true;
  }
}

export async function runPhase(ctx: PhaseContext, plan: PhasePlan): Promise<PathReport> {
  const { sim } = ctx;
  if (ctx.waitForQuiet) await waitForQuietMachine(ctx.log);
  await sim.ends(); // forget closes from earlier phases
  const baseline = await proxyStats(proxiesOf(ctx), true);
  const workers = Math.max(1, Math.min(plan.workers, plan.sessions));
  const children: ChildProcess[] = [];
  const proxyCpu = (): number => proxiesOf(ctx).reduce((sum, p) => sum + cpuSecondsOf(p.pid), 0);
  try {
    const connectCpuFrom = proxyCpu();
    const started = startWorkers(ctx, plan, workers, children);
    // If the phase fails early, the workers are killed below and their pending results reject: the phase's own
    // error is the one to report, not an unhandled rejection from a worker that was told to go.
    for (const pending of [...started.results, ...started.connecting, started.turnsDone])
      pending.catch(() => undefined);
    const connectStarted = epochNow();
    const connectedCounts = await Promise.all(started.connecting);
    const connected = connectedCounts.reduce((a, c) => a + c.connected, 0);
    ctx.log(
      `${plan.path} ${plan.idle ? 'idle ' : ''}${plan.sessions}: ${connected} sessions connected in ${((epochNow() - connectStarted) / 1000).toFixed(1)} s`,
    );

    const connectCpuSeconds = proxyCpu() - connectCpuFrom;
    const window = { ...(await measureWindow(ctx, plan, children, started.turnsDone)), connectCpuSeconds };
    for (const child of children) child.send({ type: 'stop' });
    const results = await Promise.all(started.results);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const ends = await sim.ends();
    return buildPathReport({
      path: plan.path,
      sessions: plan.sessions,
      idle: plan.idle,
      workers,
      connected,
      results,
      ends,
      window,
      baseline,
    });
  } finally {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** Forks and configures the load workers (added to `children` as they start); their sessions start connecting at once. */
function startWorkers(
  ctx: PhaseContext,
  plan: PhasePlan,
  workers: number,
  children: ChildProcess[],
): {
  connecting: Promise<{ connected: number; failed: number }>[];
  results: Promise<WorkerResult>[];
  turnsDone: Promise<void>;
} {
  let turnsDone = 0;
  let allTurnsDone: () => void = () => {};
  const turnsDonePromise = new Promise<void>((resolve) => (allTurnsDone = resolve));
  const resultPromises: Promise<WorkerResult>[] = [];
  const connecting: Promise<{ connected: number; failed: number }>[] = [];
  for (let w = 0; w < workers; w++) {
    const sessions = Math.floor(plan.sessions / workers) + (w < plan.sessions % workers ? 1 : 0);
    const child = forkTs(`${BENCH_DIR}load-worker.ts`);
    children.push(child);
    child.on('message', (message: FromWorker) => {
      if (message.type === 'fatal') ctx.log(`worker ${w} failed: ${message.message}`);
      if (message.type === 'turns-done' && ++turnsDone === workers) allTurnsDone();
    });
    resultPromises.push(
      waitForMessage(
        child,
        (m) => ((m as FromWorker).type === 'result' ? (m as { result: WorkerResult }).result : undefined),
        600_000,
        `worker ${w} result`,
      ),
    );
    connecting.push(
      waitForMessage(
        child,
        (m) => ((m as FromWorker).type === 'connected' ? (m as { connected: number; failed: number }) : undefined),
        120_000 + sessions * 20,
        `worker ${w} connect`,
      ),
    );
    const config: WorkerConfig = {
      workerIndex: w,
      path: plan.path,
      kind: ctx.kind,
      url: ctx.replicas?.[w % ctx.replicas.length]?.url ?? ctx.url,
      headers: ctx.headers,
      sessions,
      idle: plan.idle,
      thinkMs: ctx.workload.thinkMs,
      cancelEvery: ctx.workload.cancelEvery,
      cancelAfterChunks: ctx.workload.cancelAfterChunks,
      maxTurns: plan.maxTurns,
      model: ctx.model,
      systemPrompt: ctx.systemPrompt,
      maxTokens: ctx.maxTokens,
      simClockOffsetMs: ctx.sim.clockOffsetMs,
      connectConcurrency: 200,
      sessionIdPrefix: `bench-${plan.path}-${plan.sessions}-${w}`,
    };
    child.send({ type: 'config', config });
  }
  return { connecting, results: resultPromises, turnsDone: turnsDonePromise };
}

/** Starts the turns, opens the window, and samples CPU, event-loop delay and memory at its edges. */
async function measureWindow(
  ctx: PhaseContext,
  plan: PhasePlan,
  children: ChildProcess[],
  turnsDone: Promise<void>,
): Promise<Omit<PhaseWindow, 'connectCpuSeconds'>> {
  const { sim } = ctx;
  const proxies = proxiesOf(ctx);
  const sidecars = ctx.sidecars ?? [];
  const smoke = plan.maxTurns > 0 && !plan.idle;
  const resetProbes = async (): Promise<void> =>
    void (await Promise.all([...proxies.map((p) => p.probe.reset()), sim.probe.reset()]));
  // Smoke counts every turn, so the probes are reset before any turn can start.
  if (smoke) await resetProbes();
  const now = epochNow();
  const beginAt = now + 300;
  // Smoke: every turn counts (the window opens before the first turn can be sent).
  const measureStart = smoke ? now : plan.idle ? beginAt : beginAt + plan.rampMs + plan.warmMs;
  const measureEnd = smoke
    ? Number.POSITIVE_INFINITY
    : plan.idle
      ? beginAt + plan.measureMs
      : measureStart + plan.measureMs;
  for (const child of children)
    child.send({ type: 'begin', window: { beginAt, rampMs: plan.rampMs, measureStart, measureEnd } });

  await sleepUntil(measureStart);
  if (!smoke) await resetProbes();
  const splitStart = cpuSplit(proxies);
  const cpuStart = cpuPoint(proxies, sim, sidecars);
  if (smoke) await turnsDone;
  else await sleepUntil(measureEnd);
  const splitEnd = cpuSplit(proxies);
  const cpuEnd = cpuPoint(proxies, sim, sidecars);
  const [serverStats, simStats] = await Promise.all([proxyStats(proxies, false), sim.probe.stats(false)]);
  // Memory while the sessions are still connected (and, outside idle, mid-conversation), after a full GC.
  const memory = await proxyStats(proxies, true);
  const sidecarNames = sidecars.map((s) => s.name);
  return { cpuStart, cpuEnd, splitStart, splitEnd, serverStats, simStats, memory, sidecarNames };
}

function cpuSplit(proxies: ServerProcess[]): { user: number; system: number } {
  const splits = proxies.map((p) => cpuSplitOf(p.pid));
  return { user: splits.reduce((a, s) => a + s.user, 0), system: splits.reduce((a, s) => a + s.system, 0) };
}

function cpuPoint(proxies: ServerProcess[], sim: SimulatorProcess, sidecars: { pid: number }[]): CpuPoint {
  const servers = proxies.map((p) => cpuSecondsOf(p.pid));
  return {
    server: servers.reduce((a, b) => a + b, 0),
    servers,
    serverPids: proxies.map((p) => p.pid),
    sim: cpuSecondsOf(sim.pid),
    sidecars: sidecars.map((s) => cpuSecondsOf(s.pid)),
    machine: machineCpu(),
    at: epochNow(),
  };
}
