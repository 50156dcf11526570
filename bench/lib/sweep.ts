// The capacity sweep (`--sweep`): at each step of a schedule of concurrent sessions, the direct path and every
// through-path still in the sweep are measured; a path's step passes while its added first-token p99 stays
// within the knee limit. The knee rule, each path's knee and the ratios of the knees live here; measuring a
// phase is the caller's (bench/run.ts passes run-levels.ts's measurePath), the tables are sweep-table.ts's.

import type { PathName } from './messages.js';
import { errorCount, proxyCores, type PathReport } from './phase.js';
import { signed } from './report-format.js';
import { addedFigures, type AddedFigures } from './report.js';

export type ThroughPath = Exclude<PathName, 'direct'>;

/** One through-path at one step. */
export interface SweepCell {
  path: ThroughPath;
  sessions: number;
  /** The measurement the step is judged on: when a failing step was measured again, the better of the two. */
  report: PathReport;
  added: AddedFigures;
  /** Added first-token p99 (ms) of each measurement in order: two when the first one failed. */
  addedTtftP99: (number | null)[];
  pass: boolean;
  /** Why the kept measurement failed (added p99 over the limit, failed turns, errors, refused sessions). */
  reason: string | null;
}

export interface SweepStep {
  sessions: number;
  direct: PathReport;
  cells: SweepCell[];
}

/** A path's figures at its knee step. */
export interface KneeFigures {
  /** Machine CPU, all cores = 100, and the part of it other work on the host used. */
  machineCpuPercent: number;
  otherCpuPercent: number;
  /** The path's own process (all its instances), % of one core. */
  proxyCpuPercent: number | null;
  cpuSecondsPerMillionChunks: number | null;
  addedTtftP99: number | null;
  /** The proxy's CPU-seconds per second (cores) scaled to 1,000 sessions of this workload. */
  coresPer1000Sessions: number | null;
}

export interface PathKnee {
  path: ThroughPath;
  /** The largest step that passed; null when the first step failed (the knee is below the schedule). */
  knee: number | null;
  /** The first failed step above the knee; null when none failed (the knee is at or past the schedule's end). */
  failedAt: number | null;
  /** Failed steps below the knee: the path went on because they were not two in a row. */
  isolatedFailures: number[];
  atKnee: KneeFigures | null;
}

export interface KneeRatio {
  of: ThroughPath;
  to: ThroughPath;
  /** The issue's target: `of`'s knee at least `target` × `to`'s. */
  target: number;
  ratio: number | null;
  /**
   * 'exact' at the schedule's resolution; 'at least' or 'at most' when a knee is only bounded (its path failed
   * the first step, or never failed); 'unknown' when the bounds point both ways.
   */
  bound: 'exact' | 'at least' | 'at most' | 'unknown';
  met: boolean | null;
}

export interface SweepReport {
  kneeMs: number;
  schedule: number[];
  steps: SweepStep[];
  knees: PathKnee[];
  ratios: KneeRatio[];
}

export interface SweepOptions {
  steps: number[];
  kneeMs: number;
  paths: ThroughPath[];
}

export type Measure = (path: PathName, sessions: number) => Promise<PathReport>;

/** The issue's capacity targets: the gateway's knee against the floor relay's and Portkey's. */
const RATIO_TARGETS: { of: ThroughPath; to: ThroughPath; target: number }[] = [
  { of: 'gateway', to: 'floor', target: 0.8 },
  { of: 'gateway', to: 'peer', target: 5 },
];

/**
 * Raises the sessions step by step. A failing step is measured once more and passes if either measurement does
 * (the host's noise only ever adds latency); a path leaves the sweep after two failed steps in a row, and the
 * sweep ends when no path is left or the schedule is done.
 */
export async function runSweep(
  options: SweepOptions,
  measure: Measure,
  log: (line: string) => void,
): Promise<SweepReport> {
  const { steps: schedule, kneeMs, paths } = options;
  const failedInARow = new Map<ThroughPath, number>(paths.map((p) => [p, 0]));
  const steps: SweepStep[] = [];
  const startedAt = Date.now();
  for (const [i, sessions] of schedule.entries()) {
    const active = paths.filter((p) => (failedInARow.get(p) ?? 0) < 2);
    if (active.length === 0) break;
    const elapsed = Math.round((Date.now() - startedAt) / 1000);
    log(`sweep step ${i + 1}/${schedule.length}: ${sessions} sessions, ${active.join(', ')} (${elapsed} s in)`);
    const direct = await measure('direct', sessions);
    const cells: SweepCell[] = [];
    for (const path of active) {
      const cell = await measureCell(path, sessions, direct, kneeMs, measure, log);
      const inARow = cell.pass ? 0 : (failedInARow.get(path) ?? 0) + 1;
      failedInARow.set(path, inARow);
      if (inARow === 2) log(`sweep: ${path} failed two steps in a row; it leaves the sweep`);
      cells.push(cell);
    }
    steps.push({ sessions, direct, cells });
  }
  const knees = paths.map((path) => kneeOf(path, steps));
  return { kneeMs, schedule, steps, knees, ratios: kneeRatios(knees, schedule[0] ?? 0) };
}

