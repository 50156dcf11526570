// Turns the phases' PathReports into the results document: per concurrency the direct, gateway and peer
// figures side by side with differences and ratios to direct, the idle-memory figures, the targets, and
// the markdown table printed to the console and written next to the JSON.

import type { PathReport } from './phase.js';
import { apply, fmt, kib, row, type Op } from './report-format.js';

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

/** A through-path's figures minus the direct path's at the same concurrency ("added"). */
export function addedFigures(through: PathReport, direct: PathReport): AddedFigures {
  return compare(through, direct, (a, b) => a - b);
}

export function buildLevel(
  direct: PathReport,
  gateway: PathReport,
  peer: PathReport | null,
  floor: PathReport | null,
): LevelReport {
  const divide: Op = (a, b) => (b === 0 ? Number.NaN : a / b);
  const with_ = (through: PathReport | null, op: Op): AddedFigures | null =>
    through === null ? null : compare(through, direct, op);
  const added = (through: PathReport | null): AddedFigures | null =>
    through === null ? null : addedFigures(through, direct);
  return {
    sessions: direct.sessions,
    direct,
    gateway,
    peer,
    floor,
    added: { gateway: addedFigures(gateway, direct), peer: added(peer), floor: added(floor) },
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
    {
      name: `added first-token p50${at}`,
      limit: '≤ 1 ms',
      measured: add?.ttftP50 ?? null,
      unit: 'ms',
      met: le(add?.ttftP50 ?? null, 1),
    },
    {
      name: `added first-token p99${at}`,
      limit: '≤ 5 ms',
      measured: add?.ttftP99 ?? null,
      unit: 'ms',
      met: le(add?.ttftP99 ?? null, 5),
    },
    {
      name: `added per-token p99${at}`,
      limit: '≤ 2 ms',
      measured: add?.perTokenP99 ?? null,
      unit: 'ms',
      met: le(add?.perTokenP99 ?? null, 2),
    },
    {
      name: `cancel p99${at}`,
      limit: '≤ 5 ms',
      measured: g?.cancelMs.p99 ?? null,
      unit: 'ms',
      met: le(g?.cancelMs.p99 ?? null, 5),
    },
    {
      name: `RSS per idle session @${idle?.sessions ?? '-'}`,
      limit: '≤ 64 KiB',
      measured: rssIdle,
      unit: 'KiB',
      met: le(rssIdle, 64),
    },
    { name: `gateway CPU per million deltas${at}`, limit: '≤ 20 s', measured: cpu, unit: 's', met: le(cpu, 20) },
  ];
}

export { levelTable } from './level-table.js';
export { waitText } from './report-format.js';

export function idleTable(idle: PathReport): string {
  const s = idle.server;
  return [
    row([
      'idle sessions',
      'connected',
      'gateway RSS before → after (MiB)',
      'RSS per session (KiB)',
      'heap per session (KiB)',
    ]),
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
    ...targets.map((t) =>
      row([
        t.name,
        t.limit,
        `${fmt(t.measured, t.unit === 'KiB' ? 1 : 3)} ${t.unit}`,
        t.met === null ? 'n/a' : t.met ? 'yes' : '**no**',
      ]),
    ),
  ].join('\n');
}

/** One row per measured phase: the only table of a partial run (--paths) that has no direct/gateway pair. */
export function phasesTable(phases: PathReport[]): string {
  const lines = [
    row([
      'path',
      'sessions',
      'first token p50 / p99 (ms)',
      'per-token p50 / p99 (ms)',
      'cancel p50 / p99 (ms)',
      'proxy CPU s per M deltas',
      'proxy loop p99 (ms)',
      'proxy RSS / heap per session (KiB)',
      'not ours %',
    ]),
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
