// The JSON body of a streaming chat request, as the OpenAI-compatible API takes it, and its bytes.
import type { ChatRequest } from './types.js';

/** The JSON body sent upstream; undefined fields are omitted, as are `tool_choice` without tools. */
export function buildChatBody(request: ChatRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: request.model,
    messages: request.messages,
    stream: true,
    stream_options: { include_usage: true },
  };
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = request.tools;
    if (request.toolChoice !== undefined) body.tool_choice = request.toolChoice;
  }
  return body;
}

/**
 * Each message's and tool declaration's UTF-8 JSON, by identity, for long conversations. A conversation sends its
 * whole history with every turn: encoding each message once makes a turn's body one copy of cached bytes instead
 * of serialising and encoding all of it again, on the turn's critical path and with every session's loop blocked
 * (`npm run bench:request-body`: 2.2 ms against 0.2 for a 472 KB history of 1,000 turns). Weak: a message dropped
 * from history takes its bytes with it.
 */
const encoded = new WeakMap<object, Buffer>();

/**
 * `value`'s cached UTF-8 JSON. Each in memory of its own, not a slice of Node's shared 8 KB pool: a cached slice
 * would keep its whole pool block alive, and every small buffer allocated from it, for as long as the message
 * stays in history (a reviewer's run held 14.7 MB for 1.2 MB of JSON).
 */
export function cachedBytes(value: object): Buffer {
  let bytes = encoded.get(value);
  if (bytes === undefined) {
    const json = JSON.stringify(value);
    bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(json));
    bytes.write(json);
    encoded.set(value, bytes);
  }
  return bytes;
}

/**
 * Shorter histories are serialised whole, as before: tens of microseconds, and no second copy of the history in
 * memory. Paired runs of one-token turns (about 60 messages a session) showed no saving from the cache there.
 */
export const CACHE_FROM_MESSAGES = 64;

const COMMA = Buffer.from(',');

/**
 * The bytes of `JSON.stringify(buildChatBody(request))`. From CACHE_FROM_MESSAGES on, its `messages` and `tools` are
 * built from each one's cached JSON, every other field as JSON.stringify writes it, in buildChatBody's order: which
 * fields a body has is decided there alone. The request's messages and tools must not change once sent (ChatRequest
 * says so): a changed one would go out as it was when first encoded.
 */
export function encodeChatBody(request: ChatRequest): Buffer {
  const body = buildChatBody(request);
  if (request.messages.length < CACHE_FROM_MESSAGES) return Buffer.from(JSON.stringify(body));
  const parts: Buffer[] = [];
  let text = '{';
  for (const [key, value] of Object.entries(body)) {
    text += `${text === '{' ? '' : ','}${JSON.stringify(key)}:`;
    if (key !== 'messages' && key !== 'tools') {
      text += JSON.stringify(value);
      continue;
    }
    parts.push(Buffer.from(`${text}[`));
    (value as readonly object[]).forEach((item, index) => {
      if (index > 0) parts.push(COMMA);
      parts.push(cachedBytes(item));
    });
    text = ']';
  }
  parts.push(Buffer.from(`${text}}`));
  return Buffer.concat(parts);
}
