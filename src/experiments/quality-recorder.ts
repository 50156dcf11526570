// Where a session's quality signals go: Prometheus series labelled by model and experiment arm (`none` outside
// one), and, for sessions counted in the experiment, the arm's running totals in the figures store.
import { Counter, Histogram, type Registry } from 'prom-client';
import type { QualityObserver, ReplyQuality } from '../metrics.js';
import { cutDelta, feedbackDelta, replyDelta, type FiguresStore } from './figures.js';

type ReplyKey = { arm: string | null; model: string };

const LATENCY_BUCKETS_MS = [50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000];
const RATIO_BUCKETS = [0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1];

export class QualityRecorder implements QualityObserver {
  private readonly sessions: Counter;
  private readonly replies: Counter;
  private readonly firstToken: Histogram;
  private readonly heard: Histogram;
  private readonly cuts: Counter;
  private readonly ratings: Counter;
  private readonly reasks: Counter;
  private readonly escalations: Counter;
  private readonly tokens: Counter;
  private readonly cost: Counter;

  constructor(
    registry: Registry,
    private readonly store: FiguresStore,
  ) {
    const counter = (name: string, help: string, labelNames: string[]) =>
      new Counter({ name, help, labelNames, registers: [registry] });
    const histogram = (name: string, help: string, buckets: number[]) =>
      new Histogram({ name, help, buckets, labelNames: ['model', 'arm'], registers: [registry] });
    this.sessions = counter(
      'asi1_gateway_experiment_sessions_total',
      'Sessions by experiment arm, counted at their first reply',
      ['arm'],
    );
    this.replies = counter('asi1_gateway_replies_total', 'Settled replies by model, arm and status', [
      'model',
      'arm',
      'status',
    ]);
    this.firstToken = histogram(
      'asi1_gateway_reply_first_token_ms',
      'First token by model and arm',
      LATENCY_BUCKETS_MS,
    );
    this.heard = histogram('asi1_gateway_reply_heard_ratio', 'Share of a reply the user heard', RATIO_BUCKETS);
    this.cuts = counter('asi1_gateway_replies_cut_while_spoken_total', 'Completed replies stopped while spoken', [
      'model',
      'arm',
    ]);
    this.ratings = counter('asi1_gateway_feedback_total', 'Thumbs up and down given', ['model', 'arm', 'rating']);
    this.reasks = counter('asi1_gateway_reasks_total', 'Replies whose turn the user restated', ['model', 'arm']);
    this.escalations = counter('asi1_gateway_escalations_total', 'Replies handed to a deeper model', ['model', 'arm']);
    this.tokens = counter('asi1_gateway_reply_tokens_total', 'Tokens of settled replies', [
      'model',
      'arm',
      'direction',
    ]);
    this.cost = counter('asi1_gateway_reply_cost_usd_total', 'Estimated cost (MODEL_PRICES)', ['model', 'arm']);
  }

  sessionStarted(arm: string | null): void {
    this.sessions.inc({ arm: arm ?? 'none' });
    if (arm !== null) this.store.add(arm, { sessions: 1 });
  }

  replySettled(reply: ReplyQuality): void {
    const labels = labelsOf(reply);
    this.replies.inc({ ...labels, status: reply.status });
    if (reply.firstTokenMs !== null) this.firstToken.observe(labels, reply.firstTokenMs);
    if (reply.replyChars > 0) this.heard.observe(labels, reply.heardChars / reply.replyChars);
    if (reply.escalated) this.escalations.inc(labels);
    this.tokens.inc({ ...labels, direction: 'in' }, reply.promptTokens);
    this.tokens.inc({ ...labels, direction: 'out' }, reply.completionTokens);
    if (reply.costUsd !== null) this.cost.inc(labels, reply.costUsd);
    if (reply.arm !== null) this.store.add(reply.arm, replyDelta(reply));
  }

  replyCutWhileSpoken(reply: ReplyKey & { replyChars: number; heardChars: number }): void {
    this.cuts.inc(labelsOf(reply));
    if (reply.arm !== null) this.store.add(reply.arm, cutDelta(reply.replyChars, reply.heardChars));
  }

  feedback(reply: ReplyKey, rating: 'up' | 'down', previous: 'up' | 'down' | null): void {
    this.ratings.inc({ ...labelsOf(reply), rating });
    if (reply.arm !== null) this.store.add(reply.arm, feedbackDelta(rating, previous));
  }

  reask(reply: ReplyKey): void {
    this.reasks.inc(labelsOf(reply));
    if (reply.arm !== null) this.store.add(reply.arm, { reasks: 1 });
  }
}

function labelsOf(reply: ReplyKey): { model: string; arm: string } {
  return { model: reply.model, arm: reply.arm ?? 'none' };
}
