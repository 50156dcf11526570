// One measured phase: one path (direct, gateway or peer) at one concurrency. Forks the load workers, runs the
// workload over a window, samples the proxy's and the simulator's CPU, event-loop delay and memory at the
// window's edges, and merges everything into a PathReport. Cancel latency is matched here: each
// response.cancel's send time against the simulator's "client-closed" time for the same x-session-id.

import type { ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { epochNow, summarize, type LoopDelay, type Summary } from './clock.js';
import type { CancelRecord, FromWorker, PathName, StreamEndRecord, UpstreamProbe, WorkerConfig, WorkerResult } from './messages.js';
import { BENCH_DIR, cpuSecondsOf, cpuSplitOf, forkTs, machineCpu, waitForMessage, type ServerProcess, type SimulatorProcess } from './procs.js';

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
}

export interface ServerFigures {
  cpuSeconds: number;
  /** utime and stime: stime is the kernel's share (socket syscalls, loopback TCP). */
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  cpuSecondsPerMillionChunks: number | null;
  loop: LoopDelay;
  /** --probe-writes: socket writes (ws frames, upstream requests) and wall time inside them. */
  writes: { count: number; wallMs: number } | null;
  /** --probe-upstream: connects, and how long requests waited in undici before their headers went out. */
  upstream: UpstreamProbe | null;
  rssBytes: number;
  heapUsedBytes: number;
  baselineRssBytes: number;
  baselineHeapUsedBytes: number;
  rssPerSessionBytes: number;
  heapPerSessionBytes: number;
}

export interface PathReport {
  path: PathName;
  sessions: number;
  idle: boolean;
  workers: number;
  connected: number;
  connectFailed: number;
  windowSeconds: number;
  turns: { inWindow: number; started: number; completed: number; interrupted: number; failed: number };
  errors: Record<string, number>;
  ttftMs: Summary;
  perTokenMs: Summary;
  cancelMs: Summary & { unmatched: number };
  chunks: number;
  deltaEvents: number;
  stampAnomalies: number;
  server: ServerFigures | null;
  simulator: { cpuPercent: number; loop: LoopDelay };
  loadgen: { cpuPercent: number; loopP99Ms: number; loopMaxMs: number }[];
  machineCpuPercent: number;
  /** Machine CPU not used by the bench's own processes (other work on the host), same units. */
  otherCpuPercent: number;
}

const sleepUntil = (epoch: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, epoch - epochNow())));

/**
 * Waits (up to `maxWaitMs`) until the machine is quiet: under `busyPercent` CPU over one second while the
 * bench's own processes are idle between phases. Other work on a shared host would land in the figures.
 */
export async function waitForQuietMachine(log: (line: string) => void, busyPercent = 15, maxWaitMs = 90_000): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  let warned = false;
  for (;;) {
    const a = machineCpu();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const b = machineCpu();
    const busy = (100 * (b.busy - a.busy)) / Math.max(1, b.total - a.total);
    if (busy < busyPercent || Date.now() > deadline) {
      if (busy >= busyPercent) log(`machine still ${busy.toFixed(0)}% busy with other work; measuring anyway (see "not ours")`);
      return busy;
    }
    if (!warned) log(`machine ${busy.toFixed(0)}% busy with other work; waiting for it to settle`);
    warned = true;
  }
}

