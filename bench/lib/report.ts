// Turns the phases' PathReports into the results document: per concurrency the direct, gateway and peer
// figures side by side with differences and ratios to direct, the idle-memory figures, the targets, and
// the markdown table printed to the console and written next to the JSON.

import type { Summary } from './clock.js';
import type { PathReport } from './phase.js';
import type { WaitSummary } from './messages.js';

export interface LevelReport {
  sessions: number;
  direct: PathReport;
  gateway: PathReport;
  /** The peer proxy (--peer portkey), when run. */
  peer: PathReport | null;
  /** The bench's minimal relay (--floor), when run. */
  floor: PathReport | null;
  /** Through-path percentile minus the direct percentile, ms. */
  added: { gateway: AddedFigures; peer: AddedFigures | null; floor: AddedFigures | null };
  /** Through-path percentile divided by the direct percentile. */
  ratio: { gateway: AddedFigures; peer: AddedFigures | null; floor: AddedFigures | null };
}

export interface AddedFigures {
  ttftP50: number | null;
  ttftP95: number | null;
  ttftP99: number | null;
  ttftMax: number | null;
  perTokenP50: number | null;
  perTokenP99: number | null;
  cancelP50: number | null;
  cancelP99: number | null;
}

export interface Target {
  name: string;
  limit: string;
  measured: number | null;
  unit: string;
  met: boolean | null;
}

type Op = (a: number, b: number) => number;
const apply = (a: number | null, b: number | null, op: Op): number | null => (a === null || b === null ? null : op(a, b));

function compare(through: PathReport, direct: PathReport, op: Op): AddedFigures {
  return {
    ttftP50: apply(through.ttftMs.p50, direct.ttftMs.p50, op),
    ttftP95: apply(through.ttftMs.p95, direct.ttftMs.p95, op),
    ttftP99: apply(through.ttftMs.p99, direct.ttftMs.p99, op),
    ttftMax: apply(through.ttftMs.max, direct.ttftMs.max, op),
    perTokenP50: apply(through.perTokenMs.p50, direct.perTokenMs.p50, op),
    perTokenP99: apply(through.perTokenMs.p99, direct.perTokenMs.p99, op),
    cancelP50: apply(through.cancelMs.p50, direct.cancelMs.p50, op),
    cancelP99: apply(through.cancelMs.p99, direct.cancelMs.p99, op),
  };
}

export function buildLevel(direct: PathReport, gateway: PathReport, peer: PathReport | null, floor: PathReport | null): LevelReport {
  const minus: Op = (a, b) => a - b;
  const divide: Op = (a, b) => (b === 0 ? Number.NaN : a / b);
  const with_ = (through: PathReport | null, op: Op): AddedFigures | null => (through === null ? null : compare(through, direct, op));
  return {
    sessions: direct.sessions,
    direct,
    gateway,
    peer,
    floor,
    added: { gateway: compare(gateway, direct, minus), peer: with_(peer, minus), floor: with_(floor, minus) },
    ratio: { gateway: compare(gateway, direct, divide), peer: with_(peer, divide), floor: with_(floor, divide) },
  };
}

export function buildTargets(level: LevelReport | undefined, idle: PathReport | null): Target[] {
  const le = (value: number | null, limit: number): boolean | null => (value === null ? null : value <= limit);
  const g = level?.gateway;
  const add = level?.added.gateway;
  const rssIdle = idle?.server === null || idle === null ? null : idle.server.rssPerSessionBytes / 1024;
  const cpu = g?.server?.cpuSecondsPerMillionChunks ?? null;
  const at = level === undefined ? '' : ` @${level.sessions}`;
  return [
    { name: `added first-token p50${at}`, limit: '≤ 1 ms', measured: add?.ttftP50 ?? null, unit: 'ms', met: le(add?.ttftP50 ?? null, 1) },
    { name: `added first-token p99${at}`, limit: '≤ 5 ms', measured: add?.ttftP99 ?? null, unit: 'ms', met: le(add?.ttftP99 ?? null, 5) },
    { name: `added per-token p99${at}`, limit: '≤ 2 ms', measured: add?.perTokenP99 ?? null, unit: 'ms', met: le(add?.perTokenP99 ?? null, 2) },
    { name: `cancel p99${at}`, limit: '≤ 5 ms', measured: g?.cancelMs.p99 ?? null, unit: 'ms', met: le(g?.cancelMs.p99 ?? null, 5) },
    { name: `RSS per idle session @${idle?.sessions ?? '-'}`, limit: '≤ 64 KiB', measured: rssIdle, unit: 'KiB', met: le(rssIdle, 64) },
    { name: `gateway CPU per million deltas${at}`, limit: '≤ 20 s', measured: cpu, unit: 's', met: le(cpu, 20) },
  ];
}

