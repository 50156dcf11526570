// The readable report of a turn bench run: the replay's shape, one column per pass, adoption per replay
// trait, the targets (PASS/FAIL) and the cross-checks.

import type { Summary } from '../lib/clock.js';
import type { PassReport } from './analysis.js';
import type { TurnsResults } from './run.js';

const ms = (v: number | null): string => (v === null ? '–' : v < 10 ? v.toFixed(1) : String(Math.round(v)));
const p50p95 = (s: Summary): string => (s.n === 0 ? '–' : `${ms(s.p50)} / ${ms(s.p95)}  (n ${s.n})`);
const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;
const counts = (record: Record<string, number>): string =>
  Object.entries(record)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || '–';

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? '').length)));
  return rows.map((row) =>
    row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('   '),
  );
}

function passRows(passes: readonly PassReport[]): string[][] {
  const row = (label: string, cell: (p: PassReport) => string): string[] => [label, ...passes.map(cell)];
  return [
    row('', (p) => p.mode),
    row('sequences (final answered/absorbed)', (p) => `${p.sequences} (${p.finals.answered}/${p.finals.absorbed})`),
    row(
      'committed turns (by client/server)',
      (p) => `${p.committedTurns.total} (${p.committedTurns.byClient}/${p.committedTurns.byServer})`,
    ),
    row('adopted speculative replies', (p) => `${p.adoption.adopted} (${pct(p.adoption.rate)})`),
    row('committed → first delta p50/p95 ms: all', (p) => p50p95(p.committedToFirstDeltaMs.all)),
    row('  adopted', (p) => p50p95(p.committedToFirstDeltaMs.adopted)),
    row('  not adopted', (p) => p50p95(p.committedToFirstDeltaMs.notAdopted)),
    row('committed → first speech p50/p95 ms: all', (p) => p50p95(p.committedToFirstSpeechMs.all)),
    row('  adopted', (p) => p50p95(p.committedToFirstSpeechMs.adopted)),
    row('  not adopted', (p) => p50p95(p.committedToFirstSpeechMs.notAdopted)),
    row('last interim → first speech p50/p95 ms', (p) => p50p95(p.lastInterimToFirstSpeechMs)),
    row('upstream requests / committed turn', (p) => String(p.upstream.perCommittedTurn ?? '–')),
    row('  gateway /metrics count', (p) => String(p.upstream.gatewayPerCommittedTurn ?? '–')),
    row('  tool follow-up requests (extra)', (p) => String(p.upstream.toolFollowUps)),
    row('speculations started/adopted/discarded', (p) => {
      const s = p.gateway.speculations;
      return `${s.started}/${s.adopted}/${s.discarded}`;
    }),
    row('discarded speculation tokens', (p) => String(p.gateway.discardedTokens)),
    row('tool executions (calls announced)', (p) => `${p.tools.executions} (${p.tools.announcedServerCalls})`),
    row('  from discarded speculations', (p) =>
      String(p.tools.fromDiscardedSpeculations + p.tools.unannouncedToolCalls),
    ),
    row('turns without any delta', (p) => String(p.committedTurns.withoutDelta)),
    row(
      'errors / timeouts / leaked events',
      (p) =>
        `${Object.keys(p.errors).length === 0 ? 0 : counts(p.errors)} / ${p.finals.timeouts} / ${p.unannouncedEvents}`,
    ),
    row('pass duration s', (p) => (p.durationMs / 1000).toFixed(1)),
  ];
}

function traitRows(passes: readonly PassReport[]): string[][] {
  const speculating = passes.filter((p) => p.mode !== 'off');
  const keys = [...new Set(speculating.flatMap((p) => Object.keys(p.adoptionByTrait)))].sort();
  return [
    ['adopted / sequences, by replay trait', ...speculating.map((p) => p.mode)],
    ...keys.map((key) => [
      `  ${key}`,
      ...speculating.map((p) => {
        const row = p.adoptionByTrait[key];
        return row === undefined ? '–' : `${row.adopted}/${row.sequences}`;
      }),
    ]),
  ];
}

export function formatReport(results: TurnsResults): string {
  const { options: o, workload: w, replay: r } = results;
  const lines = [
    `Turn bench: ${r.sequences} sequences over ${o.sessions} sessions per pass, seed ${o.seed}; simulator TTFT ${w.ttftMs} ms, ${w.interTokenMs} ms/token, ${w.replyTokens}-token reply; SPECULATION_STABLE_MS ${o.speculationStableMs}; server commit stableMs ${o.stableMs}`,
    `Replay: ${r.interims} interims, ${r.meanWords} words and ${(r.meanSpokenMs / 1000).toFixed(2)} s to the final per turn on average; ` +
      `${r.revisions} with a revised word; pauses: ${r.pauses.clause} after a clause, ${r.pauses.dangling} after a dangling word; ` +
      `finals: ${r.finals.same} same, ${r.finals.punctuation} punctuation/case only, ${r.finals.word} last word changed; ${r.toolTurns} tool questions`,
    '',
    ...table(passRows(results.passes)),
  ];
  if (results.passes.some((p) => p.mode !== 'off')) lines.push('', ...table(traitRows(results.passes)));
  const reasons = results.passes
    .filter((p) => p.gateway.speculations.discarded > 0)
    .map((p) => `${p.mode}: ${counts(p.gateway.discardedByReason)}`);
  if (reasons.length > 0) lines.push('', `Discarded speculations by reason: ${reasons.join('; ')}`);
  lines.push('', 'Targets:');
  for (const t of results.targets)
    lines.push(`  ${t.pass ? 'PASS' : 'FAIL'}  ${t.description}: ${t.value ?? 'n/a'} (target ${t.limit})`);
  const disagreements = results.crossChecks.filter((c) => !c.agree);
  lines.push(
    '',
    disagreements.length === 0
      ? `Cross-checks: clients, simulator and gateway /metrics agree (${results.crossChecks.length} checks); unattributed upstream requests: ${results.unattributedRequests}`
      : `Cross-checks that disagree: ${disagreements.map((c) => `${c.mode} ${c.what}: ${c.client} vs ${c.other}`).join('; ')}`,
  );
  for (const c of results.crossChecks.filter((check) => check.note !== undefined))
    lines.push(`  ${c.mode}, ${c.what}: ${c.client} vs ${c.other}: ${c.note}`);
  return lines.join('\n');
}