export async function runPhase(ctx: PhaseContext, plan: PhasePlan): Promise<PathReport> {
  const { sim, server } = ctx;
  if (ctx.waitForQuiet) await waitForQuietMachine(ctx.log);
  await sim.ends(); // forget closes from earlier phases
  const baseline = server === undefined ? undefined : await server.probe.stats(true);
  const workers = Math.max(1, Math.min(plan.workers, plan.sessions));
  const children: ChildProcess[] = [];
  const results: WorkerResult[] = [];
  let turnsDone = 0;
  let allTurnsDone: () => void = () => {};
  const turnsDonePromise = new Promise<void>((resolve) => (allTurnsDone = resolve));
  const resultPromises: Promise<WorkerResult>[] = [];
  try {
    const connecting: Promise<{ connected: number; failed: number }>[] = [];
    for (let w = 0; w < workers; w++) {
      const sessions = Math.floor(plan.sessions / workers) + (w < plan.sessions % workers ? 1 : 0);
      const child = forkTs(`${BENCH_DIR}load-worker.ts`);
      children.push(child);
      child.on('message', (message: FromWorker) => {
        if (message.type === 'fatal') ctx.log(`worker ${w} failed: ${message.message}`);
        if (message.type === 'turns-done' && ++turnsDone === workers) allTurnsDone();
      });
      resultPromises.push(waitForMessage(child, (m) => ((m as FromWorker).type === 'result' ? (m as { result: WorkerResult }).result : undefined), 600_000, `worker ${w} result`));
      connecting.push(waitForMessage(child, (m) => ((m as FromWorker).type === 'connected' ? (m as { connected: number; failed: number }) : undefined), 120_000 + sessions * 20, `worker ${w} connect`));
      const config: WorkerConfig = {
        workerIndex: w,
        path: plan.path,
        kind: ctx.kind,
        url: ctx.url,
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
        simClockOffsetMs: sim.clockOffsetMs,
        connectConcurrency: 200,
        sessionIdPrefix: `bench-${plan.path}-${plan.sessions}-${w}`,
      };
      child.send({ type: 'config', config });
    }
    const connectStarted = epochNow();
    const connectedCounts = await Promise.all(connecting);
    const connected = connectedCounts.reduce((a, c) => a + c.connected, 0);
    ctx.log(`${plan.path} ${plan.idle ? 'idle ' : ''}${plan.sessions}: ${connected} sessions connected in ${((epochNow() - connectStarted) / 1000).toFixed(1)} s`);

    const smoke = plan.maxTurns > 0 && !plan.idle;
    const resetProbes = async (): Promise<void> => void (await Promise.all([server?.probe.reset(), sim.probe.reset()]));
    // Smoke counts every turn, so the probes are reset before any turn can start.
    if (smoke) await resetProbes();
    const now = epochNow();
    const beginAt = now + 300;
    // Smoke: every turn counts (the window opens before the first turn can be sent).
    const measureStart = smoke ? now : plan.idle ? beginAt : beginAt + plan.rampMs + plan.warmMs;
    const measureEnd = smoke ? Number.POSITIVE_INFINITY : plan.idle ? beginAt + plan.measureMs : measureStart + plan.measureMs;
    for (const child of children) child.send({ type: 'begin', window: { beginAt, rampMs: plan.rampMs, measureStart, measureEnd } });

    await sleepUntil(measureStart);
    if (!smoke) await resetProbes();
    const splitStart = server === undefined ? { user: 0, system: 0 } : cpuSplitOf(server.pid);
    const cpuStart = { server: server === undefined ? 0 : cpuSecondsOf(server.pid), sim: cpuSecondsOf(sim.pid), machine: machineCpu(), at: epochNow() };
    if (smoke) await turnsDonePromise;
    else await sleepUntil(measureEnd);
    const splitEnd = server === undefined ? { user: 0, system: 0 } : cpuSplitOf(server.pid);
    const cpuEnd = { server: server === undefined ? 0 : cpuSecondsOf(server.pid), sim: cpuSecondsOf(sim.pid), machine: machineCpu(), at: epochNow() };
    const [serverStats, simStats] = await Promise.all([server?.probe.stats(false), sim.probe.stats(false)]);
    // Memory while the sessions are still connected (and, outside idle, mid-conversation), after a full GC.
    const memory = server === undefined ? undefined : await server.probe.stats(true);

    for (const child of children) child.send({ type: 'stop' });
    results.push(...(await Promise.all(resultPromises)));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const ends = await sim.ends();

    const windowSeconds = (cpuEnd.at - cpuStart.at) / 1000;
    const chunks = sum(results, (r) => r.chunks);
    let serverFigures: ServerFigures | null = null;
    if (server !== undefined && serverStats !== undefined && memory !== undefined && baseline !== undefined) {
      const cpuSeconds = cpuEnd.server - cpuStart.server;
      serverFigures = {
        cpuSeconds,
        cpuUserSeconds: splitEnd.user - splitStart.user,
        cpuSystemSeconds: splitEnd.system - splitStart.system,
        cpuSecondsPerMillionChunks: chunks > 0 ? cpuSeconds / (chunks / 1e6) : null,
        loop: serverStats.loop,
        writes: serverStats.writes ?? null,
        upstream: serverStats.upstream ?? null,
        rssBytes: memory.memory.rss,
        heapUsedBytes: memory.memory.heapUsed,
        baselineRssBytes: baseline.memory.rss,
        baselineHeapUsedBytes: baseline.memory.heapUsed,
        rssPerSessionBytes: (memory.memory.rss - baseline.memory.rss) / Math.max(1, connected),
        heapPerSessionBytes: (memory.memory.heapUsed - baseline.memory.heapUsed) / Math.max(1, connected),
      };
    }
    const machineTotal = cpuEnd.machine.total - cpuStart.machine.total;
    const machineCpuPercent = machineTotal > 0 ? (100 * (cpuEnd.machine.busy - cpuStart.machine.busy)) / machineTotal : 0;
    // Own processes, in the same "all cores = 100" units as /proc/stat.
    const cores = Math.max(1, availableParallelism());
    const ownCpuSeconds = cpuEnd.sim - cpuStart.sim + (cpuEnd.server - cpuStart.server) + sum(results, (r) => r.cpuMs) / 1000;
    const ownCpuPercent = (100 * ownCpuSeconds) / Math.max(windowSeconds, 1e-9) / cores;
    const cancels = results.flatMap((r) => r.cancels);
    const matched = matchCancels(cancels, ends);
    return {
      path: plan.path,
      sessions: plan.sessions,
      idle: plan.idle,
      workers,
      connected,
      connectFailed: sum(results, (r) => r.connectFailed),
      windowSeconds,
      turns: {
        inWindow: sum(results, (r) => r.turnsInWindow),
        started: sum(results, (r) => r.turnsStarted),
        completed: sum(results, (r) => r.completed),
        interrupted: sum(results, (r) => r.interrupted),
        failed: sum(results, (r) => r.failed),
      },
      errors: mergeCounts(results.map((r) => r.errors)),
      ttftMs: summarize(concat(results.map((r) => r.ttft))),
      perTokenMs: summarize(concat(results.map((r) => r.perToken))),
      cancelMs: { ...summarize(matched.latencies), unmatched: matched.unmatched },
      chunks,
      deltaEvents: sum(results, (r) => r.deltaEvents),
      stampAnomalies: sum(results, (r) => r.stampAnomalies),
      server: serverFigures,
      simulator: { cpuPercent: (100 * (cpuEnd.sim - cpuStart.sim)) / Math.max(windowSeconds, 1e-9), loop: simStats.loop },
      loadgen: results.map((r) => ({ cpuPercent: r.windowMs > 0 ? (100 * r.cpuMs) / r.windowMs : 0, loopP99Ms: r.loop.p99Ms, loopMaxMs: r.loop.maxMs })),
      machineCpuPercent,
      otherCpuPercent: Math.max(0, machineCpuPercent - ownCpuPercent),
    };
  } finally {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/**
 * Pairs each cancel with the upstream stream of its session that was running when it was sent (the latest
 * one started before it). Its latency is that stream's close time minus the send time. A cancel whose
 * stream was not closed by the client (it completed, or it was never closed early because the proxy kept
 * reading), or that has no stream, is counted as unmatched rather than paired with some later stream.
 */
export function matchCancels(cancels: CancelRecord[], ends: StreamEndRecord[]): { latencies: number[]; unmatched: number } {
  const bySession = new Map<string, StreamEndRecord[]>();
  for (const end of ends) {
    const list = bySession.get(end.sessionId) ?? [];
    list.push(end);
    bySession.set(end.sessionId, list);
  }
  const latencies: number[] = [];
  let unmatched = 0;
  for (const cancel of cancels) {
    let stream: StreamEndRecord | undefined;
    for (const end of bySession.get(cancel.sessionId) ?? []) {
      if (end.startedAt <= cancel.sentAt && (stream === undefined || end.startedAt > stream.startedAt)) stream = end;
    }
    // 0.05 ms of tolerance for the two processes' clock correction.
    if (stream === undefined || stream.reason !== 'client-closed' || stream.at < cancel.sentAt - 0.05) {
      unmatched += 1;
      continue;
    }
    latencies.push(Math.max(0, stream.at - cancel.sentAt));
  }
  return { latencies, unmatched };
}

function sum<T>(items: T[], pick: (item: T) => number): number {
  return items.reduce((total, item) => total + pick(item), 0);
}

function concat(arrays: Float64Array[]): Float64Array {
  const out = new Float64Array(arrays.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const array of arrays) {
    out.set(array, offset);
    offset += array.length;
  }
  return out;
}

function mergeCounts(counts: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of counts) for (const [key, value] of Object.entries(c)) out[key] = (out[key] ?? 0) + value;
  return out;
}
