// The JSON body of a streaming chat request, as the OpenAI-compatible API takes it.
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
