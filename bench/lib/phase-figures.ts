// What one measured phase reports (PathReport) and how it is computed from the workers' results, the CPU and
// memory samples at the window's edges, and the simulator's stream ends (cancel latency matching).

import { availableParallelism } from 'node:os';
import { summarize, type LoopDelay, type Summary } from './clock.js';
import { summariseHeapSample, type HeapSampleFigures } from './heap-sample.js';
import type { CancelRecord, PathName, ProcessStats, StreamEndRecord, UpstreamProbe, WorkerResult } from './messages.js';

export interface ServerFigures {
  /** Summed over the gateways of a scale-out phase (instanceCpuSeconds has each one's). */
  cpuSeconds: number;
  instanceCpuSeconds: number[];
  /** Each gateway's pid, in the order of instanceCpuSeconds and instanceChunks (worker w drove instance w % n). */
  instancePids: number[];
  /** utime and stime: stime is the kernel's share (socket syscalls, loopback TCP). */
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  cpuSecondsPerMillionChunks: number | null;
  /** The worst of the instances' in a scale-out phase; the memory figures are their sums. */
  loop: LoopDelay;
  /** --probe-writes: socket writes (ws frames, upstream requests) and wall time inside them. */
  writes: { count: number; wallMs: number } | null;
  /** --probe-upstream: connects, and how long requests waited in undici before their headers went out. */
  upstream: UpstreamProbe | null;
  /** --heap-sample: what the window allocated (or promoted) per delta, by module. */
  heapSample: HeapSampleFigures | null;
  rssBytes: number;
  heapUsedBytes: number;
  baselineRssBytes: number;
  baselineHeapUsedBytes: number;
  rssPerSessionBytes: number;
  heapPerSessionBytes: number;
  /** CPU from the load workers' start to the last session.ready, per session, in µs (all instances). */
  connectCpuMicrosPerSession: number;
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
  /** The chunks of each proxy instance's clients: worker w drove instance w % n (phase.ts); one entry without a proxy. */
  instanceChunks: number[];
  deltaEvents: number;
  stampAnomalies: number;
  server: ServerFigures | null;
  simulator: { cpuPercent: number; loop: LoopDelay };
  /** Other processes the path needs (redis-server in a scale-out phase): % of one core over the window. */
  sidecars: { name: string; cpuPercent: number }[];
  loadgen: { cpuPercent: number; loopP99Ms: number; loopMaxMs: number }[];
  machineCpuPercent: number;
  /** Machine CPU not used by the bench's own processes (other work on the host), same units. */
  otherCpuPercent: number;
}

/**
 * CPU seconds of the proxy (0 without one; summed over the gateways of a scale-out phase, `servers` has each),
 * the simulator and the sidecars, and the machine's /proc/stat counters, at one moment.
 */
export interface CpuPoint {
  server: number;
  servers: number[];
  /** The pid of each of `servers`, in the same order. */
  serverPids: number[];
  sim: number;
  sidecars: number[];
  machine: { busy: number; total: number };
  at: number;
}

/** The samples taken at the measurement window's edges. */
export interface PhaseWindow {
  cpuStart: CpuPoint;
  cpuEnd: CpuPoint;
  splitStart: { user: number; system: number };
  splitEnd: { user: number; system: number };
  serverStats: ProcessStats | undefined;
  simStats: ProcessStats;
  /** The names of the sidecars whose CPU the points carry, in the same order. */
  sidecarNames: string[];
  /** The proxy's memory after a full GC, the sessions still connected. */
  memory: ProcessStats | undefined;
  /** The proxies' CPU seconds while the sessions connected (before the window). */
  connectCpuSeconds: number;
}

export interface PhaseOutcome {
  path: PathName;
  sessions: number;
  idle: boolean;
  workers: number;
  connected: number;
  results: WorkerResult[];
  ends: StreamEndRecord[];
  window: PhaseWindow;
  /** The proxy's stats (after a full GC) before the workers started; undefined without a proxy. */
  baseline: ProcessStats | undefined;
}

export function buildPathReport(outcome: PhaseOutcome): PathReport {
  const { results, window, connected } = outcome;
  const { cpuStart, cpuEnd } = window;
  const windowSeconds = (cpuEnd.at - cpuStart.at) / 1000;
  const chunks = sum(results, (r) => r.chunks);
  const instanceChunks = chunksByInstance(results, cpuStart.servers.length);
  const machineTotal = cpuEnd.machine.total - cpuStart.machine.total;
  const machineCpuPercent = machineTotal > 0 ? (100 * (cpuEnd.machine.busy - cpuStart.machine.busy)) / machineTotal : 0;
  // Own processes, in the same "all cores = 100" units as /proc/stat.
  const cores = Math.max(1, availableParallelism());
  const sidecarSeconds = cpuEnd.sidecars.map((end, i) => end - (cpuStart.sidecars[i] ?? 0));
  const ownCpuSeconds =
    cpuEnd.sim -
    cpuStart.sim +
    (cpuEnd.server - cpuStart.server) +
    sum(sidecarSeconds, (s) => s) +
    sum(results, (r) => r.cpuMs) / 1000;
  const ownCpuPercent = (100 * ownCpuSeconds) / Math.max(windowSeconds, 1e-9) / cores;
  const cancels = results.flatMap((r) => r.cancels);
  const matched = matchCancels(cancels, outcome.ends);
  return {
    path: outcome.path,
    sessions: outcome.sessions,
    idle: outcome.idle,
    workers: outcome.workers,
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
    instanceChunks,
    deltaEvents: sum(results, (r) => r.deltaEvents),
    stampAnomalies: sum(results, (r) => r.stampAnomalies),
    server: serverFigures(window, outcome.baseline, chunks, connected),
    simulator: {
      cpuPercent: (100 * (cpuEnd.sim - cpuStart.sim)) / Math.max(windowSeconds, 1e-9),
      loop: window.simStats.loop,
    },
    sidecars: window.sidecarNames.map((name, i) => ({
      name,
      cpuPercent: (100 * (sidecarSeconds[i] ?? 0)) / Math.max(windowSeconds, 1e-9),
    })),
    loadgen: results.map((r) => ({
      cpuPercent: r.windowMs > 0 ? (100 * r.cpuMs) / r.windowMs : 0,
      loopP99Ms: r.loop.p99Ms,
      loopMaxMs: r.loop.maxMs,
    })),
    machineCpuPercent,
    otherCpuPercent: Math.max(0, machineCpuPercent - ownCpuPercent),
  };
}

