// Conversation items on the Realtime wire: what a client item becomes in the session's history, how history
// messages are shown back as items, and the order of items as the client sees it (for previous_item_id).
import { randomBytes } from 'node:crypto';
import { CUT_OFF_MARKER, INTERRUPTED_MARKER, unmarkReply } from '../../session/history.js';
import type { ChatMessage } from '../../upstream/types.js';
import { RealtimeError } from './errors.js';
import type { ClientItem } from './events-in.js';

export type ItemStatus = 'completed' | 'incomplete' | 'in_progress';

/** A Realtime item as sent to clients (GA shape; dialect.ts renames for the beta). */
export type RealtimeItem = { id: string; object: 'realtime.item'; type: string; status: ItemStatus } & Record<
  string,
  unknown
>;

/** Item ids the gateway assigns; client-supplied ids are kept as they are. */
export function createItemId(): string {
  return `item_${randomBytes(10).toString('hex')}`;
}

const TEXT_PARTS = new Set(['input_text', 'output_text', 'text']);

/** The history message of a client item. Throws for content a text gateway cannot take (audio, images). */
export function toChatMessage(item: ClientItem): ChatMessage {
  switch (item.type) {
    case 'message': {
      const texts = item.content.map((part, i) => {
        if (TEXT_PARTS.has(part.type)) return part.text ?? '';
        const media = /audio|image|file/.test(part.type);
        throw new RealtimeError(media ? 'unsupported_feature' : 'invalid_value', {
          message: media
            ? `Content of type "${part.type}" is not supported: this gateway is text-only.`
            : `Unknown content type "${part.type}".`,
          param: `item.content[${i}].type`,
        });
      });
      return { role: item.role, content: texts.join('\n') };
    }
    case 'function_call_output':
      return { role: 'tool', tool_call_id: item.call_id, content: item.output };
    case 'function_call':
      return {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } }],
      };
  }
}

/** Shows an item's history messages as the item; null when it has none (unknown, deleted or trimmed). */
export function renderItem(itemId: string, messages: readonly ChatMessage[]): RealtimeItem | null {
  const first = messages[0];
  if (first === undefined) return null;
  const base = { id: itemId, object: 'realtime.item' as const, status: 'completed' as ItemStatus };
  switch (first.role) {
    case 'user':
    case 'system':
      return { ...base, type: 'message', role: first.role, content: [{ type: 'input_text', text: first.content }] };
    case 'tool':
      return { ...base, type: 'function_call_output', call_id: first.tool_call_id, output: first.content };
    case 'assistant': {
      const call = first.content === null ? first.tool_calls?.[0] : undefined;
      if (call !== undefined)
        return {
          ...base,
          type: 'function_call',
          call_id: call.id,
          name: call.function.name,
          arguments: call.function.arguments,
        };
      const contents = messages.map((m) => (m.role === 'assistant' ? (m.content ?? '') : ''));
      // A reply that was cancelled, cut off or truncated carries a marker for the model; the client sees its text.
      const cutShort = contents.some((c) => c.endsWith(INTERRUPTED_MARKER) || c.endsWith(CUT_OFF_MARKER));
      return {
        ...base,
        status: cutShort ? 'incomplete' : 'completed',
        type: 'message',
        role: 'assistant',
        content: [{ type: 'output_text', text: contents.map(unmarkReply).join('') }],
      };
    }
  }
}

/** Ids remembered for previous_item_id and duplicate checks; older ones are forgotten (history trims too). */
const MAX_REMEMBERED_ITEMS = 10_000;

/** The order of items as the client saw them added: it answers previous_item_id. */
export class ItemOrder {
  private readonly ids: string[] = [];

  get last(): string | null {
    return this.ids.at(-1) ?? null;
  }

  has(itemId: string): boolean {
    return this.ids.includes(itemId);
  }

  /** Appends an item and returns the id before it (null for the first). */
  append(itemId: string): string | null {
    const previous = this.last;
    this.ids.push(itemId);
    if (this.ids.length > MAX_REMEMBERED_ITEMS) this.ids.shift();
    return previous;
  }

  /** The id before `itemId` (null when it is first or unknown). */
  previous(itemId: string): string | null {
    const index = this.ids.indexOf(itemId);
    return index > 0 ? (this.ids[index - 1] ?? null) : null;
  }

  remove(itemId: string): void {
    const index = this.ids.indexOf(itemId);
    if (index >= 0) this.ids.splice(index, 1);
  }
}
