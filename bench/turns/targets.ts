// The targets `npm run bench:turns` checks, and the cross-checks between what the clients, the simulator and
// the gateway's /metrics counted (they should agree exactly; a difference means a miscount somewhere).

import type { PassReport } from './analysis.js';
import type { PassMode } from './pass.js';

export interface Target {
  id: string;
  description: string;
  value: number | null;
  limit: string;
  pass: boolean;
}

export interface CrossCheck {
  mode: PassMode;
  what: string;
  client: number;
  other: number;
  agree: boolean;
  /** Why the counts may differ without a miscount, when they do. */
  note?: string;
}

type Passes = Partial<Record<PassMode, PassReport>>;

export const TARGETS = {
  adoptedFirstDeltaMs: 20,
  firstDeltaGainMs: 250,
  requestsPerTurn: 1.5,
} as const;

function target(
  id: string,
  description: string,
  value: number | null,
  limit: string,
  ok: (v: number) => boolean,
): Target {
  return { id, description, value, limit, pass: value !== null && ok(value) };
}

/** The larger of the simulator's and the gateway's count (the gateway also counts requests aborted before they were read). */
function requestsPerTurn(pass: PassReport): number | null {
  const { perCommittedTurn, gatewayPerCommittedTurn } = pass.upstream;
  if (perCommittedTurn === null || gatewayPerCommittedTurn === null) return perCommittedTurn ?? gatewayPerCommittedTurn;
  return Math.max(perCommittedTurn, gatewayPerCommittedTurn);
}

export function checkTargets(passes: Passes): Target[] {
  const { on, off } = passes;
  const serverCommit = passes['server-commit'];
  const onP50 = on?.committedToFirstDeltaMs.all.p50 ?? null;
  const offP50 = off?.committedToFirstDeltaMs.all.p50 ?? null;
  const targets = [
    target(
      'adopted-first-delta',
      'speculation on: median committed → first delta of adopted turns',
      on?.committedToFirstDeltaMs.adopted.p50 ?? null,
      `≤ ${TARGETS.adoptedFirstDeltaMs} ms`,
      (v) => v <= TARGETS.adoptedFirstDeltaMs,
    ),
    target(
      'first-delta-gain',
      'median committed → first delta (all turns), speculation off minus on',
      onP50 === null || offP50 === null ? null : Math.round((offP50 - onP50) * 10) / 10,
      `≥ ${TARGETS.firstDeltaGainMs} ms`,
      (v) => v >= TARGETS.firstDeltaGainMs,
    ),
    target(
      'requests-per-turn',
      'speculation on: upstream requests per committed turn (larger of simulator and gateway counts)',
      on === undefined ? null : requestsPerTurn(on),
      `≤ ${TARGETS.requestsPerTurn}`,
      (v) => v <= TARGETS.requestsPerTurn,
    ),
  ];
  if (serverCommit !== undefined) {
    targets.push(
      target(
        'requests-per-turn-server-commit',
        'server commit: upstream requests per committed turn (larger of simulator and gateway counts)',
        requestsPerTurn(serverCommit),
        `≤ ${TARGETS.requestsPerTurn}`,
        (v) => v <= TARGETS.requestsPerTurn,
      ),
    );
  }
  const reports = Object.values(passes);
  const leaked = reports.reduce((sum, p) => sum + p.tools.fromDiscardedSpeculations + p.tools.unannouncedToolCalls, 0);
  targets.push(
    target(
      'no-tools-from-discarded',
      'tool executions (or tool calls seen) from discarded speculations, all passes',
      reports.length === 0 ? null : leaked,
      '= 0',
      (v) => v === 0,
    ),
  );
  return targets;
}

export function crossChecks(passes: Passes): CrossCheck[] {
  return Object.values(passes).flatMap((p) => [
    {
      mode: p.mode,
      what: 'committed turns: clients vs gateway /metrics',
      client: p.committedTurns.total,
      other: p.gateway.turnsCommitted,
      agree: p.committedTurns.total === p.gateway.turnsCommitted,
    },
    {
      mode: p.mode,
      what: 'adopted turns: clients (timings.speculative) vs gateway /metrics',
      client: p.adoption.adopted,
      other: p.gateway.speculativeTurns,
      agree: p.adoption.adopted === p.gateway.speculativeTurns,
    },
    requestsCheck(p),
    {
      mode: p.mode,
      what: 'server tool executions vs calls announced to clients',
      client: p.tools.announcedServerCalls,
      other: p.tools.executions,
      agree: p.tools.announcedServerCalls === p.tools.executions,
    },
  ]);
}

/**
 * The gateway counts every request it started; the simulator records one once it has read its body. A
 * speculation discarded within a millisecond or two of starting (the next interim arrived as its stability timer
 * fired) is aborted before that, so the simulator may see fewer, never more.
 */
function requestsCheck(p: PassReport): CrossCheck {
  const simulator = p.upstream.turnRequests;
  const gateway = p.gateway.turnUpstreamRequests;
  const check: CrossCheck = {
    mode: p.mode,
    what: 'turn upstream requests: simulator vs gateway /metrics',
    client: simulator,
    other: gateway,
    agree: simulator <= gateway && gateway - simulator <= p.gateway.speculations.discarded,
  };
  if (simulator !== gateway)
    check.note = `${gateway - simulator} started by the gateway but aborted before the simulator read them (speculations discarded as they started)`;
  return check;
}
