// The edge of the Realtime transport: one raw frame → one validated client event (TypeBox schemas, compiled
// once), or a RealtimeError naming the field, with the client's event_id kept for the error's echo.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ValueErrorType } from '@sinclair/typebox/errors';
import { GatewayError } from '../../errors.js';
import { depthMessage, exceedsJsonDepth } from '../../hosting/json-depth.js';
import { MAX_CALL_ID_CHARS, Traceparent } from '../../protocol.js';
import { RealtimeError } from './errors.js';

const EventId = Type.Optional(Type.String({ maxLength: 128 }));
const ItemId = Type.String({ minLength: 1, maxLength: 64 });
const Modalities = Type.Array(Type.String({ maxLength: 16 }), { maxItems: 4 });
/** "inf" is the Realtime default; the gateway still caps replies at MAX_OUTPUT_TOKENS then. */
const MaxTokens = Type.Union([Type.Integer({ minimum: 1, maximum: 32_768 }), Type.Literal('inf')]);
const Metadata = Type.Union([
  Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 512 })),
  Type.Null(),
]);
const FunctionTool = Type.Object({
  type: Type.Literal('function'),
  name: Type.String({ pattern: '^[a-zA-Z0-9_-]{1,64}$' }),
  description: Type.Optional(Type.String({ maxLength: 1024 })),
  parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});
const ToolChoice = Type.Union([
  Type.Literal('auto'),
  Type.Literal('none'),
  Type.Literal('required'),
  Type.Object({ type: Type.Literal('function'), name: Type.String({ maxLength: 64 }) }),
]);

/** Settings shared by session.update and response.create; GA names with their beta aliases. Unknown fields (audio, voice…) are accepted and ignored. */
const CommonSettings = {
  instructions: Type.Optional(Type.String({ maxLength: 32_768 })),
  output_modalities: Type.Optional(Modalities),
  modalities: Type.Optional(Modalities),
  tools: Type.Optional(Type.Array(FunctionTool, { maxItems: 64 })),
  tool_choice: Type.Optional(ToolChoice),
  max_output_tokens: Type.Optional(MaxTokens),
  max_response_output_tokens: Type.Optional(MaxTokens),
  temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
};

const SessionUpdate = Type.Object({
  type: Type.Literal('session.update'),
  event_id: EventId,
  session: Type.Object({
    type: Type.Optional(Type.String({ maxLength: 32 })),
    model: Type.Optional(Type.String({ maxLength: 128 })),
    tracing: Type.Optional(Type.Unknown()),
    ...CommonSettings,
  }),
});

const ItemCreate = Type.Object({
  type: Type.Literal('conversation.item.create'),
  event_id: EventId,
  previous_item_id: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
  item: Type.Object({ type: Type.String({ maxLength: 32 }) }),
});

const ResponseCreate = Type.Object({
  type: Type.Literal('response.create'),
  event_id: EventId,
  /** The gateway's own addition (protocol 1.4): the client's trace context, which the response's trace continues. */
  traceparent: Type.Optional(Traceparent),
  response: Type.Optional(
    Type.Object({
      ...CommonSettings,
      metadata: Type.Optional(Metadata),
      conversation: Type.Optional(Type.String({ maxLength: 64 })),
      input: Type.Optional(Type.Array(Type.Unknown())),
    }),
  ),
});

const ResponseCancel = Type.Object({
  type: Type.Literal('response.cancel'),
  event_id: EventId,
  response_id: Type.Optional(Type.String({ maxLength: 128 })),
});
/** For text, `audio_end_ms` counts characters of the item's text (the gateway has no audio). */
const ItemTruncate = Type.Object({
  type: Type.Literal('conversation.item.truncate'),
  event_id: EventId,
  item_id: ItemId,
  content_index: Type.Integer({ minimum: 0 }),
  audio_end_ms: Type.Integer({ minimum: 0 }),
});
const ItemDelete = Type.Object({ type: Type.Literal('conversation.item.delete'), event_id: EventId, item_id: ItemId });
const ItemRetrieve = Type.Object({
  type: Type.Literal('conversation.item.retrieve'),
  event_id: EventId,
  item_id: ItemId,
});

const ContentPart = Type.Object({ type: Type.String({ maxLength: 32 }), text: Type.Optional(Type.String()) });
const MessageItem = Type.Object({
  type: Type.Literal('message'),
  id: Type.Optional(ItemId),
  role: Type.Union([Type.Literal('user'), Type.Literal('assistant'), Type.Literal('system')]),
  content: Type.Array(ContentPart, { minItems: 1, maxItems: 32 }),
});
const FunctionCallOutputItem = Type.Object({
  type: Type.Literal('function_call_output'),
  id: Type.Optional(ItemId),
  call_id: Type.String({ minLength: 1, maxLength: MAX_CALL_ID_CHARS }),
  output: Type.String(),
});
const FunctionCallItem = Type.Object({
  type: Type.Literal('function_call'),
  id: Type.Optional(ItemId),
  call_id: Type.String({ minLength: 1, maxLength: MAX_CALL_ID_CHARS }),
  name: Type.String({ pattern: '^[a-zA-Z0-9_-]{1,64}$' }),
  arguments: Type.String(),
});

export type FunctionToolWire = Static<typeof FunctionTool>;
export type ToolChoiceWire = Static<typeof ToolChoice>;
export type ClientItem =
  Static<typeof MessageItem> | Static<typeof FunctionCallOutputItem> | Static<typeof FunctionCallItem>;
