// Gen-1 (legacy asi1-mini, Feb 2025) chunk and body encoder, reproducing the quirks of the official streamed
// capture and non-streaming body of that API. Tool calls in OpenAI delta.tool_calls are an
// assumption: no gen-1 streamed tool-call capture exists.

import { randomBytes } from 'node:crypto';
import type { ReplyPlan, Usage, WireEncoder } from './plan.js';
import { toolFragmentJson, type EncoderContext } from './wire-gen2.js';

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `id_` + 17 alphanumerics, e.g. `id_comqjiusZjAoyuXlh`. */
function createGen1Id(): string {
  let id = 'id_';
  for (const byte of randomBytes(17)) id += ID_ALPHABET[byte % ID_ALPHABET.length];
  return id;
}

export function createGen1Encoder(ctx: EncoderContext): WireEncoder {
  const id = createGen1Id();
  const head = `{"id":"${id}","model":${JSON.stringify(ctx.model)},`;
  const thoughtChoice = '"choices":[{"role":"assistant","delta":{"role":"assistant","content":""}}]';
  // Content chunks carry `created` in epoch milliseconds, conversation_id and tool_thought (quirk 4).
  const created = (): string => `"created":${Date.now()},"conversation_id":null,"tool_thought":[],`;
  const stamp = ctx.stampEmitTime;
  return {
    // Quirk 1: only the opening chunk has `object` and an explicit `usage: null`.
    opening: () =>
      `{"id":"${id}","object":"chat.completion.chunk","model":${JSON.stringify(ctx.model)},` +
      '"choices":[{"index":0,"delta":{"role":"assistant","content":""},' +
      '"finish_reason":null,"stop_reason":null}],"executable_data":[],"usage":null}',
    // Quirk 3: a boolean marker chunk before the thought phase.
    reasoningStart: () => `${head}${thoughtChoice},"init_thought":true}`,
    // Quirk 2: top-level `thought`, choice without index and with a stray role (the capture's last one has none).
    reasoning: (text, last) =>
      last
        ? `${head}"choices":[{"delta":{"role":"assistant","content":""}}],"thought":${JSON.stringify(text)}}`
        : `${head}${thoughtChoice},"thought":${JSON.stringify(text)}}`,
    content(text) {
      const base = `${head}${created()}"choices":[{"index":0,"finish_reason":null,"delta":{"content":${JSON.stringify(text)}},"stop_reason":null}]`;
      return stamp ? `${base},"x_emit_ts":${performance.timeOrigin + performance.now()}}` : `${base}}`;
    },
    toolCall: (fragment) =>
      `${head}${created()}"choices":[{"index":0,"finish_reason":null,"delta":{"tool_calls":[${JSON.stringify(toolFragmentJson(fragment))}]},"stop_reason":null}]}`,
    // Quirk 5: two identical finish chunks (stop_reason mirrors finish_reason); usage only on the second,
    // whether or not stream_options.include_usage was sent.
    finish(plan) {
      const reason = plan.finishReason;
      const base = `${head}${created()}"choices":[{"index":0,"finish_reason":"${reason}","delta":{"role":"assistant","content":""},"stop_reason":"${reason}"}]`;
      return [`${base}}`, `${base},"usage":${JSON.stringify(usageJson(plan.usage))}}`];
    },
    completion: (plan: ReplyPlan) =>
      JSON.stringify({
        model: ctx.model,
        id,
        executable_data: [],
        conversation_id: null,
        thought: plan.reasoning === null ? [] : [plan.reasoning],
        tool_thought: [],
        choices: [
          {
            index: 0,
            finish_reason: plan.finishReason,
            message: {
              role: 'assistant',
              content: plan.content,
              ...(plan.toolCalls.length === 0
                ? {}
                : {
                    tool_calls: plan.toolCalls.map((call) => ({
                      ...(call.id === null ? {} : { id: call.id }),
                      type: 'function',
                      function: { name: call.name, arguments: call.arguments },
                    })),
                  }),
            },
          },
        ],
        usage: usageJson(plan.usage),
      }),
  };
}

function usageJson(usage: Usage): Record<string, number> {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
  };
}
