// The quality signals of one session's replies: each settled reply reported once (per model and experiment arm),
// a completed reply the client stopped while speaking it, the user's thumbs up or down, and a re-ask (the next
// turn restates the previous one). Keeps the last replies so feedback can find them. Sends no events.
import type { ModelPrices } from '../experiment-config.js';
import type { QualityObserver, ReplyQuality } from '../metrics.js';
import type { ResponseStatus } from '../protocol.js';
import type { ResponseRun } from './response-run.js';
import { utteranceWords } from './utterance.js';

/** Replies kept for feedback; older ones answer GW_UNKNOWN_RESPONSE. */
const KEPT_REPLIES = 64;
/** A turn this soon after the previous one, with mostly the same words, restates it. */
export const REASK_WINDOW_MS = 60_000;
const REASK_SIMILARITY = 0.6;
/** Ratings of one reply that reach the figures: a client toggling up and down cannot flood them (or Redis). */
const COUNTED_RATINGS = 3;

interface KeptReply {
  arm: string | null;
  model: string;
  replyChars: number;
  rating: 'up' | 'down' | null;
  ratings: number;
}

export class ReplyLedger {
  private readonly replies = new Map<string, KeptReply>();
  private lastTurn: { words: Set<string>; at: number; reply: KeptReply | null } | null = null;

  constructor(
    private readonly observer: QualityObserver | undefined,
    /** The counted arm now (it changes when the client picks its own model). */
    private readonly arm: () => string | null,
    private readonly prices: ModelPrices,
    /** A session restored from another instance was counted there. */
    private sessionCounted: boolean,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A reply settled with `heardLength` characters heard. */
  settled(run: ResponseRun, model: string, status: ResponseStatus, heardLength: number): void {
    // A session counts as a conversation of its arm at its first reply, once a userKey can no longer move it.
    if (!this.sessionCounted) this.observer?.sessionStarted(this.arm());
    this.sessionCounted = true;
    const record = run.figures;
    const timings = record.timings();
    const tools = record.toolStats();
    const tokens = [...record.usageByModel.values()];
    const reply: ReplyQuality = {
      arm: this.arm(),
      model,
      models: [...record.models],
      status,
      firstTokenMs: timings.firstTokenMs,
      firstSpeechMs: timings.firstSpeechMs,
      replyChars: record.text.length,
      heardChars: Math.min(heardLength, record.text.length),
      toolCalls: tools.calls,
      toolErrors: tools.errors,
      escalated: record.models.length > 1,
      promptTokens: tokens.reduce((sum, t) => sum + t.promptTokens, 0),
      completionTokens: tokens.reduce((sum, t) => sum + t.completionTokens, 0),
      costUsd: this.cost(record.usageByModel),
    };
    this.observer?.replySettled(reply);
    const kept: KeptReply = { arm: reply.arm, model, replyChars: reply.replyChars, rating: null, ratings: 0 };
    this.replies.set(run.responseId, kept);
    if (this.replies.size > KEPT_REPLIES) this.replies.delete(this.replies.keys().next().value as string);
    if (this.lastTurn !== null && this.lastTurn.reply === null) this.lastTurn.reply = kept;
  }

  /** The client stopped a completed reply while speaking it: `heardLength` characters were heard. */
  cutWhileSpoken(responseId: string, heardLength: number): void {
    const kept = this.replies.get(responseId);
    if (kept === undefined) return;
    const { arm, model, replyChars } = kept;
    this.observer?.replyCutWhileSpoken({ arm, model, replyChars, heardChars: Math.min(heardLength, replyChars) });
  }

  /** The user rated a reply; false when no kept reply has that id. A new rating replaces the old one. */
  rate(responseId: string, rating: 'up' | 'down'): boolean {
    const kept = this.replies.get(responseId);
    if (kept === undefined) return false;
    if (kept.rating === rating || kept.ratings >= COUNTED_RATINGS) return true;
    this.observer?.feedback({ arm: kept.arm, model: kept.model }, rating, kept.rating);
    kept.rating = rating;
    kept.ratings += 1;
    return true;
  }

  /** A user turn committed: a re-ask when it restates the previous turn soon after it. */
  turnCommitted(text: string): void {
    const words = new Set(utteranceWords(text));
    const at = this.now();
    const last = this.lastTurn;
    if (last?.reply != null && at - last.at <= REASK_WINDOW_MS && similarity(last.words, words) >= REASK_SIMILARITY) {
      this.observer?.reask(last.reply);
    }
    this.lastTurn = { words, at, reply: null };
  }

  private cost(usage: ReadonlyMap<string, { promptTokens: number; completionTokens: number }>): number | null {
    if (usage.size === 0) return null; // the upstream reported no usage
    let total = 0;
    for (const [model, tokens] of usage) {
      const price = this.prices[model as keyof ModelPrices];
      if (price === undefined) return null;
      total += (tokens.promptTokens * price.input + tokens.completionTokens * price.output) / 1_000_000;
    }
    return total;
  }
}

/** Jaccard similarity of two word sets: shared words over all words. */
function similarity(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  let shared = 0;
  for (const word of a) if (b.has(word)) shared += 1;
  return shared / (a.size + b.size - shared);
}