export type SessionUpdateEvent = Static<typeof SessionUpdate>;
export type ItemCreateEvent = Omit<Static<typeof ItemCreate>, 'item'> & { item: ClientItem };
export type ResponseCreateEvent = Static<typeof ResponseCreate>;
export type RealtimeClientEvent =
  | SessionUpdateEvent
  | ItemCreateEvent
  | ResponseCreateEvent
  | Static<typeof ResponseCancel>
  | Static<typeof ItemTruncate>
  | Static<typeof ItemDelete>
  | Static<typeof ItemRetrieve>;

const compile = (schema: TSchema) => TypeCompiler.Compile(schema);
// Maps, not object literals: a client-chosen key such as "__proto__" or "toString" must find nothing.
const EVENT_CHECKS: ReadonlyMap<string, TypeCheck<TSchema>> = new Map([
  ['session.update', compile(SessionUpdate)],
  ['conversation.item.create', compile(ItemCreate)],
  ['response.create', compile(ResponseCreate)],
  ['response.cancel', compile(ResponseCancel)],
  ['conversation.item.truncate', compile(ItemTruncate)],
  ['conversation.item.delete', compile(ItemDelete)],
  ['conversation.item.retrieve', compile(ItemRetrieve)],
]);
const ITEM_CHECKS: ReadonlyMap<string, TypeCheck<TSchema>> = new Map([
  ['message', compile(MessageItem)],
  ['function_call_output', compile(FunctionCallOutputItem)],
  ['function_call', compile(FunctionCallItem)],
]);
/** Client events of the audio pipeline: a text gateway answers them with `unsupported_event`. */
const AUDIO_EVENTS = new Set([
  'input_audio_buffer.append',
  'input_audio_buffer.commit',
  'input_audio_buffer.clear',
  'output_audio_buffer.clear',
  'transcription_session.update',
]);

export type ParsedFrame =
  { ok: true; event: RealtimeClientEvent } | { ok: false; error: RealtimeError | GatewayError; eventId?: string };

/** Parses one frame; oversized and binary frames get an error and the connection stays usable. */
export function parseRealtimeFrame(data: Buffer, isBinary: boolean, maxFrameBytes: number): ParsedFrame {
  if (isBinary) return { ok: false, error: new GatewayError('GW_BINARY_FRAME') };
  if (data.byteLength > maxFrameBytes) {
    return {
      ok: false,
      error: new GatewayError('GW_FRAME_TOO_LARGE', {
        message: `The frame is ${data.byteLength} bytes; the limit is ${maxFrameBytes}.`,
      }),
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch {
    return { ok: false, error: new RealtimeError('invalid_json') };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, error: new RealtimeError('invalid_event') };
  const record = value as Record<string, unknown>;
  const eventId = typeof record.event_id === 'string' && record.event_id.length <= 128 ? record.event_id : undefined;
  const fail = (error: RealtimeError | GatewayError): ParsedFrame => ({
    ok: false,
    error,
    ...(eventId === undefined ? {} : { eventId }),
  });
  // After parsing (V8's parser takes any depth), so the refusal can echo the event_id; before anything reads it.
  if (exceedsJsonDepth(data)) return fail(new GatewayError('GW_INVALID_EVENT', { message: depthMessage() }));
  const type = record.type;
  if (typeof type !== 'string') return fail(new RealtimeError('invalid_event'));
  if (AUDIO_EVENTS.has(type))
    return fail(
      new RealtimeError('unsupported_event', {
        message: `${type} is not supported: this gateway is text-only (send conversation.item.create with input_text).`,
        param: 'type',
      }),
    );
  const check = EVENT_CHECKS.get(type);
  if (check === undefined)
    return fail(
      new RealtimeError('invalid_value', {
        message: `Unknown or unsupported event type "${clip(type, 64)}".`,
        param: 'type',
      }),
    );
  const problem = firstProblem(check, value, '');
  if (problem !== null) return fail(problem);
  if (type === 'conversation.item.create') {
    const item = record.item as { type: string };
    const itemCheck = ITEM_CHECKS.get(item.type);
    if (itemCheck === undefined)
      return fail(
        new RealtimeError('invalid_value', {
          message: `Unsupported item type "${clip(item.type, 32)}": use message, function_call_output or function_call.`,
          param: 'item.type',
        }),
      );
    const itemProblem = firstProblem(itemCheck, item, 'item');
    if (itemProblem !== null) return fail(itemProblem);
  }
  return { ok: true, event: value as RealtimeClientEvent };
}

function firstProblem(check: TypeCheck<TSchema>, value: unknown, prefix: string): RealtimeError | null {
  if (check.Check(value)) return null;
  const first = check.Errors(value).First();
  const param = toParam(prefix, first?.path ?? '');
  if (first?.type === ValueErrorType.ObjectRequiredProperty) {
    return new RealtimeError('missing_required_parameter', {
      message: `Missing required parameter: '${param}'.`,
      param,
    });
  }
  // A schema may say in words what it wants (a traceparent's format) instead of quoting its pattern.
  const wanted = (first?.schema as { errorMessage?: string } | undefined)?.errorMessage ?? first?.message;
  return new RealtimeError('invalid_value', {
    message: `Invalid value for '${param || 'event'}': ${wanted ?? 'invalid'}.`,
    param,
  });
}

/** A JSON pointer as the dotted path OpenAI's errors use: `/session/tools/0/name` → `session.tools[0].name`. */
function toParam(prefix: string, pointer: string): string {
  let param = prefix;
  for (const segment of pointer.split('/').slice(1))
    param += /^\d+$/.test(segment) ? `[${segment}]` : `${param === '' ? '' : '.'}${segment}`;
  return param;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
