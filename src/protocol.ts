// Native protocol v1 (`/v1/voice`): client event schemas (validated at the edge) and server event types.
// This file is the wire contract of docs/protocol.md; fields may grow, meanings may not change without a bump.
import { Type, type Static } from '@sinclair/typebox';

export const PROTOCOL_VERSION = 1;
/** Minor version: 1 added session resume (`resumeToken`, `session.resume`, `session.resumed`). */
export const PROTOCOL_MINOR = 1;

export const MODELS = ['asi1-mini', 'asi1', 'asi1-ultra'] as const;
export type ModelName = (typeof MODELS)[number];

const EventId = Type.Optional(Type.String({ maxLength: 128 }));

/** A JSON Schema object; validated structurally by the tools layer. */
export const ClientToolSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-zA-Z0-9_-]{1,64}$' }),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
    parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

export const SessionUpdateEvent = Type.Object({
  type: Type.Literal('session.update'),
  eventId: EventId,
  instructions: Type.Optional(Type.String({ maxLength: 32_768 })),
  model: Type.Optional(Type.String({ maxLength: 64 })),
  temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
  maxOutputTokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 32_768 })),
  tools: Type.Optional(Type.Array(ClientToolSchema, { maxItems: 64 })),
});

export const TurnEvent = Type.Object({
  type: Type.Literal('turn'),
  eventId: EventId,
  text: Type.String(),
  turnId: Type.Optional(Type.String({ maxLength: 128 })),
});

export const ResponseCancelEvent = Type.Object({
  type: Type.Literal('response.cancel'),
  eventId: EventId,
  responseId: Type.Optional(Type.String({ maxLength: 128 })),
  heardChars: Type.Optional(Type.Integer({ minimum: 0 })),
});

export const ToolResultEvent = Type.Object({
  type: Type.Literal('tool.result'),
  eventId: EventId,
  callId: Type.String({ maxLength: 128 }),
  output: Type.Unknown(),
});

export const SessionResumeEvent = Type.Object({
  type: Type.Literal('session.resume'),
  eventId: EventId,
  sessionId: Type.String({ maxLength: 128 }),
  resumeToken: Type.String({ maxLength: 256 }),
  /** The seq of the last event the client received from that session; later ones are replayed. */
  lastSeq: Type.Integer({ minimum: 0 }),
});

export const PingEvent = Type.Object({
  type: Type.Literal('ping'),
  eventId: EventId,
});

export type SessionUpdateEvent = Static<typeof SessionUpdateEvent>;
export type TurnEvent = Static<typeof TurnEvent>;
export type ResponseCancelEvent = Static<typeof ResponseCancelEvent>;
export type ToolResultEvent = Static<typeof ToolResultEvent>;
export type PingEvent = Static<typeof PingEvent>;
export type SessionResumeEvent = Static<typeof SessionResumeEvent>;
export type ClientTool = Static<typeof ClientToolSchema>;
/** Events the session handles; `session.resume` is handled by the transport, which owns connections. */
export type SessionEvent = SessionUpdateEvent | TurnEvent | ResponseCancelEvent | ToolResultEvent | PingEvent;
export type ClientEvent = SessionEvent | SessionResumeEvent;

/** One schema per client event type, keyed by `type`, so validation picks the schema before checking. */
export const CLIENT_EVENT_SCHEMAS = {
  'session.update': SessionUpdateEvent,
  turn: TurnEvent,
  'response.cancel': ResponseCancelEvent,
  'tool.result': ToolResultEvent,
  ping: PingEvent,
  'session.resume': SessionResumeEvent,
} as const;

export type UpstreamKind = 'asi1' | 'simulator' | 'custom';

/** Limits a client should respect; sent in session.ready so front-ends need no out-of-band docs. */
export interface SessionLimits {
  maxFrameBytes: number;
  maxTurnChars: number;
  /** How long a dropped connection's session waits to be resumed; 0 when resume is off. */
  resumeTtlMs: number;
}

export interface SessionSettings {
  model: ModelName;
  instructions: string;
  temperature: number | null;
  maxOutputTokens: number;
  tools: ClientTool[];
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface ResponseTimings {
  /** ms from the response's creation to its first forwarded delta; null when none was sent. */
  firstTokenMs: number | null;
  /** ms from the response's creation to its first speech segment; null when none was sent. */
  firstSpeechMs: number | null;
  totalMs: number;
}

export type ResponseStatus = 'completed' | 'interrupted' | 'failed';

export interface WireError {
  code: string;
  message: string;
  retryable: boolean;
}

/** Server events without `seq`; the session stamps `seq` when it sends. */
export type ServerEventBody =
  | {
      type: 'session.ready';
      sessionId: string;
      protocol: typeof PROTOCOL_VERSION;
      minor: typeof PROTOCOL_MINOR;
      /** Present when resume is on: with sessionId and the last seq seen, it resumes this session later. */
      resumeToken?: string;
      model: ModelName;
      upstream: UpstreamKind;
      limits: SessionLimits;
    }
  /** `eventId` echoes the session.resume it answers (a replay may hold older ones, from resumes that never reached the client). */
  | {
      type: 'session.resumed';
      sessionId: string;
      resumedFrom: number;
      replayed: number;
      missedEvents: boolean;
      eventId?: string;
    }
  | ({ type: 'session.updated' } & SessionSettings)
  | { type: 'response.created'; responseId: string; turnId: string }
  | { type: 'response.delta'; responseId: string; text: string }
  | { type: 'response.speech'; responseId: string; index: number; text: string }
  | {
      type: 'response.tool_call';
      responseId: string;
      callId: string;
      name: string;
      arguments: string;
      runsOn: 'server' | 'client';
    }
  | {
      type: 'response.done';
      responseId: string;
      status: ResponseStatus;
      text: string;
      usage?: Usage;
      timings: ResponseTimings;
      error?: WireError;
    }
  /** `retryAfterMs`: how long to wait before trying again, when a limit said so (GW_RATE_LIMITED). */
  | ({ type: 'error'; eventId?: string; responseId?: string; retryAfterMs?: number } & WireError)
  | { type: 'pong'; eventId?: string };

export type ServerEvent = ServerEventBody & { seq: number };
