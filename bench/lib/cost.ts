// The cost per 1,000 concurrently talking users: each path's CPU (CPU-seconds per second, i.e. cores) and memory
// where it was measured (its sweep knee, or the run's largest level), scaled to 1,000 sessions of the bench's
// workload; the workload's measured duty cycle; and the formula that takes an operator's own duty cycle.

import { proxyCores, type PathReport } from './phase.js';
import { fmt, row } from './report-format.js';
import type { BenchWorkload } from './run-options.js';
import { PATH_NAMES } from './sweep-table.js';
import type { ThroughPath } from './sweep.js';

/** A measurement the cost is read from: `basis` says which ("knee", "largest level"). */
export interface CostSource {
  path: ThroughPath;
  basis: string;
  report: PathReport;
}

/** What one session of the bench's workload did, measured over the window. */
export interface DutyCycle {
  turnsPerSessionMinute: number;
  deltasPerSessionSecond: number;
  /** Share of a session's time with a reply in progress (first token pending or streaming), and streaming only. */
  replyInProgress: number;
  streaming: number;
}

export interface CostRow {
  path: ThroughPath;
  basis: string;
  sessions: number;
  deltasPerSessionSecond: number;
  cores: number;
  coresPer1000: number;
  cpuSecondsPerMillionDeltas: number | null;
  rssPerActiveSessionKiB: number;
  activeMiBPer1000: number;
  processBaseMiB: number;
}

export interface CostReport {
  /** The gateway's (or the first row's) duty cycle. */
  dutyCycle: DutyCycle | null;
  rows: CostRow[];
  idle: {
    sessions: number;
    rssPerSessionKiB: number;
    miBPer1000: number;
    coresPer1000: number;
    /** CPU to connect one session (upgrade to session.ready), in µs: what a reconnect storm costs. */
    connectMicros: number;
  } | null;
  /** The formula applied to a spoken conversation's duty cycle, for the gateway. */
  example: ConversationExample | null;
}

export interface ConversationExample {
  /** One reply of the workload's length every `turnSeconds`. */
  turnSeconds: number;
  deltasPerUserSecond: number;
  coresPer1000: number;
  /** Sessions one gateway holds at the same deltas per second as at its knee (null without a knee). */
  sessionsPerReplica: number | null;
}

/**
 * A spoken turn: the user hears a 60-token reply (about 45 words) at speaking pace (150 words a minute,
 * ~18 s), then talks and thinks for ~7 s. The bench's 2 s of thought makes it several times busier.
 */
const SPOKEN_TURN_SECONDS = 25;

export function dutyCycleOf(report: PathReport, workload: BenchWorkload): DutyCycle {
  const sessionSeconds = Math.max(1e-9, report.sessions * report.windowSeconds);
  const turnsPerSessionSecond = report.turns.inWindow / sessionSeconds;
  const deltasPerSessionSecond = report.chunks / sessionSeconds;
  // Each delta stands for one token interval of streaming; each turn first waits TTFT for its first token.
  const streaming = Math.min(1, (deltasPerSessionSecond * workload.itlMs) / 1000);
  return {
    turnsPerSessionMinute: turnsPerSessionSecond * 60,
    deltasPerSessionSecond,
    replyInProgress: Math.min(1, streaming + (turnsPerSessionSecond * workload.ttftMs) / 1000),
    streaming,
  };
}

export function buildCost(
  sources: CostSource[],
  idle: PathReport | null,
  workload: BenchWorkload,
  gatewayKnee: number | null,
): CostReport | null {
  const rows = sources.flatMap(({ path, basis, report }) => {
    const server = report.server;
    const cores = proxyCores(report);
    if (server === null || cores === null) return [];
    return [
      {
        path,
        basis,
        sessions: report.sessions,
        deltasPerSessionSecond: dutyCycleOf(report, workload).deltasPerSessionSecond,
        cores,
        coresPer1000: (cores * 1000) / report.sessions,
        cpuSecondsPerMillionDeltas: server.cpuSecondsPerMillionChunks,
        rssPerActiveSessionKiB: server.rssPerSessionBytes / 1024,
        activeMiBPer1000: (server.rssPerSessionBytes * 1000) / 2 ** 20,
        processBaseMiB: server.baselineRssBytes / 2 ** 20,
      },
    ];
  });
  if (rows.length === 0) return null;
  const idleCost =
    idle === null || idle.server === null
      ? null
      : {
          sessions: idle.connected,
          rssPerSessionKiB: idle.server.rssPerSessionBytes / 1024,
          miBPer1000: (idle.server.rssPerSessionBytes * 1000) / 2 ** 20,
          coresPer1000: ((proxyCores(idle) ?? 0) * 1000) / Math.max(1, idle.connected),
          connectMicros: idle.server.connectCpuMicrosPerSession,
        };
  const gatewaySource = sources.find((s) => s.path === 'gateway') ?? sources[0]!;
  const gateway = rows.find((r) => r.path === 'gateway');
  return {
    dutyCycle: dutyCycleOf(gatewaySource.report, workload),
    rows,
    idle: idleCost,
    example:
      gateway === undefined ? null : conversationExample(gateway, idleCost?.coresPer1000 ?? 0, workload, gatewayKnee),
  };
}

