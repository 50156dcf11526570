// One Realtime connection's client events, applied to its Session: session.update, conversation.item.*,
// response.create/cancel. Validation of Realtime-only rules lives here; conversation logic stays in the Session.
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import { GatewayError } from '../../errors.js';
import { TRACEPARENT_PATTERN } from '../../protocol.js';
import type { Session } from '../../session/session.js';
import type { TurnAdmission } from '../turn-gate.js';
import type { Dialect, RealtimeEvent } from './dialect.js';
import { RealtimeError, toErrorBody } from './errors.js';
import type { ItemCreateEvent, RealtimeClientEvent, ResponseCreateEvent, SessionUpdateEvent } from './events-in.js';
import { createItemId, renderItem, toChatMessage, type ItemOrder } from './items.js';
import { renderSession, type RealtimeOnlySettings } from './session-object.js';
import { checkNamedTool, checkTextOnly, isModel, toClientTool, toCoreChoice } from './settings-rules.js';
import type { RealtimeTranslator, ResponseMeta } from './translator.js';

export interface ConversationOptions {
  session: Session;
  config: Readonly<Config>;
  translator: RealtimeTranslator;
  order: ItemOrder;
  settings: RealtimeOnlySettings;
  /** Server tools: a tool_choice may name them too. */
  serverToolNames: readonly string[];
  emit: (event: RealtimeEvent) => void;
  dialect: { value: Dialect };
  /**
   * The response caps and rates (per connection, address and token) for one more response: the refusal, or the
   * response recorded with an `undo` for when it does not start after all (then it costs no allowance).
   */
  admitResponse: () => TurnAdmission;
  logger: Logger;
}

export class RealtimeConversation {
  constructor(private readonly options: ConversationOptions) {}

  /** Applies one validated client event. Never throws: failures become `error` events echoing its event_id. */
  handle(event: RealtimeClientEvent): void {
    try {
      this.apply(event);
    } catch (err) {
      this.reportError(err, event.event_id);
    }
  }

  /** Sends an `error` event (also for frames that never became events). */
  reportError(err: unknown, eventId: string | undefined): void {
    const error =
      err instanceof RealtimeError || err instanceof GatewayError
        ? err
        : new GatewayError('GW_INTERNAL', { cause: err });
    if (error instanceof GatewayError && error.code === 'GW_INTERNAL')
      this.options.logger.error({ err: error.cause ?? error }, 'internal error');
    else this.options.logger.debug({ code: error.code }, 'client error');
    this.options.emit({ type: 'error', error: toErrorBody(error, eventId) });
  }

  sessionObject(): Record<string, unknown> {
    const { session, settings, dialect } = this.options;
    return renderSession(dialect.value, session.id, session.currentSettings, settings);
  }

  private apply(event: RealtimeClientEvent): void {
    if ('item_id' in event && this.options.translator.isActiveItem(event.item_id)) {
      throw new RealtimeError('invalid_value', {
        message: 'That item belongs to the active response: cancel it, or wait for response.done, first.',
        param: 'item_id',
      });
    }
    switch (event.type) {
      case 'session.update':
        return this.updateSession(event);
      case 'conversation.item.create':
        return this.createItem(event);
      case 'response.create':
        return this.createResponse(event);
      case 'response.cancel': {
        const active = this.options.session.activeResponseId;
        if (active === null || (event.response_id !== undefined && event.response_id !== active))
          throw new RealtimeError('response_cancel_not_active');
        // Synchronous: response.done (cancelled) is sent before this returns.
        return this.options.session.interruptActive('client_cancel');
      }
      case 'conversation.item.truncate': {
        if (event.content_index !== 0)
          throw new RealtimeError('invalid_value', {
            message: 'A text item has one content part: content_index must be 0.',
            param: 'content_index',
          });
        const result = this.options.session.items.truncateItem(event.item_id, event.audio_end_ms);
        if (result === 'not_found')
          throw new RealtimeError('item_not_found', {
            message: `Item "${event.item_id}" was not found.`,
            param: 'item_id',
          });
        if (result === 'not_text')
          throw new RealtimeError('invalid_value', {
            message: 'Only assistant message items can be truncated.',
            param: 'item_id',
          });
        return this.options.emit({
          type: 'conversation.item.truncated',
          item_id: event.item_id,
          content_index: 0,
          audio_end_ms: event.audio_end_ms,
        });
      }
      case 'conversation.item.delete': {
        const known = this.options.order.has(event.item_id);
        if (!this.options.session.items.deleteItem(event.item_id) && !known)
          throw new RealtimeError('item_not_found', {
            message: `Item "${event.item_id}" was not found.`,
            param: 'item_id',
          });
        this.options.order.remove(event.item_id);
        return this.options.emit({ type: 'conversation.item.deleted', item_id: event.item_id });
      }
      case 'conversation.item.retrieve': {
        const item = renderItem(event.item_id, this.options.session.items.itemMessages(event.item_id));
        if (item === null)
          throw new RealtimeError('item_not_found', {
            message: `Item "${event.item_id}" was not found.`,
            param: 'item_id',
          });
        return this.options.emit({ type: 'conversation.item.retrieved', item });
      }
    }
  }

