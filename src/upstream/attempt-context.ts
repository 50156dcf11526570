// What one upstream attempt (chat-attempt.ts) is given and what it resolves to, and the state it shares with
// the chat client across the attempts of one call.
import type { Dispatcher } from 'undici';
import type { GatewayError } from '../errors.js';
import type { SecretRedactor } from '../secrets.js';
import type { ChatEventSink, ChatUsage, UpstreamLogger } from './types.js';

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
  body: string;
  signal: AbortSignal;
  sink: ChatEventSink;
  state: CallState;
  firstTokenTimeoutMs: number;
  stallTimeoutMs: number;
  secrets: SecretRedactor;
  logger: UpstreamLogger | undefined;
}

export type AttemptResult = { kind: 'done' } | { kind: 'aborted' } | { kind: 'failed'; error: GatewayError };