/** cores per 1,000 users ≈ 1,000 × r × c + i, for a spoken conversation's r. */
function conversationExample(
  gateway: CostRow,
  idleCoresPer1000: number,
  workload: BenchWorkload,
  knee: number | null,
): ConversationExample | null {
  if (gateway.cpuSecondsPerMillionDeltas === null) return null;
  const r = workload.tokens / SPOKEN_TURN_SECONDS;
  return {
    turnSeconds: SPOKEN_TURN_SECONDS,
    deltasPerUserSecond: r,
    coresPer1000: 1000 * r * (gateway.cpuSecondsPerMillionDeltas / 1e6) + idleCoresPer1000,
    sessionsPerReplica: knee === null ? null : Math.round((knee * gateway.deltasPerSessionSecond) / r),
  };
}

/** The cost section as markdown: the duty cycle, one row per path, idle sessions, and the formula. */
export function costSection(cost: CostReport, workload: BenchWorkload): string {
  const parts: string[] = [];
  const duty = cost.dutyCycle;
  if (duty !== null)
    parts.push(
      `Workload: every session loops turn → reply (first token after ${workload.ttftMs} ms, ${workload.tokens} tokens ${workload.itlMs} ms apart) → ${workload.thinkMs} ms of thought, one turn in ${workload.cancelEvery} cancelled after ${workload.cancelAfterChunks} deltas. ` +
        `Measured duty cycle: ${fmt(duty.turnsPerSessionMinute, 1)} turns per session-minute, ${fmt(duty.deltasPerSessionSecond, 2)} deltas per session-second; a reply is in progress ${fmt(100 * duty.replyInProgress, 0)} % of the time and tokens are streaming ${fmt(100 * duty.streaming, 0)} %. CPU-seconds per second = cores.`,
      '',
    );
  parts.push(
    row([
      'path',
      'measured at',
      'deltas per session-second',
      'cores (CPU-s per s)',
      'cores per 1,000 sessions',
      'CPU s per million deltas',
      'RSS per active session (KiB)',
      'MiB per 1,000 active sessions',
      'process RSS before the load (MiB)',
    ]),
    row(Array.from({ length: 9 }, () => '---')),
    ...cost.rows.map((r) =>
      row([
        PATH_NAMES[r.path],
        `${r.sessions} sessions (${r.basis})`,
        fmt(r.deltasPerSessionSecond, 2),
        fmt(r.cores, 3),
        fmt(r.coresPer1000, 3),
        fmt(r.cpuSecondsPerMillionDeltas, 1),
        fmt(r.rssPerActiveSessionKiB, 1),
        fmt(r.activeMiBPer1000, 1),
        fmt(r.processBaseMiB, 1),
      ]),
    ),
  );
  if (cost.idle !== null)
    parts.push(
      '',
      `Idle sessions (gateway, ${cost.idle.sessions} connected, none talking): ${fmt(cost.idle.rssPerSessionKiB, 1)} KiB RSS per session, ${fmt(cost.idle.miBPer1000, 1)} MiB per 1,000; ${fmt(cost.idle.coresPer1000, 4)} cores per 1,000. Connecting them took ${fmt(cost.idle.connectMicros, 0)} µs of CPU per session (upgrade to session.ready): about ${fmt(cost.idle.connectMicros / 1000, 1)} s of one core per 1,000 sessions that reconnect at once.`,
    );
  const gateway = cost.rows.find((r) => r.path === 'gateway');
  if (gateway !== undefined && cost.example !== null) parts.push('', formulaText(gateway, cost, workload));
  return parts.join('\n');
}

function formulaText(gateway: CostRow, cost: CostReport, workload: BenchWorkload): string {
  const example = cost.example!;
  const c = (gateway.cpuSecondsPerMillionDeltas ?? 0) / 1e6;
  const i =
    cost.idle === null
      ? "i is idle sessions' cores per 1,000 (not measured: this run had no idle phase, so it counts as 0)"
      : `i = ${fmt(cost.idle.coresPer1000, 4)} is idle sessions' cores per 1,000`;
  const replica =
    example.sessionsPerReplica === null
      ? ''
      : ` Latency follows the deltas a process handles per second, so one gateway would hold about ${gateway.sessions} × ${fmt(gateway.deltasPerSessionSecond, 2)} / ${fmt(example.deltasPerUserSecond, 2)} ≈ ${example.sessionsPerReplica} such users within the same added first-token p99, memory permitting (${fmt((example.sessionsPerReplica * gateway.rssPerActiveSessionKiB) / 1024, 0)} MiB at ${fmt(gateway.rssPerActiveSessionKiB, 1)} KiB each).`;
  return (
    `Your duty cycle: gateway cores per 1,000 users ≈ 1,000 × r × c + i, where r is your deltas (tokens) per user-second ` +
    `(reply tokens per turn ÷ seconds per turn), c = ${fmt(c * 1e6, 1)} µs is the gateway's CPU per delta here and ${i}; memory ≈ 1,000 × ${fmt(gateway.rssPerActiveSessionKiB, 1)} KiB per session on top of one process's ${fmt(gateway.processBaseMiB, 0)} MiB. ` +
    `A spoken conversation is slower than this bench: a ${workload.tokens}-token reply every ${example.turnSeconds} s (heard at speaking pace, then the user talks and thinks) is r = ${fmt(example.deltasPerUserSecond, 2)}, ` +
    `${fmt(gateway.deltasPerSessionSecond / example.deltasPerUserSecond, 1)}× less than here, and ≈ ${fmt(example.coresPer1000, 3)} cores per 1,000 users.${replica} ` +
    `The bench is a busier-than-real, conservative load.`
  );
}