const fmt = (value: number | null | undefined, digits = 2): string =>
  value === null || value === undefined || Number.isNaN(value) ? '–' : value.toFixed(digits);
const signed = (value: number | null | undefined, digits = 2): string =>
  value === null || value === undefined || Number.isNaN(value) ? '–' : `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;
const kib = (bytes: number | null | undefined): string => (bytes === null || bytes === undefined ? '–' : (bytes / 1024).toFixed(1));

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** An upstream wait summary (--probe-upstream): `p50 / p90 (n)`. */
export function waitText(wait: WaitSummary): string {
  return wait.count === 0 ? '– (0)' : `${fmt(wait.p50Ms, 2)} / ${fmt(wait.p90Ms, 2)} (${wait.count})`;
}

/** The per-concurrency table: figures, then Δ and ratio to direct for each through-path. */
export function levelTable(level: LevelReport): string {
  const { direct } = level;
  const throughs: [string, PathReport][] = [['gateway', level.gateway]];
  if (level.peer !== null) throughs.push(['peer', level.peer]);
  if (level.floor !== null) throughs.push(['floor', level.floor]);
  const head = ['figure', 'direct'];
  for (const [name] of throughs) head.push(name, `${name} − direct`, `${name} / direct`);
  const lines = [row(head), row(head.map(() => '---'))];
  const figure = (label: string, pick: (s: Summary) => number | null, source: (p: PathReport) => Summary, digits = 2, ratio = true): void => {
    const d = pick(source(direct));
    const cells = [label, fmt(d, digits)];
    for (const [, through] of throughs) {
      const t = pick(source(through));
      cells.push(fmt(t, digits), signed(apply(t, d, (a, b) => a - b), digits), ratio ? fmt(apply(t, d, (a, b) => (b === 0 ? Number.NaN : a / b)), 3) : '');
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
  const plain = (label: string, pick: (p: PathReport) => string): void => {
    const cells = [label, pick(direct)];
    for (const [, through] of throughs) cells.push(pick(through), '', '');
    lines.push(row(cells));
  };
  plain('proxy CPU s per million deltas', (p) => fmt(p.server?.cpuSecondsPerMillionChunks, 2));
  plain('proxy CPU % of one core (user + system)', (p) =>
    p.server === null ? '–' : `${fmt((100 * p.server.cpuSeconds) / p.windowSeconds, 1)} (${fmt((100 * p.server.cpuUserSeconds) / p.windowSeconds, 0)} + ${fmt((100 * p.server.cpuSystemSeconds) / p.windowSeconds, 0)})`,
  );
  plain('proxy event-loop delay p99 / max (ms)', (p) => (p.server === null ? '–' : `${fmt(p.server.loop.p99Ms)} / ${fmt(p.server.loop.maxMs)}`));
  plain('proxy RSS / heap per active session (KiB)', (p) => (p.server === null ? '–' : `${kib(p.server.rssPerSessionBytes)} / ${kib(p.server.heapPerSessionBytes)}`));
  if ([direct, ...throughs.map(([, t]) => t)].some((p) => p.server?.upstream)) {
    // --probe-upstream
    plain('proxy upstream connects in window', (p) => (p.server?.upstream ? String(p.server.upstream.connects) : '–'));
    plain('proxy request → headers written, reused socket: p50 / p90 ms (n)', (p) => (p.server?.upstream ? waitText(p.server.upstream.reused) : '–'));
    plain('proxy request → headers written, first on a socket: p50 / p90 ms (n)', (p) => (p.server?.upstream ? waitText(p.server.upstream.fresh) : '–'));
  }
  plain('samples: turns / deltas / cancels', (p) => `${p.turns.inWindow} / ${p.chunks} / ${p.cancelMs.n}`);
  plain('failed turns / errors / unmatched cancels', (p) => `${p.turns.failed} / ${Object.values(p.errors).reduce((a, b) => a + b, 0)} / ${p.cancelMs.unmatched}`);
  plain('load gen CPU % / loop p99 ms (per worker)', (p) => p.loadgen.map((l) => `${fmt(l.cpuPercent, 0)}/${fmt(l.loopP99Ms, 1)}`).join(', '));
  plain('simulator CPU % / loop p99 (ms)', (p) => `${fmt(p.simulator.cpuPercent, 0)} / ${fmt(p.simulator.loop.p99Ms, 1)}`);
  plain('machine CPU % (all cores = 100) / not ours', (p) => `${fmt(p.machineCpuPercent, 0)} / ${fmt(p.otherCpuPercent, 0)}${p.otherCpuPercent > 10 ? ' ⚠' : ''}`);
  return lines.join('\n');
}

export function idleTable(idle: PathReport): string {
  const s = idle.server;
  return [
    row(['idle sessions', 'connected', 'gateway RSS before → after (MiB)', 'RSS per session (KiB)', 'heap per session (KiB)']),
    row(['---', '---', '---', '---', '---']),
    row([
      String(idle.sessions),
      String(idle.connected),
      s === null ? '–' : `${(s.baselineRssBytes / 2 ** 20).toFixed(1)} → ${(s.rssBytes / 2 ** 20).toFixed(1)}`,
      kib(s?.rssPerSessionBytes),
      kib(s?.heapPerSessionBytes),
    ]),
  ].join('\n');
}

export function targetsTable(targets: Target[]): string {
  return [
    row(['target (gateway)', 'limit', 'measured', 'met']),
    row(['---', '---', '---', '---']),
    ...targets.map((t) => row([t.name, t.limit, `${fmt(t.measured, t.unit === 'KiB' ? 1 : 3)} ${t.unit}`, t.met === null ? 'n/a' : t.met ? 'yes' : '**no**'])),
  ].join('\n');
}

/** One row per measured phase: the only table of a partial run (--paths) that has no direct/gateway pair. */
export function phasesTable(phases: PathReport[]): string {
  const lines = [
    row(['path', 'sessions', 'first token p50 / p99 (ms)', 'per-token p50 / p99 (ms)', 'cancel p50 / p99 (ms)', 'proxy CPU s per M deltas', 'proxy loop p99 (ms)', 'proxy RSS / heap per session (KiB)', 'not ours %']),
    row(Array.from({ length: 9 }, () => '---')),
  ];
  for (const p of phases) {
    lines.push(
      row([
        p.path,
        String(p.sessions),
        `${fmt(p.ttftMs.p50)} / ${fmt(p.ttftMs.p99)}`,
        `${fmt(p.perTokenMs.p50, 3)} / ${fmt(p.perTokenMs.p99, 3)}`,
        `${fmt(p.cancelMs.p50, 3)} / ${fmt(p.cancelMs.p99, 3)}`,
        fmt(p.server?.cpuSecondsPerMillionChunks),
        fmt(p.server?.loop.p99Ms),
        p.server === null ? '–' : `${kib(p.server.rssPerSessionBytes)} / ${kib(p.server.heapPerSessionBytes)}`,
        fmt(p.otherCpuPercent, 0),
      ]),
    );
  }
  return lines.join('\n');
}
