// What a ResponseRun is given: its ids, the upstream and its first request, tools and how client calls end,
// how think tags show, whether it is a speculation, and where its events and its end go.
import type { Logger } from 'pino';
import type { GatewayObserver } from '../metrics.js';
import type { ResponseStatus, ServerEventBody } from '../protocol.js';
import type { TurnTrace } from '../tracing/turn-trace.js';
import type { ChatRequest, ChatStreamer } from '../upstream/types.js';
import type { ToolChoice } from './tool-step.js';
import type { SessionToolRunner } from './tool-runner.js';

export interface ResponseRunOptions {
  responseId: string;
  turnId: string;
  chat: ChatStreamer;
  /** The request of the first step; later steps append the tool messages to its messages. */
  request: Omit<ChatRequest, 'signal' | 'tools' | 'toolChoice'>;
  tools: SessionToolRunner;
  maxToolSteps: number;
  /** Calls past this many in one step are ignored (a broken or hostile upstream may stream thousands). */
  maxToolCallsPerStep: number;
  /** Default `auto`. A named tool is the only one offered on the first step (as `required`). */
  toolChoice?: ToolChoice;
  /**
   * `wait` (protocol v1, the default): a client tool call waits for the client's tool.result inside the
   * response. `end-response` (Realtime): the response completes with the call; its output arrives later as
   * a conversation item and the client starts the next response. Server tools run inside the response either way.
   */
  clientCalls?: 'wait' | 'end-response';
  /**
   * Reasoning read from `<think>` tags inside `content` (config THINK_TAGS): `drop` (the default) hides it;
   * `display` also sends it, tags included, in response.delta and response.done.text. Never spoken, never in history.
   */
  thinkTags?: 'drop' | 'display';
  /** Started on an interim before its turn committed: everything is held (tools too) until adopt() or discard(). */
  speculative?: boolean;
  observer?: GatewayObserver;
  /** The response's spans (tracing on), or null: every call site checks once, at points the run passes anyway. */
  trace?: TurnTrace | null;
  emit: (event: ServerEventBody) => void;
  /** The run settled (for a speculation: once adopted; never when discarded). */
  onSettled: (status: ResponseStatus, heardLength: number) => void;
  logger: Logger;
}
