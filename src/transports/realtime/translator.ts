// Native session events → Realtime server events. One response at a time: its message item appears with the
// first delta, client tool calls become function_call items when the response completes with them, and
// response.done reports status, status_details and usage. Owns no conversation logic; the Session does.
import type { ServerEventBody, Usage } from '../../protocol.js';
import type { ResponseHandle } from '../../session/session.js';
import type { RealtimeEvent } from './dialect.js';
import { errorType } from './errors.js';
import { createItemId, type ItemOrder, type ItemStatus, type RealtimeItem } from './items.js';
import { realtimeStatus, realtimeUsage } from './response-status.js';

/** What the next response.create asked for, registered just before the session starts the response. */
export interface ResponseMeta {
  messageItemId: string;
  maxOutputTokens: number | 'inf';
  metadata: Record<string, string> | null;
  /** conversation: "none": nothing of it is added to the conversation. */
  outOfBand: boolean;
  /** Set once the session has created the response. */
  handle?: ResponseHandle;
}

export interface TranslatorOptions {
  conversationId: string;
  order: ItemOrder;
  emit: (event: RealtimeEvent) => void;
  /** session.created, built when the core announces the session. */
  sessionCreated: () => RealtimeEvent;
  /** The rate_limits of rate_limits.updated, sent after each response.created. */
  rateLimits: () => Record<string, unknown>[];
}

type DoneEvent = Extract<ServerEventBody, { type: 'response.done' }>;

interface ActiveResponse {
  id: string;
  meta: ResponseMeta;
  message: { outputIndex: number } | null;
  calls: { callId: string; name: string; arguments: string }[];
  output: RealtimeItem[];
}

export class RealtimeTranslator {
  private expected: ResponseMeta | null = null;
  private active: ActiveResponse | null = null;
  private readonly callItemIds = new Map<string, string>();

  constructor(private readonly options: TranslatorOptions) {}

  /** Registers the meta of the response the session is about to create (null withdraws it). */
  expect(meta: ResponseMeta | null): void {
    this.expected = meta;
  }

  /** True for the item of the response still running: it is in the conversation only once that response is done. */
  isActiveItem(itemId: string): boolean {
    return this.active !== null && this.active.meta.messageItemId === itemId;
  }

  /** The item id of a client tool call: allocated once, shared with the session's history. */
  callItemId(callId: string): string {
    let itemId = this.callItemIds.get(callId);
    if (itemId === undefined) {
      itemId = createItemId();
      this.callItemIds.set(callId, itemId);
    }
    return itemId;
  }

  /** Maps one native event; the session's sink, so it must not throw (the caller guards it). */
  onNative(body: ServerEventBody): void {
    switch (body.type) {
      case 'session.ready':
        return this.options.emit(this.options.sessionCreated());
      case 'response.created':
        return this.onCreated(body.responseId);
      case 'response.delta':
        return this.onDelta(body.responseId, body.text);
      case 'response.tool_call':
        if (body.runsOn === 'client' && this.active?.id === body.responseId) {
          this.active.calls.push({ callId: body.callId, name: body.name, arguments: body.arguments });
        }
        return;
      case 'response.done':
        return this.onDone(body);
      case 'error':
        return this.options.emit({
          type: 'error',
          error: {
            type: errorType(body.code),
            code: body.code,
            message: body.message,
            param: null,
            event_id: body.eventId ?? null,
          },
        });
      default:
        // speech segments, pong, session.updated/resumed: nothing on the Realtime wire.
        return;
    }
  }

  private onCreated(responseId: string): void {
    const meta = this.expected ?? {
      messageItemId: createItemId(),
      maxOutputTokens: 'inf',
      metadata: null,
      outOfBand: false,
    };
    this.expected = null;
    this.active = { id: responseId, meta, message: null, calls: [], output: [] };
    this.options.emit({
      type: 'response.created',
      response: this.responseObject(this.active, 'in_progress', null, null),
    });
    this.options.emit({ type: 'rate_limits.updated', rate_limits: this.options.rateLimits() });
  }

  private onDelta(responseId: string, delta: string): void {
    const active = this.active;
    if (active === null || active.id !== responseId) return;
    const itemId = active.meta.messageItemId;
    if (active.message === null) {
      active.message = { outputIndex: active.output.length };
      const item: RealtimeItem = {
        id: itemId,
        object: 'realtime.item',
        type: 'message',
        status: 'in_progress',
        role: 'assistant',
        content: [],
      };
      active.output.push(item);
      this.options.emit({
        type: 'response.output_item.added',
        response_id: responseId,
        output_index: active.message.outputIndex,
        item,
      });
      this.conversationItem(active, 'conversation.item.added', item);
      this.options.emit({
        type: 'response.content_part.added',
        ...this.partRef(active),
        part: { type: 'text', text: '' },
      });
    }
    this.options.emit({ type: 'response.output_text.delta', ...this.partRef(active), delta });
  }