async function measureCell(
  path: ThroughPath,
  sessions: number,
  direct: PathReport,
  kneeMs: number,
  measure: Measure,
  log: (line: string) => void,
): Promise<SweepCell> {
  const first = judge(await measure(path, sessions), direct, kneeMs);
  const verdict = (j: Judged): string =>
    `added first-token p99 ${signed(j.added.ttftP99)} ms${j.reason === null ? '' : `: ${j.reason}`}`;
  if (first.pass) {
    log(`sweep @${sessions} ${path}: ${verdict(first)}: passes`);
    return { path, sessions, ...first, addedTtftP99: [first.added.ttftP99] };
  }
  log(`sweep @${sessions} ${path}: ${verdict(first)}; measuring the step again`);
  const second = judge(await measure(path, sessions), direct, kneeMs);
  const kept = second.pass || (second.added.ttftP99 ?? Infinity) < (first.added.ttftP99 ?? Infinity) ? second : first;
  log(`sweep @${sessions} ${path}: again ${verdict(second)}: ${second.pass ? 'passes' : 'fails'}`);
  return { path, sessions, ...kept, addedTtftP99: [first.added.ttftP99, second.added.ttftP99] };
}

interface Judged {
  report: PathReport;
  added: AddedFigures;
  pass: boolean;
  reason: string | null;
}

/** A step passes when added first-token p99 ≤ kneeMs and no turn failed, no error came and every session connected. */
export function judge(report: PathReport, direct: PathReport, kneeMs: number): Judged {
  const added = addedFigures(report, direct);
  const errors = errorCount(report);
  const problems = [
    added.ttftP99 === null ? 'no first token measured' : added.ttftP99 > kneeMs ? `over ${kneeMs} ms` : '',
    report.turns.failed > 0 ? `${report.turns.failed} failed turns` : '',
    errors > 0 ? `${errors} errors` : '',
    report.connectFailed > 0 ? `${report.connectFailed} sessions did not connect` : '',
  ].filter((p) => p !== '');
  return { report, added, pass: problems.length === 0, reason: problems.length === 0 ? null : problems.join(', ') };
}

/** A path's knee: the largest step that passed, the first failed step above it, and its figures there. */
export function kneeOf(path: ThroughPath, steps: SweepStep[]): PathKnee {
  const cells = steps.flatMap((s) => s.cells.filter((c) => c.path === path));
  const passed = cells.filter((c) => c.pass);
  const kneeCell = passed.at(-1);
  const knee = kneeCell?.sessions ?? null;
  const failed = cells.filter((c) => !c.pass).map((c) => c.sessions);
  return {
    path,
    knee,
    failedAt: failed.find((s) => knee === null || s > knee) ?? null,
    isolatedFailures: knee === null ? [] : failed.filter((s) => s < knee),
    atKnee: kneeCell === undefined ? null : kneeFigures(kneeCell),
  };
}

function kneeFigures(cell: SweepCell): KneeFigures {
  const { report } = cell;
  const cores = proxyCores(report);
  return {
    machineCpuPercent: report.machineCpuPercent,
    otherCpuPercent: report.otherCpuPercent,
    proxyCpuPercent: cores === null ? null : 100 * cores,
    cpuSecondsPerMillionChunks: report.server?.cpuSecondsPerMillionChunks ?? null,
    addedTtftP99: cell.added.ttftP99,
    coresPer1000Sessions: cores === null ? null : (cores * 1000) / cell.sessions,
  };
}

/** The ratios of the issue's targets whose two paths were both in the sweep; `firstStep` bounds a missing knee. */
export function kneeRatios(knees: PathKnee[], firstStep: number): KneeRatio[] {
  const byPath = new Map(knees.map((k) => [k.path, k]));
  return RATIO_TARGETS.flatMap(({ of, to, target }) => {
    const a = byPath.get(of);
    const b = byPath.get(to);
    return a === undefined || b === undefined ? [] : [{ of, to, target, ...ratioOf(a, b, firstStep, target) }];
  });
}

/**
 * a's knee over b's. A knee of null lies below the first step; a path that never failed may reach further
 * than its knee. Either leaves the ratio bounded on one side only, and only that side can decide the target.
 */
function ratioOf(a: PathKnee, b: PathKnee, firstStep: number, target: number): Omit<KneeRatio, 'of' | 'to' | 'target'> {
  if (a.knee === null && b.knee === null) return { ratio: null, bound: 'unknown', met: null };
  let ratio: number;
  let bound: KneeRatio['bound'];
  if (b.knee === null) [ratio, bound] = [a.knee! / firstStep, 'at least'];
  else if (a.knee === null) [ratio, bound] = [firstStep / b.knee, 'at most'];
  else {
    const aOpen = a.failedAt === null;
    const bOpen = b.failedAt === null;
    ratio = a.knee / b.knee;
    bound = aOpen && bOpen ? 'unknown' : aOpen ? 'at least' : bOpen ? 'at most' : 'exact';
  }
  const met =
    bound === 'exact'
      ? ratio >= target
      : bound === 'at least' && ratio >= target
        ? true
        : bound === 'at most' && ratio < target
          ? false
          : null;
  return { ratio, bound, met };
}
