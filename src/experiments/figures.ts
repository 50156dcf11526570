// The running totals of one experiment arm, as flat named numbers, so every instance can add to them with plain
// increments (in memory, or HINCRBYFLOAT in Redis) and the sums over instances are the arm's figures. Latencies
// keep a count, sum, sum of squares and histogram buckets: enough for means, percentiles and Welch's test.
import type { ReplyQuality } from '../metrics.js';

/** Upper edges of the latency buckets, in ms (the last bucket is open). */
export const LATENCY_BUCKETS_MS = [50, 100, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000] as const;

/** One arm's totals by field name; a missing field is 0. */
export type ArmTotals = Record<string, number>;

/** Increments to add to an arm's totals. */
export type FigureDelta = Record<string, number>;

/** Where the totals live: this process, or Redis shared by every instance (cluster/). */
export interface FiguresStore {
  /** Adds increments to an arm (fire and forget: figures are best effort, never on a turn's path). */
  add(arm: string, delta: FigureDelta): void;
  /** Every arm's totals, summed over the instances that share the store. */
  read(arms: readonly string[]): Promise<Map<string, ArmTotals>>;
}

export class MemoryFiguresStore implements FiguresStore {
  private readonly arms = new Map<string, ArmTotals>();

  add(arm: string, delta: FigureDelta): void {
    const totals = this.arms.get(arm) ?? {};
    for (const [field, value] of Object.entries(delta)) totals[field] = (totals[field] ?? 0) + value;
    this.arms.set(arm, totals);
  }

  read(arms: readonly string[]): Promise<Map<string, ArmTotals>> {
    return Promise.resolve(new Map(arms.map((arm) => [arm, { ...this.arms.get(arm) }])));
  }
}

/** The increments of one latency value: count, sum, square and its bucket. */
export function latencyDelta(prefix: string, ms: number | null): FigureDelta {
  if (ms === null) return {};
  const bucket = LATENCY_BUCKETS_MS.findIndex((edge) => ms <= edge);
  return {
    [`${prefix}.count`]: 1,
    [`${prefix}.sum`]: ms,
    [`${prefix}.sq`]: ms * ms,
    [`${prefix}.b${bucket < 0 ? LATENCY_BUCKETS_MS.length : bucket}`]: 1,
  };
}

/** The increments of one settled reply. */
export function replyDelta(reply: ReplyQuality): FigureDelta {
  const heardRatio = reply.replyChars > 0 ? reply.heardChars / reply.replyChars : 1;
  return {
    responses: 1,
    [reply.status]: 1,
    ...latencyDelta('firstToken', reply.firstTokenMs),
    ...latencyDelta('firstSpeech', reply.firstSpeechMs),
    'chars.count': 1,
    'chars.sum': reply.replyChars,
    'chars.sq': reply.replyChars * reply.replyChars,
    'heard.sum': heardRatio,
    toolCalls: reply.toolCalls,
    toolErrors: reply.toolErrors,
    escalations: reply.escalated ? 1 : 0,
    promptTokens: reply.promptTokens,
    completionTokens: reply.completionTokens,
    ...(reply.costUsd === null ? {} : { costUsd: reply.costUsd, costed: 1 }),
  };
}

/** A completed reply stopped while it was spoken: an interruption after all, and less of it heard. */
export function cutDelta(replyChars: number, heardChars: number): FigureDelta {
  return { cutWhileSpoken: 1, 'heard.sum': replyChars > 0 ? heardChars / replyChars - 1 : 0 };
}

/** A rating, replacing the previous one of the same reply if there was one. */
export function feedbackDelta(rating: 'up' | 'down', previous: 'up' | 'down' | null): FigureDelta {
  return { [rating]: 1, ...(previous === null ? { rated: 1 } : { [previous]: -1 }) };
}
