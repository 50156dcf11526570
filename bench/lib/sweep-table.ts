// The capacity sweep's tables (sweep.ts computes them): each path's knee and its CPU there, the ratios of the
// knees against the targets, and every measured step.

import { errorCount, proxyCores } from './phase.js';
import { fmt, row, signed } from './report-format.js';
import type { KneeRatio, PathKnee, SweepReport, ThroughPath } from './sweep.js';

/** How the tables name each through-path. */
export const PATH_NAMES: Record<ThroughPath, string> = {
  gateway: 'gateway',
  floor: 'floor relay',
  peer: 'Portkey (peer)',
};

/** The knees, the ratios and the steps, as markdown. */
export function sweepTables(sweep: SweepReport): string {
  const note =
    'Every measured step. A step that failed was measured once more: the p99 column lists both measurements, ' +
    'and the other figures are those of the one kept (the passing one, or else the lower).';
  return [kneeTable(sweep), '', ratioTable(sweep), '', note, '', stepTable(sweep)].join('\n');
}

/** A knee as a reader takes it: "< first step" when the first step failed, "≥ N" when no step failed. */
export function kneeText(knee: PathKnee, schedule: number[]): string {
  if (knee.knee === null) return `< ${schedule[0] ?? '?'}`;
  return knee.failedAt === null ? `≥ ${knee.knee}` : String(knee.knee);
}

function kneeTable(sweep: SweepReport): string {
  const lines = [
    row([
      'path',
      'knee (sessions)',
      'failed at',
      `added first-token p99 at the knee (ms, limit ${sweep.kneeMs})`,
      'machine CPU % at the knee (all cores = 100) / not ours',
      'path CPU % of one core at the knee',
      'path CPU s per million deltas at the knee',
      'path cores per 1,000 sessions at the knee',
      'failed steps below the knee',
    ]),
    row(Array.from({ length: 9 }, () => '---')),
  ];
  for (const knee of sweep.knees) {
    const at = knee.atKnee;
    lines.push(
      row([
        PATH_NAMES[knee.path],
        kneeText(knee, sweep.schedule),
        knee.failedAt === null ? '–' : String(knee.failedAt),
        signed(at?.addedTtftP99),
        at === null ? '–' : `${fmt(at.machineCpuPercent, 0)} / ${fmt(at.otherCpuPercent, 0)}`,
        fmt(at?.proxyCpuPercent, 1),
        fmt(at?.cpuSecondsPerMillionChunks, 1),
        fmt(at?.coresPer1000Sessions, 3),
        knee.isolatedFailures.join(', ') || '–',
      ]),
    );
  }
  return lines.join('\n');
}

function ratioTable(sweep: SweepReport): string {
  const lines = [row(['capacity target', 'knees', 'ratio', 'met']), row(['---', '---', '---', '---'])];
  const knee = (path: ThroughPath): string => {
    const found = sweep.knees.find((k) => k.path === path);
    return found === undefined ? '–' : kneeText(found, sweep.schedule);
  };
  for (const ratio of sweep.ratios) {
    lines.push(
      row([
        `${PATH_NAMES[ratio.of]} knee ≥ ${ratio.target} × ${PATH_NAMES[ratio.to]} knee`,
        `${knee(ratio.of)} / ${knee(ratio.to)}`,
        ratioText(ratio),
        ratio.met === null ? 'undecided' : ratio.met ? 'yes' : '**no**',
      ]),
    );
  }
  if (sweep.ratios.length === 0) lines.push(row(['(run --floor and --peer portkey for the ratios)', '', '', '']));
  return lines.join('\n');
}

function ratioText(ratio: KneeRatio): string {
  const value = fmt(ratio.ratio, 2);
  return { exact: value, 'at least': `≥ ${value}`, 'at most': `≤ ${value}`, unknown: `${value}?` }[ratio.bound];
}

function stepTable(sweep: SweepReport): string {
  const lines = [
    row([
      'sessions',
      'path',
      'first token p99: direct → path (ms)',
      'added first token p50 / p99 (ms)',
      'added per-token p99 (ms)',
      'cancel p99 (ms)',
      'path CPU % of one core',
      'machine CPU % / not ours',
      'failed turns / errors',
      `within ${sweep.kneeMs} ms`,
    ]),
    row(Array.from({ length: 10 }, () => '---')),
  ];
  for (const step of sweep.steps) {
    for (const cell of step.cells) {
      const { report, added } = cell;
      const cores = proxyCores(report);
      lines.push(
        row([
          String(step.sessions),
          PATH_NAMES[cell.path],
          `${fmt(step.direct.ttftMs.p99)} → ${fmt(report.ttftMs.p99)}`,
          `${signed(added.ttftP50)} / ${cell.addedTtftP99.map((v) => signed(v)).join(', again ')}`,
          signed(added.perTokenP99, 3),
          fmt(report.cancelMs.p99, 2),
          fmt(cores === null ? null : 100 * cores, 1),
          `${fmt(report.machineCpuPercent, 0)} / ${fmt(report.otherCpuPercent, 0)}`,
          `${report.turns.failed} / ${errorCount(report)}`,
          cell.pass ? 'yes' : `**no** (${cell.reason})`,
        ]),
      );
    }
  }
  return lines.join('\n');
}
