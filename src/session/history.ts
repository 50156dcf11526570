// The conversation history of one session, and how it becomes an upstream prompt: the system prompt first,
// then whole turns, trimmed from the oldest to fit a token budget. Messages may carry a conversation item id
// (the Realtime transport's items), so they can be truncated or deleted. It does not talk to the network.
import type { ChatMessage } from '../upstream/types.js';
import type { TaggedMessage } from './history-items.js';

/**
 * Appended to an assistant message the user cut off, so the next prompt can see the reply was interrupted
 * (LiveKit stores such a flag but never shows it to the model, which then cannot tell the reply was cut short).
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

/** The text a reply had before markReply: what the client was shown (trailing space aside). */
export function unmarkReply(text: string): string {
  for (const marker of [INTERRUPTED_MARKER, CUT_OFF_MARKER])
    if (text.endsWith(marker)) return text.slice(0, -marker.length);
  return text;
}

/** Where a response started: its reply is inserted there, even if items were appended while it ran. */
export interface HistoryAnchor {
  turn: Turn | undefined;
  after: ChatMessage | undefined;
}

export type TruncateResult = 'truncated' | 'not_found' | 'not_text';

/** Rough token estimate (about 4 characters a token, plus per-message overhead); errs on the high side. */
export function estimateTokens(message: ChatMessage): number {
  let chars = message.content?.length ?? 0;
  if (message.role === 'assistant' && message.tool_calls) {
    for (const call of message.tool_calls) chars += call.function.name.length + call.function.arguments.length + 16;
  }
  return Math.ceil(chars / 3.5) + 6;
}

/** A user message and everything that answered it; the unit that trimming drops. */
export interface Turn {
  messages: ChatMessage[];
  tokens: number;
}

export class ConversationHistory {
  private readonly turns: Turn[] = [];
  /** The last prompt's system message, kept while the prompt is the same: the client encodes it once (chat-body.ts). */
  private system: ChatMessage = { role: 'system', content: '' };
  /** Item ids by message object: they survive splices, and forgotten messages take their ids with them. */
  private readonly itemIds = new WeakMap<ChatMessage, string>();
  /** The turn a running response answers: makeRoom keeps it, so the reply goes in after it (insertItems). */
  private pinned: Turn | undefined;

  /** Starts a new turn with what the user said. The user's words are kept even if the reply fails. */
  addUser(text: string): void {
    const message: ChatMessage = { role: 'user', content: text };
    this.turns.push({ messages: [message], tokens: estimateTokens(message) });
  }

  /** Rewrites the words of the last turn's user message (a paused user went on); false when there is none. */
  replaceLastUserText(text: string): boolean {
    const turn = this.turns.at(-1);
    const first = turn?.messages[0];
    if (turn === undefined || first?.role !== 'user') return false;
    const message: ChatMessage = { role: 'user', content: text };
    turn.messages[0] = message;
    turn.tokens += estimateTokens(message) - estimateTokens(first);
    return true;
  }

  /** Appends conversation items: a user message starts a turn, anything else joins the current one. */
  addItems(entries: readonly TaggedMessage[]): void {
    for (const { message, itemId } of entries) {
      if (itemId !== undefined) this.itemIds.set(message, itemId);
      if (message.role === 'user') this.turns.push({ messages: [message], tokens: estimateTokens(message) });
      else this.addToCurrentTurn(message);
    }
  }

  /**
   * Makes room for an item of `tokens` within `budgetTokens` by dropping the oldest whole turns, as a prompt would.
   * Only prompts trimmed the history, and they keep the newest turn whole, so a client's items could grow one turn
   * without end (1,000 items of 120 KB held 362 MB). An item that starts a turn (a user message) fits, as a voice
   * turn does: older turns make room. Any other item must fit beside the newest turn, or false, and nothing is
   * dropped. The turn a running response answers (see anchor()) and those after it are never dropped: while it
   * runs, a user message must fit beside them too.
   */
  makeRoom(tokens: number, budgetTokens: number, startsTurn: boolean): boolean {
    let total = this.turns.reduce((sum, turn) => sum + turn.tokens, tokens);
    const pinned = this.pinned === undefined ? -1 : this.turns.indexOf(this.pinned);
    const keep = Math.max(startsTurn ? 0 : 1, pinned < 0 ? 0 : this.turns.length - pinned);
    let drop = 0;
    while (total > budgetTokens && this.turns.length - drop > keep) total -= (this.turns[drop++] as Turn).tokens;
    const fits = total <= budgetTokens || (startsTurn && pinned < 0);
    if (fits && drop > 0) this.turns.splice(0, drop);
    return fits;
  }

  /** The response that anchored here ended without a reply to insert: its turn may make room again. */
  release(anchor: HistoryAnchor): void {
    if (this.pinned === anchor.turn) this.pinned = undefined;
  }

