// The measurements of one `bench/run.ts` run: the idle-memory phase, then every level on every path, each
// phase re-run (up to --attempts) while other work on the host disturbed it; one log line per phase. The
// capacity sweep (sweep.ts) and the scale-out phases (scale-out.ts) measure through the same helpers.

import { cpuPair, cpuRatioLevel, type CpuPair, type CpuRatioLevel } from './cpu-ratio.js';
import type { PathName } from './messages.js';
import { pairedFigure, pairSwapped, type PairedFigure } from './paired.js';
import { runPhase, type PathReport, type PhasePlan } from './phase.js';
import { fmt } from './report-format.js';
import { buildLevel, waitText, type LevelReport } from './report.js';
import { OTHER_CPU_LIMIT, log, type BenchSettings } from './run-options.js';
import type { BenchServers } from './run-servers.js';
import { runSweep, type SweepReport, type ThroughPath } from './sweep.js';

export interface Measured {
  levelReports: LevelReport[];
  /** Every measured phase in order. */
  phases: PathReport[];
  idleReport: PathReport | null;
  /** With --floor: the gateway's CPU per delta over the floor relay's, per level (--rounds alternated pairs). */
  cpuRatios: CpuRatioLevel[];
  /** With --pair-entry: each level's two builds, measured side by side. */
  paired: PairedFigure[];
}

/** Runs every phase of the run; `workers` is the load-generator count at >= 500 sessions. */
export async function measureLevels(
  servers: BenchServers,
  settings: BenchSettings,
  workers: number,
): Promise<Measured> {
  const { idleSessions, onlyPaths } = settings;
  const measured: Measured = { levelReports: [], phases: [], idleReport: null, cpuRatios: [], paired: [] };
  if (idleSessions > 0 && (onlyPaths === undefined || onlyPaths.includes('gateway'))) {
    await servers.freshGateway(`idle-${idleSessions}`);
    const idleReport = await runPhase(
      servers.contextFor('gateway', settings.workload, settings.smoke),
      planFor(settings, workers, 'gateway', idleSessions, true),
    );
    measured.idleReport = idleReport;
    log(
      `  idle @${idleSessions}: RSS per session ${((idleReport.server?.rssPerSessionBytes ?? 0) / 1024).toFixed(1)} KiB; CPU to connect ${(idleReport.server?.connectCpuMicrosPerSession ?? 0).toFixed(0)} µs per session`,
    );
  }
  for (const sessions of settings.levels) await measureLevel(servers, settings, workers, sessions, measured);
  return measured;
}

/**
 * One level: every path once (the level's table), then rounds 2..N. With --floor each round is a pair of CPU per
 * delta of the gateway and the floor relay (cpu-ratio.ts); even rounds measure the floor first, so that a drift of
 * the host in one direction over the rounds does not favour either. With --pair-entry each round is a gateway phase
 * of a fresh pair of builds, in places swapped every other round (paired.ts).
 */
async function measureLevel(
  servers: BenchServers,
  settings: BenchSettings,
  workers: number,
  sessions: number,
  measured: Measured,
): Promise<void> {
  const paths = servers.paths().filter((p) => settings.onlyPaths === undefined || settings.onlyPaths.includes(p));
  const reports: Partial<Record<PathName, PathReport>> = {};
  const pairs: CpuPair[] = [];
  for (let round = 1; round <= settings.rounds; round += 1) {
    const inRound: Partial<Record<PathName, PathReport>> = {};
    const order: PathName[] = round % 2 === 0 ? ['floor', 'gateway'] : ['gateway', 'floor'];
    for (const path of round === 1 ? paths : order.filter((p) => paths.includes(p))) {
      const report = await measurePath(servers, settings, workers, path, sessions, round);
      inRound[path] = report;
      log(phaseLine(round === 1 ? path : `${path} #${round}`, sessions, report));
      measured.phases.push(report);
    }
    if (round === 1) Object.assign(reports, inRound);
    if (settings.pairEntry !== null && inRound.gateway !== undefined) {
      const figure = pairedFigure(inRound.gateway, round);
      measured.paired.push(figure);
      log(
        `  paired @${sessions}${round === 1 ? '' : ` #${round}`}: a ${fmt(figure.build)}, b ${fmt(figure.other)} s per million deltas; b ÷ a ${fmt(figure.ratio, 3)}`,
      );
    }
    if (inRound.gateway !== undefined && inRound.floor !== undefined)
      pairs.push(cpuPair(inRound.gateway, inRound.floor));
  }
  if (pairs.length > 0) measured.cpuRatios.push(cpuRatioLevel(sessions, pairs));
  if (reports.direct !== undefined && reports.gateway !== undefined) {
    measured.levelReports.push(
      buildLevel(reports.direct, reports.gateway, reports.peer ?? null, reports.floor ?? null),
    );
  }
}

