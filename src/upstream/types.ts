// The contract between the session layer and the upstream chat client: OpenAI-shaped messages in,
// typed stream events out. Nothing here knows about HTTP or SSE.
import type { ChatCallTrace } from '../tracing/tracing.js';

export interface UpstreamToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: UpstreamToolCall[] }
  | { role: 'tool'; content: string; tool_call_id: string };

/** OpenAI function-tool declaration, as sent upstream. */
export interface UpstreamToolSpec {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
}

export interface ChatRequest {
  model: string;
  /** Never changed once sent, nor are `tools`: the client caches each one's JSON by identity (chat-body.ts). */
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  tools?: UpstreamToolSpec[];
  toolChoice?: 'auto' | 'none' | 'required';
  /** Sent as `x-session-id`: one per conversation (rate limiting and tracing upstream). */
  sessionId: string;
  /** Aborting closes the upstream socket at once; the stream then settles with `aborted: true`. */
  signal: AbortSignal;
  /** The caller's logger (it carries sessionId and responseId); the client's own logger otherwise. */
  logger?: { debug(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
  /** The call's span (tracing on): told of attempts, heads, the first token and retries; its headers go upstream. */
  trace?: ChatCallTrace;
}

export interface ChatUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

/**
 * What the parser yields, in wire order. Reasoning (`thought`, `reasoning_content`, `<think>` blocks inside
 * `content`) arrives only as `reasoning` and must never be treated as reply text.
 */
export type ChatEvent =
  | { type: 'text'; text: string }
  /**
   * `raw` only for reasoning read from think tags inside `content`: that content exactly as sent (tags and the
   * whitespace dropped after them included; `text` may then be ''), which THINK_TAGS=display shows.
   */
  | { type: 'reasoning'; text: string; raw?: string }
  /** A fragment of a tool call, keyed by `index`; id/name/arguments may each arrive in any fragment. */
  | { type: 'tool_call'; index: number; id?: string; name?: string; argumentsDelta?: string }
  | { type: 'usage'; usage: ChatUsage }
  | { type: 'finish'; reason: string };

export interface ChatOutcome {
  /** The last finish_reason seen (ASI gen-1 sends two finish chunks), or null if the stream ended without one. */
  finishReason: string | null;
  usage: ChatUsage | null;
  /** True when the request's signal aborted it; no error is raised for that. */
  aborted: boolean;
  /** Attempts made (1 + retries). */
  attempts: number;
}

/** Receives events synchronously as they are parsed, so a delta is forwarded in the same tick it arrived. */
export type ChatEventSink = (event: ChatEvent) => void;

export interface ChatStreamer {
  /**
   * Streams one completion. Resolves when the stream ends (or is aborted); rejects with a GatewayError
   * (upstream status, timeout, drop, protocol error). Retries only while no text or tool_call event has
   * been delivered to `sink`.
   */
  stream(request: ChatRequest, sink: ChatEventSink): Promise<ChatOutcome>;
  /**
   * A session opened and its first turn is coming: get a connection ready for it (the warm-up, if any, runs in
   * the background). Never throws; optional, as streamers without connections have nothing to prepare.
   */
  prepare?(): void;
}

/** The subset of a pino logger the upstream client uses. */
export interface UpstreamLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}