  /** The current end of the history, for insertItems. */
  anchor(): HistoryAnchor {
    const turn = this.turns.at(-1);
    this.pinned = turn; // until its reply is inserted, or the next response starts
    return { turn, after: turn?.messages.at(-1) };
  }

  /**
   * Inserts a reply where its response started: after the anchor's message (or at the start of its turn), so
   * items the client appended meanwhile stay after it. Falls back to appending when the anchor is gone.
   */
  insertItems(anchor: HistoryAnchor, entries: readonly TaggedMessage[]): void {
    const turn = anchor.turn;
    this.release(anchor);
    if (
      turn === undefined ||
      !this.turns.includes(turn) ||
      (anchor.after !== undefined && !turn.messages.includes(anchor.after))
    ) {
      for (const entry of entries) {
        if (entry.itemId !== undefined) this.itemIds.set(entry.message, entry.itemId);
        this.addToCurrentTurn(entry.message);
      }
      return;
    }
    let at = anchor.after === undefined ? 0 : turn.messages.indexOf(anchor.after) + 1;
    for (const { message, itemId } of entries) {
      if (itemId !== undefined) this.itemIds.set(message, itemId);
      turn.messages.splice(at, 0, message);
      turn.tokens += estimateTokens(message);
      at += 1;
    }
  }

  /** The messages of one item, in order; empty when the item is unknown (or was trimmed away). */
  itemMessages(itemId: string): ChatMessage[] {
    const found: ChatMessage[] = []; // one array, not one per turn: a client may ask on every item it creates
    for (const turn of this.turns) for (const m of turn.messages) if (this.itemIds.get(m) === itemId) found.push(m);
    return found;
  }

  /** True when an assistant message holds a tool call with this id. */
  hasToolCall(callId: string): boolean {
    return this.turns.some((turn) =>
      turn.messages.some((m) => m.role === 'assistant' && m.tool_calls?.some((c) => c.id === callId)),
    );
  }

  /**
   * Keeps the first `chars` characters of an assistant item's text (what the client saw, across the item's
   * messages) and marks it interrupted, like a reply the user cut short. Tool calls in it are kept.
   */
  truncateItem(itemId: string, chars: number): TruncateResult {
    let found = false;
    let remaining = chars;
    for (const turn of this.turns) {
      for (let i = 0; i < turn.messages.length; i += 1) {
        const message = turn.messages[i] as ChatMessage;
        if (this.itemIds.get(message) !== itemId) continue;
        if (message.role !== 'assistant' || message.content === null) return 'not_text';
        found = true;
        const text = unmarkReply(message.content);
        if (remaining >= text.length) {
          remaining -= text.length;
          continue;
        }
        const kept = text.slice(0, remaining);
        remaining = 0;
        const content = kept.trim() === '' ? null : markReply(kept, 'interrupted');
        turn.tokens -= estimateTokens(message);
        if (content === null && message.tool_calls === undefined) {
          turn.messages.splice(i, 1);
          i -= 1;
          continue;
        }
        const replacement: ChatMessage = { ...message, content };
        this.itemIds.set(replacement, itemId);
        turn.messages[i] = replacement;
        turn.tokens += estimateTokens(replacement);
      }
    }
    return found ? 'truncated' : 'not_found';
  }

  /** Removes every message of an item; a turn left empty is dropped. False when the item is unknown. */
  deleteItem(itemId: string): boolean {
    let found = false;
    for (const turn of this.turns) {
      let removed = 0; // one pass: looking each message up in `kept` made a delete quadratic in the turn's length
      const kept = turn.messages.filter(
        (m) => this.itemIds.get(m) !== itemId || ((removed += estimateTokens(m)), false),
      );
      if (kept.length === turn.messages.length) continue;
      found = true;
      turn.tokens -= removed;
      turn.messages = kept;
    }
    if (found) this.turns.splice(0, this.turns.length, ...this.turns.filter((t) => t.messages.length > 0));
    return found;
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

  /** Every turn's messages, oldest first (for a snapshot). Item ids are not part of it. */
  exportTurns(): ChatMessage[][] {
    return this.turns.map((turn) => [...turn.messages]);
  }

  /** Replaces the history with restored turns (a session moving here from another instance). */
  importTurns(turns: readonly (readonly ChatMessage[])[]): void {
    this.turns.length = 0;
    for (const messages of turns) {
      if (messages.length === 0) continue;
      this.turns.push({ messages: [...messages], tokens: messages.reduce((sum, m) => sum + estimateTokens(m), 0) });
    }
  }

  /**
   * Builds the prompt: system prompt, then as many of the newest whole turns as fit `budgetTokens`.
   * The newest turn is always kept. Dropped turns are forgotten for good, which also bounds memory.
   */
  toMessages(systemPrompt: string, budgetTokens: number): ChatMessage[] {
    if (this.system.content !== systemPrompt) this.system = { role: 'system', content: systemPrompt };
    const { system } = this;
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

export { itemizeReply, pairToolMessages, type TaggedMessage } from './history-items.js';
