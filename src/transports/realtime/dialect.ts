// The two wire dialects of the OpenAI Realtime API. Everything is built in the GA shape; toBeta() renames it
// for clients that announced the beta (the beta says response.text.* and conversation.item.created where GA
// says response.output_text.* and conversation.item.added). No other module knows the beta.
import type { IncomingHttpHeaders } from 'node:http';
import { offeredSubprotocols } from '../admission.js';

export type Dialect = 'ga' | 'beta';

/** The subprotocol browser beta clients add (openai-node src/beta/realtime/websocket.ts). */
export const BETA_SUBPROTOCOL = 'openai-beta.realtime-v1';

/** A server event: its `type` and fields, before the sender stamps `event_id`. */
export type RealtimeEvent = { type: string } & Record<string, unknown>;

/**
 * Beta when the client sends `OpenAI-Beta: realtime=v1` or offers the beta subprotocol. openai 5.18.0–5.23.0
 * sent that header from its GA classes too; their `session.update` says `type: "realtime"`, which switches back.
 */
export function detectDialect(headers: IncomingHttpHeaders): Dialect {
  const beta = headers['openai-beta'];
  const values = Array.isArray(beta) ? beta : beta === undefined ? [] : [beta];
  if (values.some((v) => /(^|[,\s])realtime=v1\b/i.test(v))) return 'beta';
  return offeredSubprotocols(headers).includes(BETA_SUBPROTOCOL) ? 'beta' : 'ga';
}

const BETA_NAMES: Readonly<Record<string, string | null>> = {
  'response.output_text.delta': 'response.text.delta',
  'response.output_text.done': 'response.text.done',
  'conversation.item.added': 'conversation.item.created',
  // The beta announced an item once; its final state arrives in response.output_item.done.
  'conversation.item.done': null,
};

/** The beta form of a GA event, or null when the beta has no such event. */
export function toBeta(event: RealtimeEvent): RealtimeEvent | null {
  const renamed = Object.hasOwn(BETA_NAMES, event.type) ? BETA_NAMES[event.type] : event.type;
  if (renamed === null || renamed === undefined) return null;
  const out: RealtimeEvent = { ...event, type: renamed };
  if (isRecord(out.item)) out.item = betaItem(out.item);
  if (isRecord(out.response)) out.response = betaResponse(out.response);
  // The beta's function_call_arguments.done has no `name`.
  if (renamed === 'response.function_call_arguments.done') delete out.name;
  return out;
}

function betaItem(item: Record<string, unknown>): Record<string, unknown> {
  if (!Array.isArray(item.content)) return item;
  const content = (item.content as unknown[]).map((part) =>
    isRecord(part) && part.type === 'output_text' ? { ...part, type: 'text' } : part,
  );
  return { ...item, content };
}

function betaResponse(response: Record<string, unknown>): Record<string, unknown> {
  const { output_modalities: modalities, ...rest } = response;
  const output = Array.isArray(rest.output)
    ? (rest.output as unknown[]).map((item) => (isRecord(item) ? betaItem(item) : item))
    : rest.output;
  return { ...rest, modalities, output };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
