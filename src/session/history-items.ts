// A reply as conversation items and back: itemizeReply() splits a reply's history messages into items (its
// text, each client call), pairToolMessages() joins items back into what the upstream expects.
import type { ChatMessage } from '../upstream/types.js';

/** A message and the conversation item it belongs to; none for internal messages (e.g. server tool steps). */
export interface TaggedMessage {
  message: ChatMessage;
  itemId?: string;
}

/**
 * Splits a reply's history messages into conversation items: its text (every text part, across tool steps) is
 * the message item, each call in `callItemId` is its own function_call item; server tool steps stay untagged.
 * pairToolMessages() joins the pieces back for the upstream.
 */
export function itemizeReply(
  messages: readonly ChatMessage[],
  messageItemId: string,
  callItemId: (callId: string) => string | undefined,
): TaggedMessage[] {
  const entries: TaggedMessage[] = [];
  for (const message of messages) {
    if (message.role !== 'assistant') {
      entries.push({ message });
      continue;
    }
    if (message.content !== null && message.content !== '')
      entries.push({ message: { role: 'assistant', content: message.content }, itemId: messageItemId });
    const calls = message.tool_calls ?? [];
    const internal = calls.filter((c) => callItemId(c.id) === undefined);
    if (internal.length > 0) entries.push({ message: { role: 'assistant', content: null, tool_calls: internal } });
    for (const call of calls) {
      const itemId = callItemId(call.id);
      if (itemId !== undefined)
        entries.push({ message: { role: 'assistant', content: null, tool_calls: [call] }, itemId });
    }
  }
  return entries;
}

/**
 * Makes an item-edited prompt valid for chat completions: an assistant message holding only tool calls joins
 * the assistant message before it, each tool result moves right after its call, and calls without a result (or
 * results without a call: deleted, never answered, trimmed) are dropped. Identity on native histories.
 */
export function pairToolMessages(messages: readonly ChatMessage[]): ChatMessage[] {
  const merged: ChatMessage[] = [];
  for (const message of messages) {
    const last = merged.at(-1);
    if (
      message.role === 'assistant' &&
      message.content === null &&
      message.tool_calls !== undefined &&
      last?.role === 'assistant'
    ) {
      merged[merged.length - 1] = { ...last, tool_calls: [...(last.tool_calls ?? []), ...message.tool_calls] };
    } else {
      merged.push(message);
    }
  }
  const results = new Map<string, ChatMessage>();
  for (const m of merged) if (m.role === 'tool' && !results.has(m.tool_call_id)) results.set(m.tool_call_id, m);
  const out: ChatMessage[] = [];
  for (const message of merged) {
    if (message.role === 'tool') continue;
    if (message.role !== 'assistant' || message.tool_calls === undefined) {
      out.push(message);
      continue;
    }
    const answered = message.tool_calls.filter((c) => results.has(c.id));
    if (answered.length === 0 && (message.content === null || message.content === '')) continue;
    const { tool_calls: _calls, ...rest } = message;
    out.push(answered.length === 0 ? rest : { ...rest, tool_calls: answered });
    for (const call of answered) {
      out.push(results.get(call.id) as ChatMessage);
      results.delete(call.id);
    }
  }
  return out;
}
