// The readable report of a tracing bench run: the set-up, the off/on table with what tracing adds, the rounds,
// what the OTLP sink received (flagged when nothing), and the targets.

import { fmt, row, signed } from '../lib/report-format.js';
import type { ModeFigures, WindowFigures } from './analysis.js';
import type { TracingResults } from './run.js';

const ratioText = (v: number | null): string => (v === null ? '–' : `×${v.toFixed(3)}`);

function summaryRows(results: TracingResults): string[] {
  const { off, on } = results.figures;
  const f = results.figures;
  const line = (label: string, pick: (m: ModeFigures) => number | null, change: string, digits = 2): string =>
    row([label, fmt(pick(off), digits), fmt(pick(on), digits), change]);
  return [
    row(['figure', 'tracing off', 'tracing on', 'on − off']),
    row(['---', '---:', '---:', '---:']),
    line('first token p50, ms (median of the rounds)', (m) => m.firstTokenP50Ms, signed(f.addedFirstTokenP50Ms, 3)),
    line('first token p99, ms (median of the rounds)', (m) => m.firstTokenP99Ms, signed(f.addedFirstTokenP99Ms, 3)),
    line('gateway CPU per 1,000 deltas, ms', (m) => m.cpuMsPer1000Deltas, ratioText(f.cpuPerDeltaRatio)),
    line('gateway CPU per turn, ms', (m) => m.cpuMsPerTurn, signed(f.addedCpuMsPerTurn, 3), 3),
    line('turns measured', (m) => m.turns, '', 0),
    line('deltas measured', (m) => m.chunks, '', 0),
  ];
}

function roundRows(windows: readonly WindowFigures[]): string[] {
  return [
    row([
      'round',
      'tracing',
      'first token p50 / p99, ms',
      'turns',
      'deltas',
      'CPU ms (user + sys)',
      'not ours %',
      'failed',
    ]),
    row(['---:', '---', '---:', '---:', '---:', '---:', '---:', '---:']),
    ...windows.map((w) =>
      row([
        String(w.round + 1),
        w.mode,
        `${fmt(w.ttftMs.p50)} / ${fmt(w.ttftMs.p99)}`,
        String(w.turns),
        String(w.chunks),
        `${fmt(w.cpuSeconds * 1000, 0)} (${fmt(w.cpuUserSeconds * 1000, 0)} + ${fmt(w.cpuSystemSeconds * 1000, 0)})`,
        fmt(w.otherCpuPercent, 0),
        String(w.failed),
      ]),
    ),
  ];
}

function sinkLines(results: TracingResults): string[] {
  const s = results.sink;
  const types = Object.entries(s.contentTypes)
    .map(([type, n]) => `${type} ${n}`)
    .join(', ');
  const lines = [
    `OTLP sink: ${s.requests} export request(s), ${s.bytes} bytes, ${s.spans} spans` +
      `${s.spansPerTracedTurn === null ? '' : ` (${s.spansPerTracedTurn.toFixed(2)} per turn of the tracing gateway)`}` +
      `${types === '' ? '' : `; content types: ${types}`}${s.unreadable > 0 ? `; ${s.unreadable} unreadable` : ''}.`,
  ];
  if (s.spans === 0)
    lines.push(
      '⚠ The tracing gateway exported no span: this build has no OTLP tracing, or it failed. Both columns then ' +
        'measure an untraced gateway, and the targets say nothing about tracing.',
    );
  if (results.ignoredCallerEnv.length > 0)
    lines.push(`Left out of both gateways' environment: ${results.ignoredCallerEnv.join(', ')}.`);
  return lines;
}

export function formatReport(results: TracingResults): string {
  const { options: o, workload: w } = results;
  const window =
    o.maxTurns > 0 ? `${o.maxTurns} turns per session, every turn counted` : `${o.windowMs / 1000} s windows`;
  const lines = [
    `Tracing bench: ${o.sessions} sessions per gateway, ${o.rounds} round(s) of one phase per gateway (order alternating), ${window}; ` +
      `simulator TTFT ${w.ttftMs} ms, ${w.itlMs} ms/token, ${w.tokens} tokens, think ${w.thinkMs} ms, one turn in ${w.cancelEvery} a barge-in. ` +
      `Tracing on: OTEL_EXPORTER_OTLP_ENDPOINT to the bench's sink, OTEL_BSP_SCHEDULE_DELAY=${o.bspDelayMs}.`,
    '',
    ...summaryRows(results),
    '',
    ...roundRows(results.windows),
    '',
    ...sinkLines(results),
    '',
    'Targets (issue #19: tracing adds under 1 ms per turn):',
  ];
  for (const t of results.targets)
    lines.push(`  ${t.pass ? 'PASS' : 'FAIL'}  ${t.description}: ${t.value ?? 'n/a'} (target ${t.limit})`);
  return lines.join('\n');
}
