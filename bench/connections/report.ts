// The readable report of a connection bench run: the set-up, one table row per level and pass (added
// first-token latency of first and later turns, their difference, connections), what the warmer saves against
// the warmer-off baseline, and the targets (PASS/FAIL).

import type { Summary } from '../lib/clock.js';
import type { LevelFigures } from './analysis.js';
import type { ConnectionsResults } from './run.js';

const ms = (v: number | null): string => (v === null ? '–' : Math.abs(v) < 10 ? v.toFixed(1) : String(Math.round(v)));
const signed = (v: number | null): string => (v === null ? '–' : `${v >= 0 ? '+' : ''}${ms(v)}`);
const p50p99 = (s: Summary): string => (s.n === 0 ? '–' : `${ms(s.p50)} / ${ms(s.p99)}`);

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? '').length)));
  return rows.map((row) =>
    row.map((cell, col) => (col <= 1 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('   '),
  );
}

const HEADER = [
  'sessions',
  'pass',
  'first p50/p99',
  'later p50/p99',
  'after barge-in p50/p99 · paid',
  'first−later p50/p99',
  'paid first/later',
  'on new conn first/later',
  'slow first/later',
  'conns opened',
  'idle-closed',
  'failed',
];

function row(f: LevelFigures): string[] {
  return [
    String(f.level),
    f.pass,
    p50p99(f.first.addedMs),
    p50p99(f.later.addedMs),
    f.afterBargeIn.turns === 0
      ? '–'
      : `${p50p99(f.afterBargeIn.addedMs)} · ${f.afterBargeIn.paidForConnection}/${f.afterBargeIn.turns}`,
    `${signed(f.firstMinusLater.p50)} / ${signed(f.firstMinusLater.p99)}`,
    `${f.first.paidForConnection}/${f.first.turns}  ${f.later.paidForConnection}/${f.later.turns}`,
    `${f.first.onNewConnection}/${f.first.turns}  ${f.later.onNewConnection}/${f.later.turns}`,
    `${f.first.slow} / ${f.later.slow}`,
    String(f.connectionsOpened),
    String(f.idleCloses),
    String(f.first.failed + f.later.failed),
  ];
}

/** Warmer off − warmer on, first turns, per HTTP version and level. */
function savings(figures: readonly LevelFigures[]): string[] {
  const lines: string[] = [];
  for (const on of figures.filter((f) => f.warm)) {
    const off = figures.find((f) => !f.warm && f.http === on.http && f.level === on.level);
    if (off === undefined) continue;
    const d = (key: 'p50' | 'p99'): number | null =>
      off.first.addedMs[key] === null || on.first.addedMs[key] === null
        ? null
        : off.first.addedMs[key]! - on.first.addedMs[key]!;
    lines.push(
      `  ${on.http}, ${on.level} session(s): first turns ${ms(d('p50'))} ms (p50) / ${ms(d('p99'))} ms (p99) faster with the warmer; ` +
        `later turns ${signed(minus(off.later.addedMs.p50, on.later.addedMs.p50))} ms (p50); ` +
        `connections opened ${on.connectionsOpened} on vs ${off.connectionsOpened} off`,
    );
  }
  return lines;
}

const minus = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a - b);

/** When connections opened and slow first turns were sent, relative to their round's start (its sessions' burst). */
function timeline(figures: readonly LevelFigures[]): string[] {
  return figures.map((f) => {
    const o = f.opensMs;
    const opens =
      o.n === 0 ? 'no connection opened' : `${o.n} opened: p50 ${ms(o.p50)}, p95 ${ms(o.p95)}, last ${ms(o.max)}`;
    const slow = f.slowFirstSentMs;
    const shown = slow.length > 12 ? [...slow.slice(0, 12), '…'] : slow;
    return `  ${f.level} × ${f.pass}: ${opens}; slow first turns sent at ${slow.length === 0 ? '–' : shown.join(', ')}`;
  });
}

export function formatReport(results: ConnectionsResults): string {
  const { options: o, workload: w } = results;
  const rounds = o.levels.map((level) => `${level} (${Math.ceil(o.firstTurns / level)} round(s))`).join(', ');
  const relay =
    w.upstreamIdleMs > 0 ? `the upstream closes connections idle ${w.upstreamIdleMs / 1000} s` : 'no idle relay';
  const lines = [
    `Connection bench: simulator over TLS (HTTP/2 offered by ALPN), ${w.connectionCostMs} ms per new connection, first-token time ${w.ttftMs} ms ` +
      `(so "added" = the client's turn → first delta), ${w.replyTokens}-token reply at ${w.interTokenMs} ms/token; ${relay}`,
    `Sessions: opened in a burst, first turn ${w.plan.speakAfterMs.join('–')} ms after session.ready, ${o.turns - 1} later turns after ` +
      `${w.plan.thinkMs.join('–')} ms think gaps${o.turns > 2 ? ', the second talked over at its first delta (a barge-in)' : ''}; each pass quiet ${o.idleMs / 1000} s before each round; levels ${rounds}; seed ${o.seed}`,
    'Added first-token latency, ms. "slow": turns ≥ half the connection cost. "paid": the turn\'s request was the first on a connection asked for after the turn was sent.',
    '"on new conn": the turn was the first request on its upstream connection (one opened ahead, or reopened by undici after a barge-in, need not be paid for).',
    '"conns opened": by the simulator during the rounds; "idle-closed": by the upstream idle timeout in the quiet gaps before them (HTTP/1.1: the gateway closes some itself first).',
    '',
    ...table([HEADER, ...results.figures.map(row)]),
    '',
    'What the warmer saves (warmer off − warmer on, same HTTP version and level):',
    ...savings(results.figures),
    '',
    'When, in ms after a round began (its sessions opened): new upstream connections accepted, slow first turns sent:',
    ...timeline(results.figures),
    '',
    `Upstream connections over the run (start-up and quiet gaps included): ${Object.entries(results.connectionsOverRun)
      .map(([pass, n]) => `${pass} ${n}`)
      .join(', ')}; untagged / repeated chat requests: ${results.untaggedRequests} / ${results.repeatedRequests}`,
    '',
    'Targets (warmer on):',
  ];
  for (const kind of ['target', 'baseline'] as const) {
    if (kind === 'baseline') lines.push('Baseline checks (warmer off: the bench charges for connections):');
    for (const t of results.targets.filter((target) => target.kind === kind))
      lines.push(`  ${t.pass ? 'PASS' : 'FAIL'}  ${t.description}: ${t.value ?? 'n/a'} (target ${t.limit})`);
  }
  return lines.join('\n');
}
