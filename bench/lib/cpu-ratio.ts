// Issue #18 §2's figure: the gateway's CPU per delta over the floor relay's, at each level of a `--floor` run.
// The host drifts between phases (the floor alone has measured 33–45 s per million deltas on different runs),
// so one gateway phase against one floor phase is a noisy ratio. `--rounds N` measures the two N times (every
// other round the floor first), and the figure is the median of the N pairs' ratios, reported with every pair so
// the spread is in plain sight.

import type { PathReport } from './phase.js';
import { fmt, row } from './report-format.js';

/** One alternated pair: each path's CPU seconds per million deltas, and their ratio (null if one is missing). */
export interface CpuPair {
  gateway: number | null;
  floor: number | null;
  ratio: number | null;
}

export interface CpuRatioLevel {
  sessions: number;
  pairs: CpuPair[];
  /** The median of the pairs' ratios (the mean of the middle two when even); null when no pair has one. */
  median: number | null;
  min: number | null;
  max: number | null;
}

const perMillion = (report: PathReport | undefined): number | null =>
  report?.server?.cpuSecondsPerMillionChunks ?? null;

/** A pair from the gateway's and the floor's phase of one round. */
export function cpuPair(gateway: PathReport | undefined, floor: PathReport | undefined): CpuPair {
  const g = perMillion(gateway);
  const f = perMillion(floor);
  return { gateway: g, floor: f, ratio: g !== null && f !== null && f > 0 ? g / f : null };
}

export function cpuRatioLevel(sessions: number, pairs: CpuPair[]): CpuRatioLevel {
  const ratios = pairs.flatMap((p) => (p.ratio === null ? [] : [p.ratio])).sort((a, b) => a - b);
  const middle = ratios.length >> 1;
  const median =
    ratios.length === 0
      ? null
      : ratios.length % 2 === 1
        ? (ratios[middle] as number)
        : ((ratios[middle - 1] as number) + (ratios[middle] as number)) / 2;
  return { sessions, pairs, median, min: ratios[0] ?? null, max: ratios.at(-1) ?? null };
}

/** Each level's median ratio, its range and every pair, as markdown. */
export function cpuRatioTable(levels: CpuRatioLevel[]): string {
  const lines = [
    row(['sessions', 'gateway ÷ floor (median)', 'range', 'pairs: gateway / floor s per million deltas (ratio)']),
    row(['---', '---', '---', '---']),
  ];
  for (const level of levels) {
    const pairs = level.pairs.map((p) => `${fmt(p.gateway, 1)} / ${fmt(p.floor, 1)} (${fmt(p.ratio, 2)})`).join('; ');
    const range = level.pairs.length > 1 ? `${fmt(level.min, 2)}–${fmt(level.max, 2)}` : '–';
    lines.push(row([String(level.sessions), `${fmt(level.median, 2)}×`, range, pairs]));
  }
  return lines.join('\n');
}
