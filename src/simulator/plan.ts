// Turns a scenario and a request body into a ReplyPlan: the chunk texts, tool-call fragments, finish
// reason and usage, plus the WireEncoder contract both wire generations implement. No I/O, no timers.

import { randomBytes } from 'node:crypto';
import type { ModelProfile } from './model-profiles.js';
import { buildDemoReply } from './replies.js';
import type { SimScenario, SimToolCall } from './scenario.js';
import { applyToolIntents } from './tool-intents.js';

export type FinishReason = 'stop' | 'length' | 'tool_calls';

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
}

/** A tool call as it will appear on the wire; `id: null` means "omit the id". */
export interface ResolvedToolCall {
  id: string | null;
  name: string;
  arguments: string | Record<string, unknown>;
}

/** One streamed `delta.tool_calls[0]` element. The first fragment of a call carries id, type and name. */
export interface ToolFragment {
  index: number;
  call: ResolvedToolCall;
  first: boolean;
  /** The arguments piece: "" on a first fragment of string arguments, the whole object for object arguments. */
  arguments: string | Record<string, unknown>;
}

export interface ReplyPlan {
  content: string;
  reasoning: string | null;
  reasoningChunks: string[];
  contentChunks: string[];
  toolCalls: ResolvedToolCall[];
  toolFragments: ToolFragment[];
  finishReason: FinishReason;
  usage: Usage;
}

/** What a wire generation renders. Stream methods return one JSON payload (no `data: ` and no newlines). */
export interface WireEncoder {
  opening(): string;
  /** gen1's `init_thought` marker chunk, sent before any reasoning or content; gen2 has none. */
  reasoningStart(): string | null;
  reasoning(text: string, last: boolean): string;
  content(text: string): string;
  toolCall(fragment: ToolFragment): string;
  /** The finish chunk(s) and, where the generation sends one, the usage chunk; `[DONE]` is added by the caller. */
  finish(plan: ReplyPlan, includeUsage: boolean): string[];
  /** The non-streaming chat.completion body. */
  completion(plan: ReplyPlan): string;
}

/** Prompt tokens include ASI's server-side system prompt (the real API counts 2,105 prompt tokens for a one-liner). */
const SYSTEM_PROMPT_TOKENS = 2000;
const TOOL_ARGUMENT_FRAGMENTS = 3;

/** Splits text into words with their trailing whitespace; joining the tokens reproduces the text exactly. */
export function tokenize(text: string): string[] {
  const tokens = text.match(/\S+\s*/g) ?? [];
  const lead = /^\s+/.exec(text)?.[0];
  if (lead !== undefined) {
    if (tokens.length === 0) return [lead];
    tokens[0] = lead + tokens[0]!;
  }
  return tokens;
}

/** Groups tokens `size` at a time into chunk texts. */
export function groupTokens(tokens: string[], size: number): string[] {
  const step = Math.max(1, Math.floor(size));
  if (step === 1) return tokens;
  const chunks: string[] = [];
  for (let i = 0; i < tokens.length; i += step) chunks.push(tokens.slice(i, i + step).join(''));
  return chunks;
}

/** `profile` (model profiles on): the demo reply speaks as `body.model` at its lengthScale; timing is the caller's. */
export function buildPlan(requested: SimScenario, body: Record<string, unknown>, profile?: ModelProfile): ReplyPlan {
  // Unscripted requests that offer the demo tools get the calls a model would make (tool-intents.ts).
  const scenario = applyToolIntents(requested, body);
  const wantsTools = scenario.toolCalls !== undefined && scenario.toolCalls.length > 0;
  const defaultReply =
    scenario.toolCallsWithoutArray === true
      ? `I'll use the ${scenario.toolCalls?.[0]?.name ?? 'right'} tool to look that up for you.`
      : wantsTools
        ? ''
        : buildDemoReply(
            body.messages,
            profile === undefined ? undefined : { model: String(body.model), lengthScale: profile.lengthScale },
          );
  let tokens = tokenize(scenario.reply ?? defaultReply);
  const maxTokens = positiveInt(body.max_tokens) ?? positiveInt(body.max_completion_tokens);
  // max_tokens 0 means unlimited on ASI (ASI's official example sends 0 and gets 391 tokens).
  const truncated = maxTokens !== undefined && tokens.length > maxTokens;
  if (truncated) tokens = tokens.slice(0, maxTokens);
  const reasoningTokens = scenario.reasoning === undefined ? [] : tokenize(scenario.reasoning);
  const toolCalls =
    truncated || scenario.toolCallsWithoutArray === true ? [] : (scenario.toolCalls ?? []).map(resolveToolCall);
  const finishReason: FinishReason = truncated
    ? 'length'
    : wantsTools || scenario.toolCallsWithoutArray === true
      ? 'tool_calls'
      : 'stop';
  let toolTokens = 0;
  for (const call of toolCalls) toolTokens += Math.ceil(argumentsText(call.arguments).length / 4) + 1;
  return {
    content: tokens.join(''),
    reasoning: scenario.reasoning ?? null,
    reasoningChunks: groupTokens(reasoningTokens, scenario.tokensPerChunk),
    contentChunks: groupTokens(tokens, scenario.tokensPerChunk),
    toolCalls,
    toolFragments: fragmentToolCalls(toolCalls),
    finishReason,
    usage: {
      promptTokens: SYSTEM_PROMPT_TOKENS + Math.ceil(promptChars(body) / 4),
      completionTokens: tokens.length + reasoningTokens.length + toolTokens,
      reasoningTokens: reasoningTokens.length,
    },
  };
}

function resolveToolCall(call: SimToolCall): ResolvedToolCall {
  const id = call.id === undefined ? `call_${randomBytes(12).toString('hex')}` : call.id;
  return { id, name: call.name, arguments: call.arguments };
}

/** Each call: a first fragment (id, name), then string arguments in ~3 pieces; calls interleaved by index. */
function fragmentToolCalls(calls: ResolvedToolCall[]): ToolFragment[] {
  const perCall = calls.map((call, index): ToolFragment[] => {
    if (typeof call.arguments !== 'string') return [{ index, call, first: true, arguments: call.arguments }];
    const fragments: ToolFragment[] = [{ index, call, first: true, arguments: '' }];
    for (const piece of splitEven(call.arguments, TOOL_ARGUMENT_FRAGMENTS))
      fragments.push({ index, call, first: false, arguments: piece });
    return fragments;
  });
  const out: ToolFragment[] = [];
  for (let round = 0; ; round++) {
    let any = false;
    for (const fragments of perCall) {
      const fragment = fragments[round];
      if (fragment !== undefined) {
        out.push(fragment);
        any = true;
      }
    }
    if (!any) return out;
  }
}

/** Splits on code-point boundaries into at most `parts` non-empty pieces. */
function splitEven(text: string, parts: number): string[] {
  const chars = Array.from(text);
  const size = Math.ceil(chars.length / parts);
  const pieces: string[] = [];
  for (let i = 0; i < chars.length; i += size) pieces.push(chars.slice(i, i + size).join(''));
  return pieces;
}

export function argumentsText(args: string | Record<string, unknown>): string {
  return typeof args === 'string' ? args : JSON.stringify(args);
}

function promptChars(body: Record<string, unknown>): number {
  let chars = 0;
  try {
    chars =
      JSON.stringify(body.messages ?? '').length + (body.tools === undefined ? 0 : JSON.stringify(body.tools).length);
  } catch {
    chars = 0;
  }
  return chars;
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 1 ? Math.floor(value) : undefined;
}