  /**
   * Merges the update (all or nothing, except for an audio output request) and answers with the full
   * effective session. Audio output gets an `error`, but the rest of the update still applies and
   * session.updated follows, showing ["text"]: the Agents SDK asks for ["audio"] unless told otherwise, and
   * its tools and instructions must not be lost for it (OpenAI's Realtime API keeps a session's tools and instructions for every later response).
   */
  private updateSession(event: SessionUpdateEvent): void {
    const s = event.session;
    const { dialect, config } = this.options;
    // GA clients that also sent the beta header (openai 5.18–5.23) say what they are here.
    if (s.type === 'realtime') dialect.value = 'ga';
    if (s.type !== undefined && s.type !== 'realtime') {
      throw new RealtimeError('unsupported_feature', {
        message: `Session type "${s.type}" is not supported; use "realtime".`,
        param: 'session.type',
      });
    }
    let audioRefused: RealtimeError | null = null;
    try {
      checkTextOnly(
        s.output_modalities ?? s.modalities,
        s.output_modalities === undefined ? 'session.modalities' : 'session.output_modalities',
      );
    } catch (err) {
      audioRefused = err as RealtimeError;
    }
    const tools = s.tools?.map(toClientTool);
    if (typeof s.tool_choice === 'object') {
      const declared = tools ?? this.options.session.currentSettings.tools;
      checkNamedTool(
        s.tool_choice.name,
        [...declared.map((t) => t.name), ...this.options.serverToolNames],
        'session.tool_choice',
      );
    }
    const maxTokens = s.max_output_tokens ?? s.max_response_output_tokens;
    this.options.session.configure({
      ...(s.instructions === undefined ? {} : { instructions: s.instructions }),
      ...(s.model !== undefined && isModel(s.model) ? { model: s.model } : {}),
      ...(s.temperature === undefined ? {} : { temperature: s.temperature }),
      ...(maxTokens === undefined ? {} : { maxOutputTokens: maxTokens === 'inf' ? config.maxOutputTokens : maxTokens }),
      ...(tools === undefined ? {} : { tools }),
    });
    if (s.tool_choice !== undefined) this.options.settings.toolChoice = s.tool_choice;
    if (s.tracing !== undefined) this.options.settings.tracing = s.tracing;
    if (audioRefused !== null) this.reportError(audioRefused, event.event_id);
    this.options.emit({ type: 'session.updated', session: this.sessionObject() });
  }

