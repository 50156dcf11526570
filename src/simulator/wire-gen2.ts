// Gen-2 (current ASI:One, SGLang-style) chunk and body encoder, as the live API sends them:
// 32-hex id, `created` in seconds, reasoning_content null or string, logprobs null, matched_stop.
// Per-stream constant JSON is pre-serialised once; only the delta text is stringified per chunk.

import { randomBytes } from 'node:crypto';
import type { ToolFragment, Usage, WireEncoder } from './plan.js';

/** GLM-4.x `<|user|>` token id that SGLang reports as matched_stop (seen in real ASI:One replies). */
const MATCHED_STOP = 151336;

export interface EncoderContext {
  model: string;
  stampEmitTime: boolean;
}

export function createGen2Encoder(ctx: EncoderContext): WireEncoder {
  const id = randomBytes(16).toString('hex');
  const created = Math.floor(Date.now() / 1000);
  const head = `{"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(ctx.model)},"choices":`;
  const choiceTail = ',"logprobs":null,"finish_reason":null,"matched_stop":null}]';
  const contentHead = `${head}[{"index":0,"delta":{"content":`;
  const contentTail = `,"reasoning_content":null}${choiceTail}`;
  const stamp = ctx.stampEmitTime;
  return {
    opening: () =>
      `${head}[{"index":0,"delta":{"role":"assistant","content":"","reasoning_content":null}${choiceTail}}`,
    reasoningStart: () => null,
    reasoning: (text) =>
      `${head}[{"index":0,"delta":{"content":null,"reasoning_content":${JSON.stringify(text)}}${choiceTail}}`,
    content: (text) =>
      stamp
        ? `${contentHead}${JSON.stringify(text)}${contentTail},"x_emit_ts":${performance.timeOrigin + performance.now()}}`
        : `${contentHead}${JSON.stringify(text)}${contentTail}}`,
    toolCall: (fragment) =>
      `${head}[{"index":0,"delta":{"tool_calls":[${JSON.stringify(toolFragmentJson(fragment))}]}${choiceTail}}`,
    finish(plan, includeUsage) {
      const matched = plan.finishReason === 'length' ? null : MATCHED_STOP;
      const frames = [
        `${head}[{"index":0,"delta":{"content":"","reasoning_content":null},"logprobs":null,` +
          `"finish_reason":"${plan.finishReason}","matched_stop":${matched}}]}`,
      ];
      if (includeUsage) frames.push(`${head}[],"usage":${JSON.stringify(usageJson(plan.usage))}}`);
      return frames;
    },
    completion: (plan) =>
      JSON.stringify({
        id,
        choices: [
          {
            finish_reason: plan.finishReason,
            index: 0,
            logprobs: null,
            message: {
              content: plan.content === '' && plan.toolCalls.length > 0 ? null : plan.content,
              refusal: null,
              role: 'assistant',
              annotations: null,
              audio: null,
              function_call: null,
              tool_calls:
                plan.toolCalls.length === 0
                  ? null
                  : plan.toolCalls.map((call) => ({
                      ...(call.id === null ? {} : { id: call.id }),
                      type: 'function',
                      function: { name: call.name, arguments: call.arguments },
                    })),
              reasoning_content: plan.reasoning,
            },
            matched_stop: plan.finishReason === 'length' ? null : MATCHED_STOP,
          },
        ],
        created,
        model: ctx.model,
        object: 'chat.completion',
        service_tier: null,
        system_fingerprint: null,
        usage: usageJson(plan.usage),
        metadata: { weight_version: 'default' },
      }),
  };
}

/** OpenAI `delta.tool_calls[]` element; a null id is omitted (quirk), object arguments stay objects (quirk). */
export function toolFragmentJson(fragment: ToolFragment): Record<string, unknown> {
  if (!fragment.first) return { index: fragment.index, function: { arguments: fragment.arguments } };
  return {
    index: fragment.index,
    ...(fragment.call.id === null ? {} : { id: fragment.call.id }),
    type: 'function',
    function: { name: fragment.call.name, arguments: fragment.arguments },
  };
}

function usageJson(usage: Usage): Record<string, unknown> {
  return {
    completion_tokens: usage.completionTokens,
    prompt_tokens: usage.promptTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    completion_tokens_details: null,
    prompt_tokens_details: null,
    reasoning_tokens: usage.reasoningTokens,
  };
}