  private onDone(done: DoneEvent): void {
    const active = this.active;
    if (active === null || active.id !== done.responseId) return;
    this.active = null;
    const { status, details } = realtimeStatus(done, active.meta.handle?.finishReason ?? null);
    if (active.message !== null) {
      const text = done.text;
      this.options.emit({ type: 'response.output_text.done', ...this.partRef(active), text });
      this.options.emit({ type: 'response.content_part.done', ...this.partRef(active), part: { type: 'text', text } });
      const item: RealtimeItem = {
        id: active.meta.messageItemId,
        object: 'realtime.item',
        type: 'message',
        status: status === 'completed' ? 'completed' : 'incomplete',
        role: 'assistant',
        content: [{ type: 'output_text', text }],
      };
      active.output[active.message.outputIndex] = item;
      this.options.emit({
        type: 'response.output_item.done',
        response_id: active.id,
        output_index: active.message.outputIndex,
        item,
      });
      this.conversationItem(active, 'conversation.item.done', item);
    }
    // The calls exist only if the response completed with them (the session's history holds them then).
    if (done.status === 'completed') for (const call of active.calls) this.emitCall(active, call);
    this.options.emit({
      type: 'response.done',
      response: this.responseObject(active, status, details, done.usage ?? null),
    });
  }

  private emitCall(active: ActiveResponse, call: ActiveResponse['calls'][number]): void {
    const outputIndex = active.output.length;
    const itemId = this.callItemId(call.callId);
    const item = (itemStatus: ItemStatus, args: string): RealtimeItem => ({
      id: itemId,
      object: 'realtime.item',
      type: 'function_call',
      status: itemStatus,
      name: call.name,
      call_id: call.callId,
      arguments: args,
    });
    const ref = { response_id: active.id, item_id: itemId, output_index: outputIndex, call_id: call.callId };
    active.output.push(item('completed', call.arguments));
    this.options.emit({
      type: 'response.output_item.added',
      response_id: active.id,
      output_index: outputIndex,
      item: item('in_progress', ''),
    });
    this.conversationItem(active, 'conversation.item.added', item('in_progress', ''));
    // The gateway validates a call's arguments once they are complete, so they arrive as one delta.
    if (call.arguments !== '')
      this.options.emit({ type: 'response.function_call_arguments.delta', ...ref, delta: call.arguments });
    this.options.emit({
      type: 'response.function_call_arguments.done',
      ...ref,
      name: call.name,
      arguments: call.arguments,
    });
    this.options.emit({
      type: 'response.output_item.done',
      response_id: active.id,
      output_index: outputIndex,
      item: item('completed', call.arguments),
    });
    this.conversationItem(active, 'conversation.item.done', item('completed', call.arguments));
  }

  /** conversation.item.added/done for an item of an in-conversation response; `added` also records its place. */
  private conversationItem(
    active: ActiveResponse,
    type: 'conversation.item.added' | 'conversation.item.done',
    item: RealtimeItem,
  ): void {
    if (active.meta.outOfBand) return;
    const previous = type === 'conversation.item.added' ? this.options.order.append(item.id) : this.previousOf(item.id);
    this.options.emit({ type, previous_item_id: previous, item });
  }

  private previousOf(itemId: string): string | null {
    return this.options.order.previous(itemId);
  }

  private partRef(active: ActiveResponse): Record<string, unknown> {
    return {
      response_id: active.id,
      item_id: active.meta.messageItemId,
      output_index: active.message?.outputIndex ?? 0,
      content_index: 0,
    };
  }

  private responseObject(
    active: ActiveResponse,
    status: string,
    details: Record<string, unknown> | null,
    usage: Usage | null,
  ): Record<string, unknown> {
    return {
      object: 'realtime.response',
      id: active.id,
      status,
      status_details: details,
      output: active.output,
      conversation_id: active.meta.outOfBand ? null : this.options.conversationId,
      output_modalities: ['text'],
      max_output_tokens: active.meta.maxOutputTokens,
      metadata: active.meta.metadata,
      usage: status === 'in_progress' ? null : realtimeUsage(usage),
    };
  }
}
