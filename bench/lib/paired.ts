// `--pair-entry FILE`: two builds of the gateway measured side by side. Each level's gateway phase runs the run's
// build (dist/, --gateway-entry, or src with --from-src and --smoke) and FILE at once, each serving half the sessions,
// so both see the same host over the same window. Runs measured one after the other drift by up to 18 % in CPU per
// delta on this 2-vCPU machine; two processes measured together see the same drift, but one pair still reads the same
// build on both sides anywhere from 0.970 to 1.049 here. So --rounds N measures N fresh pairs per level, the builds
// swapping places every other round (which is the phase's first gateway: the one the even load workers drive, whose CPU
// and deltas are read first; both still start together), and reports the geometric mean of the N ratios. The
// two also share the caches and the cores, which may pull a real difference toward 1. Each build's CPU is divided by
// the deltas its own clients received. The idle phase runs the run's build alone.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PathReport } from './phase.js';
import { fmt, row } from './report-format.js';

/** One paired phase: each build's CPU per million deltas over the same window, and the other's ÷ the run's. */
export interface PairedFigure {
  sessions: number;
  /** 1-based; in even rounds FILE is the phase's first gateway (even load workers) and the run's build the second. */
  round: number;
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
  'heap-sample'?: string | undefined;
  paths?: string | undefined;
}

/**
 * The options that would mix the two gateways' figures into one (the floor relay's ratio, the probes, the profiles),
 * or measure no paired level at all.
 */
const REFUSED = ['sweep', 'redis', 'floor', 'cpu-prof', 'heap-sample', 'probe-writes', 'probe-upstream'] as const;

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

/** Whether FILE is the first gateway of this round's pair: every other round, so neither build keeps one place. */
export const pairSwapped = (round: number): boolean => round % 2 === 0;

/**
 * Each build's figure from a paired phase's report: worker w drove gateway w % 2 (phase.ts), so the deltas of the
 * even workers are the first gateway's (the run's build, or FILE in a swapped round) and those of the odd ones the
 * second's.
 */
export function pairedFigure(report: PathReport, round = 1): PairedFigure {
  const cpu = report.server?.instanceCpuSeconds ?? [];
  const chunks = report.instanceChunks;
  const perMillion = (i: number): number | null => {
    const seconds = cpu[i];
    const deltas = chunks[i] ?? 0;
    return seconds === undefined || deltas === 0 ? null : seconds / (deltas / 1e6);
  };
  const swapped = pairSwapped(round);
  const build = perMillion(swapped ? 1 : 0);
  const other = perMillion(swapped ? 0 : 1);
  const ratio = build === null || other === null ? null : other / build;
  return { sessions: report.sessions, round, build, other, ratio };
}

/** A level's rounds together: the geometric mean of their ratios (a ratio and its inverse average to 1) and range. */
export interface PairedLevel {
  sessions: number;
  ratios: number[];
  mean: number | null;
  min: number | null;
  max: number | null;
}

/** One summary per level, in the order the levels ran; rounds without a ratio are left out. */
export function pairedLevels(figures: readonly PairedFigure[]): PairedLevel[] {
  const levels = new Map<number, number[]>();
  for (const { sessions, ratio } of figures) {
    const ratios = levels.get(sessions) ?? [];
    if (ratio !== null) ratios.push(ratio);
    levels.set(sessions, ratios);
  }
  return [...levels].map(([sessions, ratios]) => ({
    sessions,
    ratios,
    mean: ratios.length === 0 ? null : Math.exp(ratios.reduce((sum, r) => sum + Math.log(r), 0) / ratios.length),
    min: ratios.length === 0 ? null : Math.min(...ratios),
    max: ratios.length === 0 ? null : Math.max(...ratios),
  }));
}

/** The report's section: one row per paired phase. */
export function pairedSection(figures: readonly PairedFigure[], buildName: string, otherName: string): string {
  return [
    `Two gateways side by side in each level's gateway phase, half the sessions each: a = ${buildName},`,
    `b = ${otherName}.`,
    "Each one's CPU is divided by the deltas its own clients received. The gateway figures elsewhere in these results",
    '(the level tables, targets and cost) are the two together. "b first": in that round b was the first gateway',
    '(the even load workers); the a and b columns always follow the build, not the place.',
    '',
    row(['sessions (both together)', 'round', 'a: CPU s per million deltas', 'b: CPU s per million deltas', 'b ÷ a']),
    row(['---', '---', '---', '---', '---']),
    ...figures.map((f) =>
      row([
        String(f.sessions),
        `${f.round}${pairSwapped(f.round) ? ' (b first)' : ''}`,
        fmt(f.build),
        fmt(f.other),
        fmt(f.ratio, 3),
      ]),
    ),
    ...(figures.some((f) => f.round > 1) ? ['', levelsTable(pairedLevels(figures))] : []),
  ].join('\n');
}

function levelsTable(levels: readonly PairedLevel[]): string {
  return [
    row(['sessions', 'rounds with a ratio', 'b ÷ a, geometric mean', 'range']),
    row(['---', '---', '---', '---']),
    ...levels.map((l) =>
      row([String(l.sessions), String(l.ratios.length), fmt(l.mean, 3), `${fmt(l.min, 3)}–${fmt(l.max, 3)}`]),
    ),
  ].join('\n');
}
