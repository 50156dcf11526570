// The conversation history of one session, and how it becomes an upstream prompt: the system prompt first,
// then whole turns, trimmed from the oldest to fit a token budget. It does not talk to the network.
import type { ChatMessage } from '../upstream/types.js';

/**
 * Appended to an assistant message the user cut off, so the next prompt can see the reply was interrupted
 * (LiveKit stores such a flag but never shows it to the model; voice-anchors.md §1 calls this a gap).
 */
export const INTERRUPTED_MARKER = ' [interrupted by the user]';
/** Appended to a reply an upstream failure cut short, so the model does not think it chose to stop there. */
export const CUT_OFF_MARKER = ' [cut off by a connection error]';

export type CutOff = 'none' | 'interrupted' | 'failed';

/** The assistant content to commit: trailing space dropped, and a marker when the reply was cut short. */
export function markReply(text: string, cutOff: CutOff): string {
  if (cutOff === 'none') return text;
  return text.trimEnd() + (cutOff === 'interrupted' ? INTERRUPTED_MARKER : CUT_OFF_MARKER);
}

/** Rough token estimate (about 4 characters a token, plus per-message overhead); errs on the high side. */
export function estimateTokens(message: ChatMessage): number {
  let chars = message.content?.length ?? 0;
  if (message.role === 'assistant' && message.tool_calls) {
    for (const call of message.tool_calls) chars += call.function.name.length + call.function.arguments.length + 16;
  }
  return Math.ceil(chars / 3.5) + 6;
}

/** A user message and everything that answered it; the unit that trimming drops. */
interface Turn {
  messages: ChatMessage[];
  tokens: number;
}

export class ConversationHistory {
  private readonly turns: Turn[] = [];

  /** Starts a new turn with what the user said. The user's words are kept even if the reply fails. */
  addUser(text: string): void {
    const message: ChatMessage = { role: 'user', content: text };
    this.turns.push({ messages: [message], tokens: estimateTokens(message) });
  }

  /**
   * Appends an assistant reply (or tool messages) to the current turn. Tool results stay in the same turn
   * as the call that asked for them, so trimming can never orphan a tool result.
   */
  addToCurrentTurn(message: ChatMessage): void {
    const turn = this.turns.at(-1);
    if (turn === undefined) {
      // An assistant message with no user turn before it (never produced by the session) still gets a turn.
      this.turns.push({ messages: [message], tokens: estimateTokens(message) });
      return;
    }
    turn.messages.push(message);
    turn.tokens += estimateTokens(message);
  }

  /**
   * Replaces the last `count` messages of the current turn (a finished reply the user cut short while it was
   * still being spoken is rewritten to what was heard).
   */
  replaceTail(count: number, messages: readonly ChatMessage[]): void {
    const turn = this.turns.at(-1);
    if (turn === undefined) return;
    const removed = turn.messages.splice(turn.messages.length - count, count, ...messages);
    for (const m of removed) turn.tokens -= estimateTokens(m);
    for (const m of messages) turn.tokens += estimateTokens(m);
  }

  get turnCount(): number {
    return this.turns.length;
  }

  /**
   * Builds the prompt: system prompt, then as many of the newest whole turns as fit `budgetTokens`.
   * The newest turn is always kept. Dropped turns are forgotten for good, which also bounds memory.
   */
  toMessages(systemPrompt: string, budgetTokens: number): ChatMessage[] {
    const system: ChatMessage = { role: 'system', content: systemPrompt };
    let remaining = budgetTokens - estimateTokens(system);
    let keepFrom = this.turns.length;
    while (keepFrom > 0) {
      const turn = this.turns[keepFrom - 1];
      if (turn === undefined) break;
      if (turn.tokens > remaining && keepFrom < this.turns.length) break;
      remaining -= turn.tokens;
      keepFrom -= 1;
    }
    if (keepFrom > 0) this.turns.splice(0, keepFrom);
    const messages: ChatMessage[] = [system];
    for (const turn of this.turns) messages.push(...turn.messages);
    return messages;
  }
}
