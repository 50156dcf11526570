// Parsed upstream JSON → ChatEvent[]: streaming `chat.completion.chunk`s (createChunkReader) and plain
// `chat.completion` bodies (readCompletionBody), for both ASI:One wire generations (gen-1 puts reasoning in a
// top-level `thought`; gen-2 is SGLang-style). Pure: no I/O, no timers, no errors thrown for odd shapes.
import { MAX_CALL_ID_CHARS } from '../protocol.js';
import { ThinkFilter } from './think-filter.js';
import type { ChatEvent, ChatUsage } from './types.js';

type Json = Record<string, unknown>;
type ToolCallEvent = Extract<ChatEvent, { type: 'tool_call' }>;

const isRecord = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const nonEmpty = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/** `content` as a string: a plain string, or OpenAI content parts (`[{type:'text',text}]`); null/"" → "". */
function contentText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) return '';
  let out = '';
  for (const part of value) {
    if (typeof part === 'string') out += part;
    else if (isRecord(part) && typeof part.text === 'string') out += part.text;
  }
  return out;
}

/**
 * Reasoning text. Gen-1 puts it in a top-level `thought`: a string fragment when streaming, an array of
 * strings or nulls (`[null]`, `["\n\n"]`) in non-stream bodies.
 */
function reasoningText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) return '';
  return value.filter((part): part is string => typeof part === 'string').join('');
}

/** The first non-empty reasoning field of a delta or message (`reasoning_content`, `reasoning`, `thought`). */
function innerReasoning(holder: Json): string {
  return reasoningText(holder.reasoning_content) || reasoningText(holder.reasoning) || reasoningText(holder.thought);
}

/**
 * The first of `values` that is a count: a whole number from 0 to 2^53 - 1. A negative, fractional or huge count
 * is no count at all. Token counters cannot go down, and prom-client throws on a negative increment.
 */
const count = (...values: unknown[]): number | undefined => {
  for (const value of values) if (Number.isSafeInteger(value) && (value as number) >= 0) return value as number;
  return undefined;
};

/**
 * snake_case usage → ChatUsage. Partial objects are tolerated (missing counts become 0, a missing total is
 * prompt + completion); an object with no counts at all, or `usage: null`, yields undefined. A value that is not a
 * count (see `count`) is missing.
 */
export function readUsage(value: unknown): ChatUsage | undefined {
  if (!isRecord(value)) return undefined;
  const prompt = count(value.prompt_tokens, value.promptTokens, value.input_tokens);
  const completion = count(value.completion_tokens, value.completionTokens, value.output_tokens);
  const total = count(value.total_tokens, value.totalTokens);
  if (prompt === undefined && completion === undefined && total === undefined) return undefined;
  const promptTokens = prompt ?? 0;
  const completionTokens = completion ?? 0;
  return { promptTokens, completionTokens, totalTokens: total ?? promptTokens + completionTokens };
}

/**
 * One tool-call entry → a `tool_call` event, or undefined when it carries nothing. Accepts the OpenAI
 * shape `{index,id,function:{name,arguments}}` and the flat `{name,arguments}` some clients see.
 * `arguments` may be a string fragment or an object (JSON-stringified). ASI's server-side tool traces
 * (`{tool_name,args,result}`) are not calls for us and are skipped.
 */
function toolCallEvent(entry: unknown, position: number): ToolCallEvent | undefined {
  if (!isRecord(entry)) return undefined;
  const fn = isRecord(entry.function) ? entry.function : undefined;
  if (!fn && entry.tool_name !== undefined && entry.name === undefined) return undefined;
  const source = fn ?? entry;
  const rawArgs = source.arguments;
  let argumentsDelta: string | undefined;
  if (typeof rawArgs === 'string') argumentsDelta = nonEmpty(rawArgs);
  else if (rawArgs !== undefined && rawArgs !== null) argumentsDelta = stringifyArguments(rawArgs);
  const id = callIdOf(entry.id);
  const name = nonEmpty(source.name);
  if (id === undefined && name === undefined && argumentsDelta === undefined) return undefined;
  const index = count(entry.index) ?? position;
  const event: ToolCallEvent = { type: 'tool_call', index };
  if (id !== undefined) event.id = id;
  if (name !== undefined) event.name = name;
  if (argumentsDelta !== undefined) event.argumentsDelta = argumentsDelta;
  return event;
}

/**
 * A call's id as the upstream sent it, when a client could send it back: the protocol's `callId` and Realtime's
 * `call_id` take at most 128 characters. A longer one counts as missing, and the call gets a generated id. Kept,
 * an id of 900,000 characters under the line cap stayed in the history and was sent back with every later request.
 */
function callIdOf(value: unknown): string | undefined {
  const id = nonEmpty(value);
  return id !== undefined && id.length <= MAX_CALL_ID_CHARS ? id : undefined;
}

/**
 * Object arguments as JSON text. Nested past what the stack can serialise (a few thousand levels, in a chunk of a
 * few KB), they are no arguments any tool takes: the call carries "{}", and a tool that needs arguments refuses it
 * as it would any call without them. Not an exception, which would blame the gateway (GW_INTERNAL) for the chunk.
 */
function stringifyArguments(args: unknown): string {
  try {
    return JSON.stringify(args);
  } catch {
    return '{}';
  }
}

