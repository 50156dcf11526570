// How much one answer, streamed or one JSON body, may say before the gateway stops reading it. `max_tokens` is a
// request to the upstream, not a guarantee: a broken or hostile server may stream for ever, and every character it
// streams is kept (the reply's text, its speech, its history) or costs CPU (reasoning is parsed and filtered). Past
// the budget, the answer ends as if the upstream had said `finish_reason: "length"`, and its request is aborted.

import type { ChatEvent } from './types.js';

/**
 * Characters allowed per token asked for. Real text averages about 4 characters a token; 32 leaves room for runs
 * of whitespace or punctuation that tokenise into long tokens, so only a stream that ignores `max_tokens` is cut.
 */
export const CHARS_PER_TOKEN_CEILING = 32;
/**
 * The budget counts at least this many tokens: a small `max_tokens` may be ignored by the upstream (asi1 has
 * answered 391 tokens to `max_tokens: 0`), and reasoning, counted here too, may not count against it upstream.
 */
export const MIN_BUDGET_TOKENS = 8_192;

/** The answer's budget in characters for a request that asked for `maxTokens` (undefined: none asked). */
export function outputBudgetChars(maxTokens: number | undefined): number {
  return Math.max(maxTokens ?? 0, MIN_BUDGET_TOKENS) * CHARS_PER_TOKEN_CEILING;
}

/** The finish that ends an answer cut at its budget: what the upstream should have sent itself. */
export const CUT_AT_BUDGET: ChatEvent = Object.freeze({ type: 'finish', reason: 'length' }) as ChatEvent;

/** What an event costs: its characters as received (a `<think>` block's tags included), whatever is shown of it. */
const charsOf = (event: ChatEvent): number => {
  switch (event.type) {
    case 'text':
      return event.text.length;
    case 'reasoning':
      return event.raw?.length ?? event.text.length;
    case 'tool_call':
      return (event.argumentsDelta?.length ?? 0) + (event.name?.length ?? 0);
    default:
      return 0;
  }
};

/** One answer's budget: spend() passes events on while it lasts, and ends the answer when it runs out. */
export class OutputBudget {
  private left: number;
  /** A finish went through: the answer already ended as the upstream said, and keeps that finish. */
  private finished = false;

  constructor(readonly chars: number) {
    this.left = chars;
  }

  /** True once the budget ran out: the answer has ended, and nothing more of it is passed on. */
  get exhausted(): boolean {
    return this.left <= 0;
  }

  /**
   * One data line's `events` while the budget lasts. The event that exhausts it is still passed on (it was streamed
   * whole), then CUT_AT_BUDGET, unless the answer had already finished; once exhausted, nothing. Every line costs at
   * least one character, so a stream of lines that say nothing (empty deltas, usage, whitespace a `<think>` filter
   * drops) cannot go on for ever either.
   */
  spend(events: ChatEvent[]): ChatEvent[] {
    if (this.left <= 0) return [];
    this.left -= 1; // the line itself
    let passed = 0;
    for (; passed < events.length && this.left > 0; passed += 1) {
      const event = events[passed]!;
      this.left -= charsOf(event);
      if (event.type === 'finish') this.finished = true;
    }
    if (this.left > 0) return events;
    const kept = events.slice(0, passed);
    // A line after the upstream's own finish (its usage, say) ran the budget out: that finish stands.
    if (!this.finished) kept.push(CUT_AT_BUDGET);
    return kept;
  }
}
