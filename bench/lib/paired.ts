// `--pair-entry FILE`: two builds of the gateway measured side by side. Every gateway phase runs the run's build
// (dist, or --gateway-entry) and FILE at once, each serving half the sessions, so both see the same host over the
// same window. Runs measured one after the other drift by ±5–10 % in CPU per delta on this 2-vCPU machine; two
// processes measured together see the same drift, and their ratio resolves about 1 %. Each build's CPU is divided
// by the deltas its own clients received.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PathReport } from './phase.js';
import { fmt, row } from './report-format.js';

/** One paired phase: each build's CPU per million deltas over the same window, and the other's ÷ the run's. */
export interface PairedFigure {
  sessions: number;
  /** The run's build: dist, or --gateway-entry. */
  build: number | null;
  /** --pair-entry. */
  other: number | null;
  ratio: number | null;
}

/** The options --pair-entry is checked against (a part of run-options.ts' BenchArgs). */
interface PairOptions {
  'pair-entry'?: string | undefined;
  sweep: boolean;
  redis: boolean;
  'cpu-prof': boolean;
  rounds?: string | undefined;
  'heap-sample'?: string | undefined;
}

/** --pair-entry, checked before anything starts: an existing file, and only where a gateway phase can pair. */
export function pairEntryOf(values: PairOptions): string | null {
  const entry = values['pair-entry'];
  if (entry === undefined) return null;
  const path = resolve(entry);
  if (!existsSync(path)) throw new Error(`--pair-entry: no such file ${path}`);
  const refused = (['sweep', 'redis', 'cpu-prof', 'rounds', 'heap-sample'] as const).filter(
    (name) => values[name] !== undefined && values[name] !== false,
  );
  if (refused.length > 0) throw new Error(`--pair-entry measures levels only; not with --${refused.join(', --')}`);
  return path;
}

/** Load workers for a paired phase: an even count, so that each gateway serves the same number of sessions. */
export const pairedWorkers = (workers: number): number => Math.max(2, workers + (workers % 2));

/**
 * Each build's figure from a paired phase's report: worker w drove gateway w % 2 (phase.ts), so the deltas of the
 * even workers are the run's build's and those of the odd ones the other's.
 */
export function pairedFigure(report: PathReport): PairedFigure {
  const cpu = report.server?.instanceCpuSeconds ?? [];
  const chunks = report.instanceChunks;
  const perMillion = (i: number): number | null => {
    const seconds = cpu[i];
    const deltas = chunks[i] ?? 0;
    return seconds === undefined || deltas === 0 ? null : seconds / (deltas / 1e6);
  };
  const build = perMillion(0);
  const other = perMillion(1);
  const ratio = build === null || other === null ? null : other / build;
  return { sessions: report.sessions, build, other, ratio };
}

/** The report's section: one row per paired phase. */
export function pairedSection(figures: readonly PairedFigure[], buildName: string, otherName: string): string {
  return [
    `Two gateways side by side in every gateway phase, half the sessions each: a = ${buildName}, b = ${otherName}.`,
    "Each one's CPU is divided by the deltas its own clients received. The gateway columns of the tables above are",
    'the two together.',
    '',
    row(['sessions (both together)', 'a: CPU s per million deltas', 'b: CPU s per million deltas', 'b ÷ a']),
    row(['---', '---', '---', '---']),
    ...figures.map((f) =>
      row([String(f.sessions), fmt(f.build), fmt(f.other), f.ratio === null ? '–' : `${f.ratio.toFixed(3)}`]),
    ),
  ].join('\n');
}
