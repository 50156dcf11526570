// From one pass's raw records to its figures: per committed turn, committed → first delta and → first speech
// (all turns, adopted speculations, the rest); per sequence, last interim → first speech of the reply that
// answers it; adoption; upstream requests per committed turn (simulator and gateway counts); tool executions
// no client saw announced (a discarded speculation's); and integrity counts.

import { summarize, type Summary } from '../lib/clock.js';
import type { SequenceOutcome } from './client.js';
import type { GatewayCounters } from './gateway-metrics.js';
import type { PassMode, PassRun } from './pass.js';

export interface TurnSample {
  by: 'client' | 'server';
  firstDeltaMs: number | null;
  firstSpeechMs: number | null;
  speculative: boolean;
}

export interface SplitSummary {
  all: Summary;
  adopted: Summary;
  notAdopted: Summary;
}

export interface PassReport {
  mode: PassMode;
  sequences: number;
  durationMs: number;
  committedTurns: { total: number; byClient: number; byServer: number; withoutDelta: number };
  finals: { answered: number; absorbed: number; errors: number; timeouts: number };
  adoption: { adopted: number; rate: number };
  /** Adopted / sequences, per trait of the replay (what the speculation heuristics make of each shape). */
  adoptionByTrait: Record<string, { sequences: number; adopted: number }>;
  committedToFirstDeltaMs: SplitSummary;
  committedToFirstSpeechMs: SplitSummary;
  lastInterimToFirstSpeechMs: Summary;
  upstream: {
    turnRequests: number;
    toolFollowUps: number;
    /** Simulator-counted turn requests (speculations included) per committed turn. */
    perCommittedTurn: number | null;
    /** The gateway's own count: asi1_gateway_turn_upstream_requests_total / asi1_gateway_turns_committed_total. */
    gatewayPerCommittedTurn: number | null;
  };
  gateway: GatewayCounters;
  tools: {
    executions: number;
    announcedServerCalls: number;
    /** Executions beyond the calls each session saw announced: a discarded speculation's tool ran. */
    fromDiscardedSpeculations: number;
    /** response.tool_call events for replies the client never saw created. */
    unannouncedToolCalls: number;
  };
  unannouncedEvents: number;
  responseStatus: Record<string, number>;
  errors: Record<string, number>;
}

const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;

function rounded(samples: number[]): Summary {
  const summary = summarize(samples);
  const r = (v: number | null): number | null => (v === null ? null : round(v));
  return {
    n: summary.n,
    p50: r(summary.p50),
    p95: r(summary.p95),
    p99: r(summary.p99),
    max: r(summary.max),
    mean: r(summary.mean),
  };
}

/** Every committed turn of the pass with its reply's first delta and first speech, from the commit. */
export function turnSamples(outcomes: readonly SequenceOutcome[]): TurnSample[] {
  return outcomes.flatMap((outcome) =>
    outcome.commits.map((commit) => {
      const reply = commit.responseId === null ? undefined : outcome.responses.get(commit.responseId);
      const since = (at: number | null | undefined): number | null =>
        at === null || at === undefined ? null : at - commit.at;
      return {
        by: commit.by,
        firstDeltaMs: since(reply?.firstDeltaAt),
        firstSpeechMs: since(reply?.firstSpeechAt),
        speculative: reply?.speculative ?? false,
      };
    }),
  );
}

function split(turns: readonly TurnSample[], value: (t: TurnSample) => number | null): SplitSummary {
  const of = (subset: readonly TurnSample[]): Summary =>
    rounded(subset.map(value).filter((v): v is number => v !== null));
  return {
    all: of(turns),
    adopted: of(turns.filter((t) => t.speculative)),
    notAdopted: of(turns.filter((t) => !t.speculative)),
  };
}

function answerOf(outcome: SequenceOutcome) {
  return outcome.answerResponseId === null ? undefined : outcome.responses.get(outcome.answerResponseId);
}

function adoptionByTrait(outcomes: readonly SequenceOutcome[]): PassReport['adoptionByTrait'] {
  const table: PassReport['adoptionByTrait'] = {};
  for (const outcome of outcomes) {
    const { traits } = outcome.sequence;
    const keys = [`final:${traits.final}`, `pause:${traits.pause ?? 'none'}`];
    if (traits.revision) keys.push('revision');
    if (traits.tool) keys.push('tool');
    const adopted = answerOf(outcome)?.speculative === true ? 1 : 0;
    for (const key of keys) {
      const row = (table[key] ??= { sequences: 0, adopted: 0 });
      row.sequences += 1;
      row.adopted += adopted;
    }
  }
  return table;
}

function toolFigures(run: PassRun): PassReport['tools'] {
  const executed = new Map<string, number>();
  for (const execution of run.toolExecutions)
    executed.set(execution.sessionId, (executed.get(execution.sessionId) ?? 0) + 1);
  let fromDiscarded = 0;
  for (const [sessionId, count] of executed)
    fromDiscarded += Math.max(0, count - (run.announcedToolCalls.get(sessionId) ?? 0));
  return {
    executions: run.toolExecutions.length,
    announcedServerCalls: [...run.announcedToolCalls.values()].reduce((a, b) => a + b, 0),
    fromDiscardedSpeculations: fromDiscarded,
    unannouncedToolCalls: run.unannouncedToolCalls,
  };
}

function tally(values: Iterable<string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

export function analysePass(run: PassRun): PassReport {
  const { outcomes, gateway } = run;
  const turns = turnSamples(outcomes);
  const adopted = turns.filter((t) => t.speculative).length;
  const speech = outcomes.flatMap((o) => {
    const at = answerOf(o)?.firstSpeechAt;
    return at === null || at === undefined ? [] : [at - o.lastInterimAt];
  });
  const answers = tally(outcomes.map((o) => o.answer));
  const ratio = (a: number, b: number): number | null => (b === 0 ? null : round(a / b, 3));
  return {
    mode: run.mode,
    sequences: outcomes.length,
    durationMs: Math.round(run.durationMs),
    committedTurns: {
      total: turns.length,
      byClient: turns.filter((t) => t.by === 'client').length,
      byServer: turns.filter((t) => t.by === 'server').length,
      withoutDelta: turns.filter((t) => t.firstDeltaMs === null).length,
    },
    finals: {
      answered: answers.created ?? 0,
      absorbed: answers.absorbed ?? 0,
      errors: answers.error ?? 0,
      timeouts: answers.timeout ?? 0,
    },
    adoption: { adopted, rate: ratio(adopted, turns.length) ?? 0 },
    adoptionByTrait: adoptionByTrait(outcomes),
    committedToFirstDeltaMs: split(turns, (t) => t.firstDeltaMs),
    committedToFirstSpeechMs: split(turns, (t) => t.firstSpeechMs),
    lastInterimToFirstSpeechMs: rounded(speech),
    upstream: {
      ...run.upstream,
      perCommittedTurn: ratio(run.upstream.turnRequests, turns.length),
      gatewayPerCommittedTurn: ratio(gateway.turnUpstreamRequests, gateway.turnsCommitted),
    },
    gateway,
    tools: toolFigures(run),
    unannouncedEvents: run.unannouncedEvents,
    responseStatus: tally(outcomes.flatMap((o) => [...o.responses.values()].map((r) => r.status ?? 'unfinished'))),
    errors: tally(outcomes.flatMap((o) => o.errors)),
  };
}