/** The chunks each proxy instance's clients received: worker w drove instance w % n (phase.ts); one entry for n ≤ 1. */
export function chunksByInstance(
  results: readonly Pick<WorkerResult, 'workerIndex' | 'chunks'>[],
  n: number,
): number[] {
  const instances = Math.max(1, n);
  return Array.from({ length: instances }, (_, i) =>
    sum(
      results.filter((r) => r.workerIndex % instances === i),
      (r) => r.chunks,
    ),
  );
}

/** The proxy's CPU, loop, probes and memory per session; null for the direct path. */
function serverFigures(
  window: PhaseWindow,
  baseline: ProcessStats | undefined,
  chunks: number,
  connected: number,
): ServerFigures | null {
  const { serverStats, memory, cpuStart, cpuEnd, splitStart, splitEnd } = window;
  if (serverStats === undefined || memory === undefined || baseline === undefined) return null;
  const cpuSeconds = cpuEnd.server - cpuStart.server;
  return {
    cpuSeconds,
    instanceCpuSeconds: cpuEnd.servers.map((end, i) => end - (cpuStart.servers[i] ?? 0)),
    instancePids: cpuEnd.serverPids,
    cpuUserSeconds: splitEnd.user - splitStart.user,
    cpuSystemSeconds: splitEnd.system - splitStart.system,
    cpuSecondsPerMillionChunks: chunks > 0 ? cpuSeconds / (chunks / 1e6) : null,
    loop: serverStats.loop,
    writes: serverStats.writes ?? null,
    upstream: serverStats.upstream ?? null,
    heapSample: serverStats.heapSample === undefined ? null : summariseHeapSample(serverStats.heapSample, chunks),
    rssBytes: memory.memory.rss,
    heapUsedBytes: memory.memory.heapUsed,
    baselineRssBytes: baseline.memory.rss,
    baselineHeapUsedBytes: baseline.memory.heapUsed,
    rssPerSessionBytes: (memory.memory.rss - baseline.memory.rss) / Math.max(1, connected),
    heapPerSessionBytes: (memory.memory.heapUsed - baseline.memory.heapUsed) / Math.max(1, connected),
    connectCpuMicrosPerSession: (1e6 * window.connectCpuSeconds) / Math.max(1, connected),
  };
}

/** The proxy's CPU-seconds per second over the window (cores; summed over instances); null for direct. */
export function proxyCores(report: PathReport): number | null {
  return report.server === null ? null : report.server.cpuSeconds / Math.max(report.windowSeconds, 1e-9);
}

/** Error events the clients received, of every code. */
export function errorCount(report: PathReport): number {
  return Object.values(report.errors).reduce((a, b) => a + b, 0);
}

/** Several gateways' stats as one (a scale-out phase): CPU and memory summed, event-loop delay the worst. */
export function combineStats(stats: ProcessStats[]): ProcessStats | undefined {
  const [first, ...rest] = stats;
  if (first === undefined || rest.length === 0) return first;
  const memory = { ...first.memory };
  for (const other of rest)
    for (const key of Object.keys(memory) as (keyof NodeJS.MemoryUsage)[]) memory[key] += other.memory[key];
  const worst = (pick: (s: ProcessStats) => number): number => Math.max(...stats.map(pick));
  return {
    loop: {
      p50Ms: worst((s) => s.loop.p50Ms),
      p99Ms: worst((s) => s.loop.p99Ms),
      maxMs: worst((s) => s.loop.maxMs),
      samples: sum(stats, (s) => s.loop.samples),
    },
    cpuUserMs: sum(stats, (s) => s.cpuUserMs),
    cpuSystemMs: sum(stats, (s) => s.cpuSystemMs),
    memory,
  };
}

/**
 * Pairs each cancel with the upstream stream of its session that was running when it was sent (the latest
 * one started before it). Its latency is that stream's close time minus the send time. A cancel whose
 * stream was not closed by the client (it completed, or it was never closed early because the proxy kept
 * reading), or that has no stream, is counted as unmatched rather than paired with some later stream.
 */
export function matchCancels(
  cancels: CancelRecord[],
  ends: StreamEndRecord[],
): { latencies: number[]; unmatched: number } {
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

function sum<T>(items: readonly T[], pick: (item: T) => number): number {
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
