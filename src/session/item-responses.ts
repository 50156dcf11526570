// Responses requested apart from the items they answer (Realtime `response.create`): per-response tools,
// tool_choice and instructions, a prompt from the items so far, and a reply committed as items where it started.
// It does not start or number runs (response-slot.ts) nor handle native turns (session.ts).
import type { Config } from '../config.js';
import { GatewayError } from '../errors.js';
import type { ClientTool, SessionSettings } from '../protocol.js';
import type { ToolRegistry } from '../tools/registry.js';
import { itemizeReply, pairToolMessages, type ConversationHistory } from './history.js';
import type { ResponseRun, ToolChoice } from './response-run.js';
import type { LaunchSpec } from './response-slot.js';
import { validateClientTools } from './tool-declarations.js';
import { SessionToolRunner } from './tool-runner.js';

/** A response requested apart from the items it answers (Realtime). Every field overrides the session for it only. */
export interface ResponseRequest {
  instructions?: string;
  tools?: ClientTool[];
  toolChoice?: ToolChoice;
  maxOutputTokens?: number;
  temperature?: number;
  /** False: an out-of-band response, never written to history. Default true. */
  commit?: boolean;
  /** The ids the reply gets as history items: its text, and each client tool call it ends with. */
  itemIds: { message: string; call: (callId: string) => string };
  /** The client's W3C traceparent: the response's trace continues it. */
  traceparent?: string | undefined;
}

/** The item operations of the history that transports may use. */
export type ConversationItems = Pick<
  ConversationHistory,
  'itemMessages' | 'hasToolCall' | 'truncateItem' | 'deleteItem'
>;

/** What a caller may see of a running response. */
export type ResponseHandle = Pick<ResponseRun, 'responseId' | 'finishReason'>;

export type CreateResponseResult = { ok: true; response: ResponseHandle } | { ok: false; reason: 'active_response' };

/** What an item response takes from its session. */
export interface ItemResponseContext {
  history: ConversationHistory;
  settings: Readonly<SessionSettings>;
  /** Server tools. */
  registry: ToolRegistry;
  /** The session's own runner (server tools and the session's client tools). */
  sessionTools: SessionToolRunner;
  config: Readonly<Pick<Config, 'clientToolTimeoutMs' | 'historyTokenBudget'>>;
  sessionId: string;
}

/**
 * The launch of an item response. Throws GatewayError for invalid tools or a tool_choice naming no declared tool.
 * Client tool calls end the response; its reply is inserted where it started, as items (unless commit is false).
 */
export function itemResponseSpec(request: ResponseRequest, context: ItemResponseContext): LaunchSpec {
  const { history, settings, registry, config } = context;
  const clientTools = request.tools === undefined ? null : validateClientTools(request.tools, registry.names);
  const runner =
    clientTools === null
      ? context.sessionTools
      : new SessionToolRunner(registry, () => clientTools, config.clientToolTimeoutMs, context.sessionId);
  const choice = request.toolChoice;
  if (typeof choice === 'object' && !runner.specs().some((t) => t.function.name === choice.name)) {
    throw new GatewayError('GW_INVALID_TOOLS', {
      message: `tool_choice names "${choice.name}", which is not a declared tool.`,
    });
  }
  const anchor = history.anchor();
  const instructions =
    request.instructions !== undefined && request.instructions.trim() !== ''
      ? request.instructions
      : settings.instructions;
  return {
    model: settings.model,
    messages: pairToolMessages(history.toMessages(instructions, config.historyTokenBudget)),
    maxTokens: request.maxOutputTokens ?? settings.maxOutputTokens,
    temperature: request.temperature ?? settings.temperature,
    tools: runner,
    ...(choice === undefined ? {} : { toolChoice: choice }),
    clientCalls: 'end-response',
    traceparent: request.traceparent,
    endpoint: 'realtime',
    commit: (settled, status, heardLength) => {
      if (request.commit === false) return history.release(anchor);
      const calls = settled.deferredCallIds;
      const entries = itemizeReply(settled.historyMessages(heardLength, status), request.itemIds.message, (id) =>
        calls.has(id) ? request.itemIds.call(id) : undefined,
      );
      history.insertItems(anchor, entries);
    },
  };
}
