// What one upstream attempt (chat-attempt.ts) is given and what it resolves to, the state it shares with the
// chat client across the attempts of one call, and the attempt's fixed values (results, abort reason, grace).
import type { Dispatcher } from 'undici';
import type { GatewayError } from '../errors.js';
import type { SecretRedactor } from '../secrets.js';
import type { ChatCallTrace } from '../tracing/tracing.js';
import type { ChatEvent, ChatEventSink, ChatUsage, UpstreamLogger } from './types.js';

export interface CallState {
  /** A text, a tool call or a `<think>` block from content (THINK_TAGS=display shows it) reached the sink: no retry now. */
  forwarded: boolean;
  finishReason: string | null;
  usage: ChatUsage | null;
}

export interface AttemptContext {
  dispatcher: Dispatcher;
  origin: string;
  path: string;
  headers: Record<string, string>;
  /**
   * The request body, encoded once for every attempt. As bytes, not a string: a Buffer's contents live off the
   * JS heap, so the turn's largest allocation (its history as JSON) is not copied by every young-generation GC
   * that runs while the turn streams, nor promoted with it.
   */
  body: Buffer;
  signal: AbortSignal;
  sink: ChatEventSink;
  state: CallState;
  firstTokenTimeoutMs: number;
  stallTimeoutMs: number;
  /** After the first event, how long keep-alives alone (comments, data lines with no event) keep it (stall-watch.ts). */
  pingsOnlyTimeoutMs: number;
  /** What an answer may say, in characters, before it is cut with a `length` finish (output-budget.ts). */
  outputBudgetChars: number;
  secrets: SecretRedactor;
  logger: UpstreamLogger | undefined;
  /** The call's span (tracing on), told of the response head, the first token and the finish. */
  trace?: ChatCallTrace | undefined;
}

export type AttemptResult = { kind: 'done' } | { kind: 'aborted' } | { kind: 'failed'; error: GatewayError };

/** How long the body may stay open after `data: [DONE]` before the answer is taken as complete anyway. */
export const DONE_GRACE_MS = 20;
/**
 * The reason every settled attempt aborts its own request with. Created once: `abort()` without a reason
 * builds a DOMException and captures a stack per call, and nobody outside the attempt sees this one.
 */
export const ATTEMPT_SETTLED = new DOMException('The upstream attempt settled.', 'AbortError');

export const DONE: AttemptResult = Object.freeze({ kind: 'done' });
export const ABORTED: AttemptResult = Object.freeze({ kind: 'aborted' });

export const headerText = (value: string | string[] | undefined): string =>
  (Array.isArray(value) ? value.join(',') : (value ?? '')).toLowerCase();

/** Text, a tool call, or a `<think>` block shown from content: once one reached the sink, the call is not retried. */
export const isForwarded = (event: ChatEvent): boolean =>
  event.type === 'text' || event.type === 'tool_call' || (event.type === 'reasoning' && event.raw !== undefined);
