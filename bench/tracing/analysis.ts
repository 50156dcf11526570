// The tracing bench's figures: each measured window cut down to what it compares (first token, turns, deltas,
// the gateway's CPU), both modes pooled over the rounds, what tracing adds, and the targets of issue #19 (on
// adds under 1 ms per turn: first token p50 and CPU) with the check that the tracing gateway did export.

import type { Summary } from '../lib/clock.js';
import type { PathReport } from '../lib/phase.js';
import type { SinkStats } from './otlp-sink.js';

/** The gateway without tracing (OTEL_EXPORTER_OTLP_ENDPOINT unset) and the one exporting to the sink. */
export type TracingMode = 'off' | 'on';

export interface WindowFigures {
  round: number;
  mode: TracingMode;
  /** Client time from `turn` sent to the first response.delta, turns sent in the window. */
  ttftMs: Summary;
  /** Turns sent in the window, and all the phase started (warm-up included). */
  turns: number;
  turnsStarted: number;
  failed: number;
  errors: Record<string, number>;
  /** Content chunks (deltas) the clients received in the window. */
  chunks: number;
  /** The gateway process's user + system CPU over the window (/proc/<pid>/stat). */
  cpuSeconds: number;
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  windowSeconds: number;
  /** Machine CPU other work used in the window, % of all cores. */
  otherCpuPercent: number;
}

export interface ModeFigures {
  windows: number;
  /** Median over the rounds of each window's percentile. */
  firstTokenP50Ms: number | null;
  firstTokenP99Ms: number | null;
  turns: number;
  chunks: number;
  cpuSeconds: number;
  /** Pooled: all windows' CPU over all their deltas, and over all their turns. */
  cpuMsPer1000Deltas: number | null;
  cpuMsPerTurn: number | null;
}

export interface TracingFigures {
  off: ModeFigures;
  on: ModeFigures;
  /** Median over the rounds of (on − off) within the round: adjacent windows, so drift mostly cancels. */
  addedFirstTokenP50Ms: number | null;
  addedFirstTokenP99Ms: number | null;
  cpuPerDeltaRatio: number | null;
  addedCpuMsPerTurn: number | null;
}

export interface Target {
  id: string;
  kind: 'target' | 'check';
  description: string;
  value: number | null;
  limit: string;
  pass: boolean;
}

/** What tracing may add per turn (issue #19). */
export const TARGET_MS = 1;

export function windowFigures(round: number, mode: TracingMode, report: PathReport): WindowFigures {
  return {
    round,
    mode,
    ttftMs: report.ttftMs,
    turns: report.turns.inWindow,
    turnsStarted: report.turns.started,
    failed: report.turns.failed,
    errors: report.errors,
    chunks: report.chunks,
    cpuSeconds: report.server?.cpuSeconds ?? 0,
    cpuUserSeconds: report.server?.cpuUserSeconds ?? 0,
    cpuSystemSeconds: report.server?.cpuSystemSeconds ?? 0,
    windowSeconds: report.windowSeconds,
    otherCpuPercent: report.otherCpuPercent,
  };
}

export function median(values: readonly (number | null)[]): number | null {
  const sorted = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);

function modeFigures(windows: readonly WindowFigures[]): ModeFigures {
  const sum = (pick: (w: WindowFigures) => number): number => windows.reduce((n, w) => n + pick(w), 0);
  const cpuMs = sum((w) => w.cpuSeconds) * 1000;
  const chunks = sum((w) => w.chunks);
  const turns = sum((w) => w.turns);
  return {
    windows: windows.length,
    firstTokenP50Ms: median(windows.map((w) => w.ttftMs.p50)),
    firstTokenP99Ms: median(windows.map((w) => w.ttftMs.p99)),
    turns,
    chunks,
    cpuSeconds: cpuMs / 1000,
    cpuMsPer1000Deltas: ratio(cpuMs * 1000, chunks),
    cpuMsPerTurn: ratio(cpuMs, turns),
  };
}

/** Per round, on − off of a window figure; the median of those. */
function pairedMedian(windows: readonly WindowFigures[], pick: (w: WindowFigures) => number | null): number | null {
  const rounds = [...new Set(windows.map((w) => w.round))];
  return median(
    rounds.map((round) => {
      const of = (mode: TracingMode): number | null => {
        const window = windows.find((w) => w.round === round && w.mode === mode);
        return window === undefined ? null : pick(window);
      };
      const [on, off] = [of('on'), of('off')];
      return on === null || off === null ? null : on - off;
    }),
  );
}

export function analyse(windows: readonly WindowFigures[]): TracingFigures {
  const off = modeFigures(windows.filter((w) => w.mode === 'off'));
  const on = modeFigures(windows.filter((w) => w.mode === 'on'));
  return {
    off,
    on,
    addedFirstTokenP50Ms: pairedMedian(windows, (w) => w.ttftMs.p50),
    addedFirstTokenP99Ms: pairedMedian(windows, (w) => w.ttftMs.p99),
    cpuPerDeltaRatio:
      on.cpuMsPer1000Deltas === null || off.cpuMsPer1000Deltas === null
        ? null
        : ratio(on.cpuMsPer1000Deltas, off.cpuMsPer1000Deltas),
    addedCpuMsPerTurn:
      on.cpuMsPerTurn === null || off.cpuMsPerTurn === null ? null : on.cpuMsPerTurn - off.cpuMsPerTurn,
  };
}

const rounded = (v: number | null): number | null => (v === null ? null : Math.round(v * 1000) / 1000);

export function checkTargets(figures: TracingFigures, sink: SinkStats): Target[] {
  const under = (value: number | null): boolean => value !== null && value < TARGET_MS;
  return [
    {
      id: 'first-token-p50-added',
      kind: 'target',
      description: 'tracing on − off, first token p50 (median of the rounds), ms',
      value: rounded(figures.addedFirstTokenP50Ms),
      limit: `< ${TARGET_MS} ms`,
      pass: under(figures.addedFirstTokenP50Ms),
    },
    {
      id: 'cpu-per-turn-added',
      kind: 'target',
      description: 'tracing on − off, gateway CPU per turn, ms',
      value: rounded(figures.addedCpuMsPerTurn),
      limit: `< ${TARGET_MS} ms`,
      pass: under(figures.addedCpuMsPerTurn),
    },
    {
      id: 'spans-exported',
      kind: 'check',
      description: 'spans the OTLP sink received from the tracing gateway',
      value: sink.spans,
      limit: '> 0 (else both gateways ran untraced)',
      pass: sink.spans > 0,
    },
  ];
}
