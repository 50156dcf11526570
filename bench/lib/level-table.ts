// The per-concurrency table of the bench report: each figure for the direct path, then for every path through
// a proxy (gateway, peer, floor) with its difference and ratio to direct; latency rows, then resource rows.
import type { Summary } from './clock.js';
import { errorCount, type PathReport } from './phase.js';
import { apply, fmt, kib, row, signed, waitText } from './report-format.js';
import type { LevelReport } from './report.js';

type Throughs = [string, PathReport][];

/** The per-concurrency table: figures, then Δ and ratio to direct for each through-path. */
export function levelTable(level: LevelReport): string {
  const { direct } = level;
  const throughs: Throughs = [['gateway', level.gateway]];
  if (level.peer !== null) throughs.push(['peer', level.peer]);
  if (level.floor !== null) throughs.push(['floor', level.floor]);
  const head = ['figure', 'direct'];
  for (const [name] of throughs) head.push(name, `${name} − direct`, `${name} / direct`);
  return [
    row(head),
    row(head.map(() => '---')),
    ...latencyRows(direct, throughs),
    ...resourceRows(direct, throughs),
  ].join('\n');
}

/** First-token, per-token and cancel latency, with differences and ratios to direct. */
function latencyRows(direct: PathReport, throughs: Throughs): string[] {
  const lines: string[] = [];
  const figure = (
    label: string,
    pick: (s: Summary) => number | null,
    source: (p: PathReport) => Summary,
    digits = 2,
  ): void => {
    const d = pick(source(direct));
    const cells = [label, fmt(d, digits)];
    for (const [, through] of throughs) {
      const t = pick(source(through));
      cells.push(
        fmt(t, digits),
        signed(
          apply(t, d, (a, b) => a - b),
          digits,
        ),
        fmt(
          apply(t, d, (a, b) => (b === 0 ? Number.NaN : a / b)),
          3,
        ),
      );
    }
    lines.push(row(cells));
  };
  const ttft = (p: PathReport): Summary => p.ttftMs;
  const tok = (p: PathReport): Summary => p.perTokenMs;
  const cancel = (p: PathReport): Summary => p.cancelMs;
  figure('first token p50 (ms)', (s) => s.p50, ttft);
  figure('first token p95 (ms)', (s) => s.p95, ttft);
  figure('first token p99 (ms)', (s) => s.p99, ttft);
  figure('first token max (ms)', (s) => s.max, ttft);
  figure('per-token p50 (ms)', (s) => s.p50, tok, 3);
  figure('per-token p99 (ms)', (s) => s.p99, tok, 3);
  figure('cancel p50 (ms)', (s) => s.p50, cancel, 3);
  figure('cancel p99 (ms)', (s) => s.p99, cancel, 3);
  return lines;
}

/** CPU, event loop, memory, upstream waits and sample counts of each path, and the load on the machine. */
function resourceRows(direct: PathReport, throughs: Throughs): string[] {
  const lines: string[] = [];
  const plain = (label: string, pick: (p: PathReport) => string): void => {
    const cells = [label, pick(direct)];
    for (const [, through] of throughs) cells.push(pick(through), '', '');
    lines.push(row(cells));
  };
  const percent = (seconds: number, p: PathReport, digits: number): string =>
    fmt((100 * seconds) / p.windowSeconds, digits);
  plain('proxy CPU s per million deltas', (p) => fmt(p.server?.cpuSecondsPerMillionChunks, 2));
  plain('proxy CPU % of one core (user + system)', (p) =>
    p.server === null
      ? '–'
      : `${percent(p.server.cpuSeconds, p, 1)} (${percent(p.server.cpuUserSeconds, p, 0)} + ${percent(p.server.cpuSystemSeconds, p, 0)})`,
  );
  plain('proxy event-loop delay p99 / max (ms)', (p) =>
    p.server === null ? '–' : `${fmt(p.server.loop.p99Ms)} / ${fmt(p.server.loop.maxMs)}`,
  );
  plain('proxy RSS / heap per active session (KiB)', (p) =>
    p.server === null ? '–' : `${kib(p.server.rssPerSessionBytes)} / ${kib(p.server.heapPerSessionBytes)}`,
  );
  if ([direct, ...throughs.map(([, t]) => t)].some((p) => p.server?.upstream)) {
    // --probe-upstream
    plain('proxy upstream connects in window', (p) => (p.server?.upstream ? String(p.server.upstream.connects) : '–'));
    plain('proxy request → headers written, reused socket: p50 / p90 ms (n)', (p) =>
      p.server?.upstream ? waitText(p.server.upstream.reused) : '–',
    );
    plain('proxy request → headers written, first on a socket: p50 / p90 ms (n)', (p) =>
      p.server?.upstream ? waitText(p.server.upstream.fresh) : '–',
    );
  }
  plain('samples: turns / deltas / cancels', (p) => `${p.turns.inWindow} / ${p.chunks} / ${p.cancelMs.n}`);
  plain(
    'failed turns / errors / unmatched cancels',
    (p) => `${p.turns.failed} / ${errorCount(p)} / ${p.cancelMs.unmatched}`,
  );
  plain('load gen CPU % / loop p99 ms (per worker)', (p) =>
    p.loadgen.map((l) => `${fmt(l.cpuPercent, 0)}/${fmt(l.loopP99Ms, 1)}`).join(', '),
  );
  plain(
    'simulator CPU % / loop p99 (ms)',
    (p) => `${fmt(p.simulator.cpuPercent, 0)} / ${fmt(p.simulator.loop.p99Ms, 1)}`,
  );
  plain(
    'machine CPU % (all cores = 100) / not ours',
    (p) => `${fmt(p.machineCpuPercent, 0)} / ${fmt(p.otherCpuPercent, 0)}${p.otherCpuPercent > 10 ? ' ⚠' : ''}`,
  );
  return lines;
}