  private createItem(event: ItemCreateEvent): void {
    const { session, order } = this.options;
    const item = event.item;
    const previous = event.previous_item_id;
    if (
      previous !== undefined &&
      previous !== null &&
      previous !== order.last &&
      !(previous === 'root' && order.last === null)
    ) {
      throw new RealtimeError('unsupported_feature', {
        message: 'Items can only be appended: omit previous_item_id, or give the last item id.',
        param: 'previous_item_id',
      });
    }
    if (item.id !== undefined && (order.has(item.id) || session.items.itemMessages(item.id).length > 0)) {
      throw new RealtimeError('item_already_exists', {
        message: `Item "${item.id}" already exists.`,
        param: 'item.id',
      });
    }
    if (item.type === 'function_call_output' && !session.items.hasToolCall(item.call_id)) {
      throw new RealtimeError('invalid_value', {
        message: `No function call in the conversation has call_id "${item.call_id}".`,
        param: 'item.call_id',
      });
    }
    const itemId = item.id ?? createItemId();
    session.addItem(toChatMessage(item), itemId);
    const stored = renderItem(itemId, session.items.itemMessages(itemId));
    const previousItemId = order.append(itemId);
    this.options.emit({ type: 'conversation.item.added', previous_item_id: previousItemId, item: stored });
    this.options.emit({ type: 'conversation.item.done', previous_item_id: previousItemId, item: stored });
  }

  private createResponse(event: ResponseCreateEvent): void {
    const { session, config, translator } = this.options;
    const active = session.activeResponseId;
    if (active !== null) {
      throw new RealtimeError('conversation_already_has_active_response', {
        message: `Conversation already has an active response in progress: ${active}. Wait until it is done, or cancel it, before creating a new one.`,
      });
    }
    const r = event.response ?? {};
    if (r.input !== undefined)
      throw new RealtimeError('unsupported_feature', {
        message: 'response.input is not supported; the response always answers the conversation.',
        param: 'response.input',
      });
    if (r.conversation !== undefined && r.conversation !== 'auto' && r.conversation !== 'none') {
      throw new RealtimeError('invalid_value', {
        message: 'response.conversation must be "auto" or "none".',
        param: 'response.conversation',
      });
    }
    checkTextOnly(
      r.output_modalities ?? r.modalities,
      r.output_modalities === undefined ? 'response.modalities' : 'response.output_modalities',
    );
    const traceparent = traceparentOf(event);
    const slot = this.options.admitResponse();
    if (!slot.ok) throw slot.error;
    const maxTokens = r.max_output_tokens ?? r.max_response_output_tokens;
    const messageItemId = createItemId();
    const meta: ResponseMeta = {
      messageItemId,
      maxOutputTokens: maxTokens ?? session.currentSettings.maxOutputTokens,
      metadata: r.metadata ?? null,
      outOfBand: r.conversation === 'none',
    };
    translator.expect(meta);
    try {
      const result = session.createResponse({
        ...(r.instructions === undefined ? {} : { instructions: r.instructions }),
        ...(r.tools === undefined ? {} : { tools: r.tools.map(toClientTool) }),
        toolChoice: toCoreChoice(r.tool_choice ?? this.options.settings.toolChoice),
        ...(maxTokens === undefined
          ? {}
          : { maxOutputTokens: maxTokens === 'inf' ? config.maxOutputTokens : maxTokens }),
        ...(r.temperature === undefined ? {} : { temperature: r.temperature }),
        commit: r.conversation !== 'none',
        itemIds: { message: messageItemId, call: (callId) => translator.callItemId(callId) },
        traceparent,
      });
      if (!result.ok) throw new RealtimeError('conversation_already_has_active_response');
      meta.handle = result.response;
    } catch (err) {
      slot.undo();
      throw err;
    } finally {
      translator.expect(null);
    }
  }
}

const TRACEPARENT = new RegExp(TRACEPARENT_PATTERN);

/**
 * The client's trace context for a response: `traceparent` on response.create (validated by its schema, so a
 * malformed one is refused), or `response.metadata.traceparent`, which OpenAI's SDKs can send without a cast.
 * Metadata is the client's own free-form data: a value there that is not a W3C traceparent is simply not one.
 */
function traceparentOf(event: ResponseCreateEvent): string | undefined {
  if (event.traceparent !== undefined) return event.traceparent;
  const fromMetadata = event.response?.metadata?.traceparent;
  return fromMetadata !== undefined && TRACEPARENT.test(fromMetadata) ? fromMetadata : undefined;
}
