// `--pair-entry FILE`: two builds of the gateway measured side by side. Each level's gateway phase runs the run's
// build (dist/, --gateway-entry, or src with --from-src and --smoke) and FILE at once, each serving half the sessions,
// so both see the same host over the same window. Runs measured one after the other drift by up to 18 % in CPU per
// delta on this 2-vCPU machine; two processes measured together see the same drift (the same build on both sides read
// 0.984–1.012 here). They also share the caches and the cores, which may pull a real difference toward 1. Each
// build's CPU is divided by the deltas its own clients received. The idle phase runs the run's build alone.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PathReport } from './phase.js';
import { fmt, row } from './report-format.js';

/** One paired phase: each build's CPU per million deltas over the same window, and the other's ÷ the run's. */
export interface PairedFigure {
  sessions: number;
  /** The run's build: dist/, --gateway-entry, or src with --from-src and --smoke. */
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
  floor: boolean;
  'cpu-prof': boolean;
  'probe-writes': boolean;
  'probe-upstream': boolean;
  rounds?: string | undefined;
  'heap-sample'?: string | undefined;
  paths?: string | undefined;
}

/**
 * The options that would mix the two gateways' figures into one (the floor relay's ratio, the probes, the profiles),
 * or measure no paired level at all.
 */
const REFUSED = [
  'sweep',
  'redis',
  'floor',
  'rounds',
  'cpu-prof',
  'heap-sample',
  'probe-writes',
  'probe-upstream',
] as const;

/**
 * --pair-entry, checked before anything starts: an existing file, a gateway phase at every level, and at least two
 * sessions per level (one for each build).
 */
export function pairEntryOf(values: PairOptions, levels: readonly number[]): string | null {
  const entry = values['pair-entry'];
  if (entry === undefined) return null;
  const path = resolve(entry);
  if (!existsSync(path)) throw new Error(`--pair-entry: no such file ${path}`);
  const refused = REFUSED.filter((name) => values[name] !== undefined && values[name] !== false);
  if (refused.length > 0)
    throw new Error(`--pair-entry compares two gateways only; not with --${refused.join(', --')}`);
  if (values.paths !== undefined && !values.paths.split(',').includes('gateway'))
    throw new Error('--pair-entry needs the gateway in --paths');
  if (levels.length === 0 || levels.some((sessions) => sessions < 2))
    throw new Error('--pair-entry needs --levels of at least 2 sessions each (half for each build)');
  return path;
}

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
    `Two gateways side by side in each level's gateway phase, half the sessions each: a = ${buildName},`,
    `b = ${otherName}.`,
    "Each one's CPU is divided by the deltas its own clients received. The gateway figures elsewhere in these results",
    '(the level tables, targets and cost) are the two together.',
    '',
    row(['sessions (both together)', 'a: CPU s per million deltas', 'b: CPU s per million deltas', 'b ÷ a']),
    row(['---', '---', '---', '---']),
    ...figures.map((f) =>
      row([String(f.sessions), fmt(f.build), fmt(f.other), f.ratio === null ? '–' : `${f.ratio.toFixed(3)}`]),
    ),
  ].join('\n');
}