function pushToolCalls(events: ChatEvent[], value: unknown): number {
  if (!Array.isArray(value)) return 0;
  let pushed = 0;
  value.forEach((entry, position) => {
    const event = toolCallEvent(entry, position);
    if (event) {
      events.push(event);
      pushed += 1;
    }
  });
  return pushed;
}

/** The choice we asked for (n = 1): index 0, or the first choice when `index` is missing (gen-1 thought chunks). */
function firstChoice(value: unknown): Json | undefined {
  if (!Array.isArray(value)) return undefined;
  let position = 0;
  for (const choice of value) {
    if (isRecord(choice)) {
      const index = typeof choice.index === 'number' ? choice.index : position;
      if (index === 0) return choice;
    }
    position += 1;
  }
  return undefined;
}

const finishReasonOf = (choice: Json): string | undefined => nonEmpty(choice.finish_reason);

export interface ChunkReader {
  /** Events for one parsed `data:` payload, in wire order: reasoning, text, tool calls, finish, usage. */
  read(chunk: unknown): ChatEvent[];
  /** At the end of the stream: the content held back as a possible think tag (think-filter.ts), if any. */
  end(): ChatEvent[];
  /** The response's id and model, as the chunk with the (last) finish_reason named them (a traced call reports them). */
  readonly finishedAs: { id: string | undefined; model: string | undefined } | undefined;
}

/**
 * A reader for one streamed response. It is stateful to remember whether any content or tool call was
 * yielded, for the asi1-vs-code workaround (a reply may come only as the finish chunk's `message`): when a
 * `finish_reason` arrives and nothing was yielded yet, the chunk's `message.content` / `message.tool_calls` are
 * read instead; and for the ThinkFilter that turns `<think>` blocks inside `content` into reasoning (flushed
 * at a finish_reason too).
 */
export function createChunkReader(): ChunkReader {
  let yielded = false;
  let finishedAs: ChunkReader['finishedAs'];
  const think = new ThinkFilter();

  return {
    get finishedAs() {
      return finishedAs;
    },
    read(chunk) {
      const events: ChatEvent[] = [];
      if (!isRecord(chunk)) return events;

      // Gen-1 reasoning rides top-level `thought`; `init_thought: true` is only a marker (never text).
      const topThought = reasoningText(chunk.thought);
      if (topThought !== '') events.push({ type: 'reasoning', text: topThought });

      const choice = firstChoice(chunk.choices);
      if (choice) {
        const delta = isRecord(choice.delta) ? choice.delta : undefined;
        if (delta) {
          const reasoning = innerReasoning(delta);
          if (reasoning !== '' && reasoning !== topThought) events.push({ type: 'reasoning', text: reasoning });
          const nested = isRecord(delta.message) ? delta.message : undefined;
          const text = contentText(delta.content) || (nested ? contentText(nested.content) : '');
          if (text !== '') {
            think.push(text, events);
            yielded = true;
          }
          if (pushToolCalls(events, delta.tool_calls) > 0) yielded = true;
        }
        const finish = finishReasonOf(choice);
        if (finish !== undefined) {
          const message = isRecord(choice.message) ? choice.message : undefined;
          if (!yielded && message) {
            const text = contentText(message.content);
            if (text !== '') {
              think.push(text, events);
              yielded = true;
            }
            if (pushToolCalls(events, message.tool_calls) > 0) yielded = true;
          }
          think.end(events);
          events.push({ type: 'finish', reason: finish });
          finishedAs = { id: nonEmpty(chunk.id), model: nonEmpty(chunk.model) };
        }
      }

      const usage = readUsage(chunk.usage);
      if (usage) events.push({ type: 'usage', usage });
      return events;
    },
    end() {
      const events: ChatEvent[] = [];
      think.end(events);
      return events;
    },
  };
}

/**
 * A whole non-stream `chat.completion` body → events (a JSON reply to a streaming request is legal): reasoning
 * (top-level `thought` array or `message.reasoning_content`), the full `message.content` as one text event (its
 * `<think>` blocks as reasoning), each `message.tool_calls` entry with its full arguments, finish, usage. A body
 * that is really a single stream chunk (its choice has a `delta`) is read as one.
 */
export function readCompletionBody(body: unknown): ChatEvent[] {
  if (!isRecord(body)) return [];
  const choice = firstChoice(body.choices);
  if (choice && isRecord(choice.delta)) {
    const reader = createChunkReader();
    return [...reader.read(body), ...reader.end()];
  }

  const events: ChatEvent[] = [];
  const topThought = reasoningText(body.thought);
  if (topThought !== '') events.push({ type: 'reasoning', text: topThought });
  if (choice) {
    const message = isRecord(choice.message) ? choice.message : undefined;
    if (message) {
      const reasoning = innerReasoning(message);
      if (reasoning !== '' && reasoning !== topThought) events.push({ type: 'reasoning', text: reasoning });
      const text = contentText(message.content);
      if (text !== '') {
        const think = new ThinkFilter();
        think.push(text, events);
        think.end(events);
      }
      pushToolCalls(events, message.tool_calls);
    }
    const finish = finishReasonOf(choice);
    if (finish !== undefined) events.push({ type: 'finish', reason: finish });
  }
  const usage = readUsage(body.usage);
  if (usage) events.push({ type: 'usage', usage });
  return events;
}
