// GET /v1/experiments: per arm the counts, means and percentiles, the rates with 95 % intervals, the cost, and
// for every arm after the first a test of whether it differs from the first (rates: two-proportion z-test;
// first-token time: Welch's t-test), with its p-value, so an operator can tell noise from a real difference.
import type { Experiment } from '../experiment-config.js';
import { LATENCY_BUCKETS_MS, type ArmTotals } from './figures.js';
import {
  histogramPercentile,
  mean,
  twoProportions,
  welch,
  wilson,
  type Comparison,
  type Moments,
  type Rate,
} from './statistics.js';

export interface LatencyFigures {
  count: number;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  /** The distribution: how many values fell at or below each upper edge `le` (ms), bucket by bucket; `le: null` is the open last one. */
  buckets: { le: number | null; count: number }[];
}

export interface ArmReport {
  name: string;
  model: string;
  weight: number;
  sessions: number;
  responses: number;
  status: { completed: number; interrupted: number; failed: number; cutWhileSpoken: number };
  firstTokenMs: LatencyFigures;
  firstSpeechMs: LatencyFigures;
  replyChars: { mean: number | null };
  heardRatio: { mean: number | null };
  toolCalls: number;
  toolErrors: number;
  escalations: number;
  tokens: { prompt: number; completion: number };
  /**
   * `usd`: the sum over replies with a cost (a price for their models and token usage; a reply cut off while
   * streaming has no usage); `perSessionUsd` estimates a conversation's cost as the mean costed reply times the
   * replies per conversation; `costedReplies` says how many replies it rests on.
   */
  cost: { usd: number | null; perSessionUsd: number | null; costedReplies: number };
  feedback: { up: number; down: number };
  reasks: number;
  rates: { interruption: Rate; thumbsDown: Rate; reask: Rate };
  /** Absent for the first arm, the baseline. */
  vsFirst?: { interruption: Comparison; thumbsDown: Comparison; reask: Comparison; firstTokenMs: Comparison };
}

export interface ExperimentsReport {
  experiment: { name: string; arms: { name: string; weight: number; model: string }[] } | null;
  arms: ArmReport[];
}

export function buildReport(experiment: Experiment | null, totals: ReadonlyMap<string, ArmTotals>): ExperimentsReport {
  if (experiment === null) return { experiment: null, arms: [] };
  const arms = experiment.arms.map((arm) => armReport(arm, totals.get(arm.name) ?? {}));
  const first = arms[0];
  const firstTotals = totals.get(experiment.arms[0]?.name ?? '') ?? {};
  for (let i = 1; i < arms.length; i += 1) {
    const arm = arms[i];
    if (arm === undefined || first === undefined) continue;
    const mine = totals.get(arm.name) ?? {};
    arm.vsFirst = {
      interruption: twoProportions(interruptions(first), interruptions(arm)),
      thumbsDown: twoProportions(thumbsDown(first), thumbsDown(arm)),
      reask: twoProportions(reasks(first), reasks(arm)),
      firstTokenMs: welch(moments(firstTotals, 'firstToken'), moments(mine, 'firstToken')),
    };
  }
  return {
    experiment: {
      name: experiment.name,
      arms: experiment.arms.map(({ name, weight, model }) => ({ name, weight, model })),
    },
    arms,
  };
}

function armReport(arm: Experiment['arms'][number], t: ArmTotals): ArmReport {
  const get = (field: string) => t[field] ?? 0;
  const responses = get('responses');
  const sessions = get('sessions');
  const costed = get('costed');
  const report: ArmReport = {
    name: arm.name,
    model: arm.model,
    weight: arm.weight,
    sessions,
    responses,
    status: {
      completed: get('completed'),
      interrupted: get('interrupted'),
      failed: get('failed'),
      cutWhileSpoken: get('cutWhileSpoken'),
    },
    firstTokenMs: latency(t, 'firstToken'),
    firstSpeechMs: latency(t, 'firstSpeech'),
    replyChars: { mean: mean(moments(t, 'chars')) },
    heardRatio: { mean: responses > 0 ? get('heard.sum') / responses : null },
    toolCalls: get('toolCalls'),
    toolErrors: get('toolErrors'),
    escalations: get('escalations'),
    tokens: { prompt: get('promptTokens'), completion: get('completionTokens') },
    cost: {
      usd: costed > 0 ? get('costUsd') : null,
      perSessionUsd: costed > 0 && sessions > 0 ? (get('costUsd') / costed) * (responses / sessions) : null,
      costedReplies: costed,
    },
    feedback: { up: get('up'), down: get('down') },
    reasks: get('reasks'),
    rates: {
      interruption: { value: null, ci95: null },
      thumbsDown: { value: null, ci95: null },
      reask: { value: null, ci95: null },
    },
  };
  const rate = ({ successes, trials }: { successes: number; trials: number }) => wilson(successes, trials);
  report.rates = {
    interruption: rate(interruptions(report)),
    thumbsDown: rate(thumbsDown(report)),
    reask: rate(reasks(report)),
  };
  return report;
}

/** Interrupted replies (cut while streaming, or stopped while spoken) among all replies. */
function interruptions(arm: ArmReport): { successes: number; trials: number } {
  return { successes: arm.status.interrupted + arm.status.cutWhileSpoken, trials: arm.responses };
}

/** Thumbs down among rated replies. */
function thumbsDown(arm: ArmReport): { successes: number; trials: number } {
  return { successes: arm.feedback.down, trials: arm.feedback.up + arm.feedback.down };
}

/** Replies whose turn was restated, among all replies. */
function reasks(arm: ArmReport): { successes: number; trials: number } {
  return { successes: arm.reasks, trials: arm.responses };
}

function moments(t: ArmTotals, prefix: string): Moments {
  return { count: t[`${prefix}.count`] ?? 0, sum: t[`${prefix}.sum`] ?? 0, sumSquares: t[`${prefix}.sq`] ?? 0 };
}

function latency(t: ArmTotals, prefix: string): LatencyFigures {
  const counts = Array.from({ length: LATENCY_BUCKETS_MS.length + 1 }, (_, i) => t[`${prefix}.b${i}`] ?? 0);
  // The open last bucket reads as twice the last edge: a percentile there says "over the last edge".
  const bounds = [...LATENCY_BUCKETS_MS, LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]! * 2];
  const m = moments(t, prefix);
  const at = (q: number) => histogramPercentile(counts, bounds, q);
  const buckets = counts.map((count, i) => ({ le: LATENCY_BUCKETS_MS[i] ?? null, count }));
  return { count: m.count, mean: mean(m), p50: at(0.5), p90: at(0.9), p99: at(0.99), buckets };
}