/** --sweep: every path the run started (and --paths allows) through the sweep's schedule. */
export function measureSweep(
  servers: BenchServers,
  settings: BenchSettings,
  workers: number,
  sweep: { steps: number[]; kneeMs: number },
): Promise<SweepReport> {
  const { onlyPaths } = settings;
  const paths = servers
    .paths()
    .filter((p): p is ThroughPath => p !== 'direct' && (onlyPaths === undefined || onlyPaths.includes(p)));
  return runSweep(
    { ...sweep, paths },
    async (path, sessions) => {
      const report = await measurePath(servers, settings, workers, path, sessions);
      log(phaseLine(path, sessions, report));
      return report;
    },
    log,
  );
}

/**
 * One path at one level: the cleanest of up to settings.attempts phases (a fresh gateway for each). `round` places
 * the two builds of a --pair-entry phase (paired.ts).
 */
export function measurePath(
  servers: BenchServers,
  settings: BenchSettings,
  workers: number,
  path: PathName,
  sessions: number,
  round = 1,
): Promise<PathReport> {
  return measureCleanest(settings, `${path} @${sessions}`, async () => {
    const plan = planFor(settings, workers, path, sessions);
    if (path === 'gateway' && settings.pairEntry !== null) {
      await servers.freshPair(`${sessions}`, settings.pairEntry, pairSwapped(round));
      plan.workers = workersFor(plan.workers, 2);
    } else if (path === 'gateway') await servers.freshGateway(`${sessions}`);
    return runPhase(servers.contextFor(path, settings.workload, settings.smoke), plan);
  });
}

/** Runs `attempt` (one phase) up to settings.attempts times while other work disturbed it; keeps the cleanest. */
export async function measureCleanest(
  settings: BenchSettings,
  label: string,
  attempt: () => Promise<PathReport>,
): Promise<PathReport> {
  let report = await attempt();
  let tried = report;
  for (let n = 1; tried.otherCpuPercent > OTHER_CPU_LIMIT; n++) {
    log(
      `  ${label}: other work took ${tried.otherCpuPercent.toFixed(0)} % of the machine during attempt ${n}${n < settings.attempts ? '; measuring again' : ''}`,
    );
    if (n >= settings.attempts) break;
    tried = await attempt();
    if (tried.otherCpuPercent < report.otherCpuPercent) report = tried;
  }
  return report;
}

export function planFor(
  settings: BenchSettings,
  workers: number,
  path: PathName,
  sessions: number,
  idle = false,
): PhasePlan {
  const { smoke, mode } = settings;
  return {
    path,
    sessions,
    workers: sessions >= 500 ? workers : 1,
    idle,
    rampMs: smoke ? 0 : settings.cycleMs,
    warmMs: smoke ? 0 : mode === 'quick' ? 500 : 1_000,
    measureMs: idle ? 2_000 : settings.measureMsFor(sessions),
    maxTurns: smoke ? 2 : 0,
  };
}

/**
 * Load workers for `instances` gateways sharing a phase (worker w drives gateway w % instances): a multiple of the
 * instances, so that each gets the same number of workers and sessions.
 */
export const workersFor = (workers: number, instances: number): number =>
  Math.ceil(Math.max(workers, instances) / instances) * instances;

/** The figures of one phase on one line: latencies, turns, and each process's CPU and event-loop delay. */
export function phaseLine(path: string, sessions: number, report: PathReport): string {
  const server = report.server;
  const proxy =
    server === null
      ? ''
      : `proxy ${((100 * server.cpuSeconds) / report.windowSeconds).toFixed(0)}% (sys ${((100 * server.cpuSystemSeconds) / report.windowSeconds).toFixed(0)}%) ${server.cpuSecondsPerMillionChunks?.toFixed(1)} s/M loop p99 ${server.loop.p99Ms.toFixed(1)} ms; `;
  const writes = server?.writes?.count
    ? `writes ${server.writes.count} avg ${((1000 * server.writes.wallMs) / Math.max(1, server.writes.count)).toFixed(1)} µs; `
    : '';
  const upstream = server?.upstream
    ? `upstream: ${server.upstream.connects} connects, request → headers p50 / p90 ms (n) first on a socket ${waitText(server.upstream.fresh)}, reused ${waitText(server.upstream.reused)}; `
    : '';
  return (
    `  ${path.padEnd(7)} @${sessions}: first token p50 ${report.ttftMs.p50?.toFixed(2)} p99 ${report.ttftMs.p99?.toFixed(2)} ms; ` +
    `per-token p50 ${report.perTokenMs.p50?.toFixed(3)} p99 ${report.perTokenMs.p99?.toFixed(3)} ms; cancel p99 ${report.cancelMs.p99?.toFixed(3)} ms; ` +
    `${report.turns.inWindow} turns; sim ${report.simulator.cpuPercent.toFixed(0)}% loop p99 ${report.simulator.loop.p99Ms.toFixed(1)} ms; ` +
    `loadgen ${report.loadgen.map((l) => `${l.cpuPercent.toFixed(0)}%/${l.loopP99Ms.toFixed(1)} ms`).join(' ')}; ` +
    `${proxy}${writes}${upstream}machine ${report.machineCpuPercent.toFixed(0)}% (not ours ${report.otherCpuPercent.toFixed(0)}%)`
  );
}
