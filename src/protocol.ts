// Native protocol v1.4 (`/v1/voice`): client event schemas (validated at the edge) and server event types.
// This file is the wire contract of docs/protocol.md; fields may grow, meanings may not change without a bump.
import { Type, type Static } from '@sinclair/typebox';

export const PROTOCOL_VERSION = 1;
/**
 * Minor version: 1 added session resume (`resumeToken`, `session.resume`, `session.resumed`); 2 added interim
 * transcripts and speculation (`turn.interim`, `turnDetection`, `turn.committed`, `timings.speculative`); 3 added
 * the model family and experiments (`response.done.models`, `experiment`, `userKey`, `feedback`); 4 added
 * `traceparent` on `turn` and `turn.interim` (the reply's trace continues the client's).
 */
export const PROTOCOL_MINOR = 4;

/** The longest tool call id a client may send back (`tool.result`, Realtime's `call_id`); longer upstream ids are replaced. */
export const MAX_CALL_ID_CHARS = 128;

export const MODELS = ['asi1-mini', 'asi1', 'asi1-ultra'] as const;
export type ModelName = (typeof MODELS)[number];

const EventId = Type.Optional(Type.String({ maxLength: 128 }));

/**
 * A W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header), version 00: lower-case
 * hex, trace and parent ids not all zeros. `errorMessage` is what a refusal says (hosting/client-frames.ts).
 */
export const TRACEPARENT_PATTERN = '^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$';
export const Traceparent = Type.String({
  pattern: TRACEPARENT_PATTERN,
  errorMessage:
    'must be a W3C traceparent: 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>, lower case, ids not all zeros',
});

/** A JSON Schema object; validated structurally by the tools layer. */
export const ClientToolSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-zA-Z0-9_-]{1,64}$' }),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
    parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

/** Longest and shortest `serverCommit.stableMs` a client may ask for. */
export const SERVER_COMMIT_STABLE_MS = { min: 200, max: 5_000 } as const;

/** How turns end: `speculate` answers interims early (held until the turn commits); `serverCommit` ends a turn without a final. */
export const TurnDetectionUpdate = Type.Object(
  {
    speculate: Type.Optional(Type.Boolean()),
    serverCommit: Type.Optional(
      Type.Union([
        Type.Null(),
        Type.Object(
          { stableMs: Type.Integer({ minimum: SERVER_COMMIT_STABLE_MS.min, maximum: SERVER_COMMIT_STABLE_MS.max }) },
          { additionalProperties: false },
        ),
      ]),
    ),
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
  turnDetection: Type.Optional(TurnDetectionUpdate),
  /** (1.3) Who the user is, for a stable experiment arm across sessions; only before the first turn. */
  userKey: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
});

export const TurnEvent = Type.Object({
  type: Type.Literal('turn'),
  eventId: EventId,
  text: Type.String(),
  turnId: Type.Optional(Type.String({ maxLength: 128 })),
  /** (1.4) The front-end's trace context: the reply's trace continues it. */
  traceparent: Type.Optional(Traceparent),
});

/** The whole transcript of the utterance in progress, as the recognizer has it now; each replaces the last. */
export const TurnInterimEvent = Type.Object({
  type: Type.Literal('turn.interim'),
  eventId: EventId,
  text: Type.String(),
  turnId: Type.Optional(Type.String({ maxLength: 128 })),
  /** (1.4) As on `turn`: a speculation or a server commit on this interim continues it. */
  traceparent: Type.Optional(Traceparent),
});

export const ResponseCancelEvent = Type.Object({
  type: Type.Literal('response.cancel'),
  eventId: EventId,
  responseId: Type.Optional(Type.String({ maxLength: 128 })),
  heardChars: Type.Optional(Type.Integer({ minimum: 0 })),
});

/** (1.3) The user's rating of a reply, for the quality figures of its model and experiment arm. */
export const FeedbackEvent = Type.Object({
  type: Type.Literal('feedback'),
  eventId: EventId,
  responseId: Type.String({ maxLength: 128 }),
  rating: Type.Union([Type.Literal('up'), Type.Literal('down')]),
  comment: Type.Optional(Type.String({ maxLength: 1_000 })),
});

export const ToolResultEvent = Type.Object({
  type: Type.Literal('tool.result'),
  eventId: EventId,
  callId: Type.String({ maxLength: MAX_CALL_ID_CHARS }),
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

/** (1.3) The client is done with this session: it ends now instead of waiting to be resumed. */
export const SessionEndEvent = Type.Object({
  type: Type.Literal('session.end'),
  eventId: EventId,
});

export const PingEvent = Type.Object({
  type: Type.Literal('ping'),
  eventId: EventId,
});

export type SessionUpdateEvent = Static<typeof SessionUpdateEvent>;
export type TurnEvent = Static<typeof TurnEvent>;
export type TurnInterimEvent = Static<typeof TurnInterimEvent>;
export type ResponseCancelEvent = Static<typeof ResponseCancelEvent>;
export type ToolResultEvent = Static<typeof ToolResultEvent>;
export type FeedbackEvent = Static<typeof FeedbackEvent>;
export type PingEvent = Static<typeof PingEvent>;
export type SessionResumeEvent = Static<typeof SessionResumeEvent>;
export type SessionEndEvent = Static<typeof SessionEndEvent>;
export type ClientTool = Static<typeof ClientToolSchema>;
/** Events the session handles; `session.resume` is handled by the transport, which owns connections. */
export type SessionEvent =
  SessionUpdateEvent | TurnEvent | TurnInterimEvent | ResponseCancelEvent | ToolResultEvent | FeedbackEvent | PingEvent;
export type ClientEvent = SessionEvent | SessionResumeEvent | SessionEndEvent;

/** One schema per client event type, keyed by `type`, so validation picks the schema before checking. */
export const CLIENT_EVENT_SCHEMAS = {
  'session.update': SessionUpdateEvent,
  turn: TurnEvent,
  'turn.interim': TurnInterimEvent,
  'response.cancel': ResponseCancelEvent,
  'tool.result': ToolResultEvent,
  feedback: FeedbackEvent,
  ping: PingEvent,
  'session.resume': SessionResumeEvent,
  'session.end': SessionEndEvent,
} as const;

export type UpstreamKind = 'asi1' | 'simulator' | 'custom';

/** Limits a client should respect; sent in session.ready so front-ends need no out-of-band docs. */
export interface SessionLimits {
  maxFrameBytes: number;
  maxTurnChars: number;
  /** How long a dropped connection's session waits to be resumed; 0 when resume is off. */
  resumeTtlMs: number;
}

export interface TurnDetection {
  /** Start a reply on a stable interim, held until the turn commits (adopted) or dropped without a trace. */
  speculate: boolean;
  /** Commit a turn when its interim was stable this long and reads as complete; null: only a final `turn` commits. */
  serverCommit: { stableMs: number } | null;
}

/** The experiment arm a session is in (EXPERIMENTS_FILE). `counted` is false once the client chose its own model. */
export interface ExperimentArm {
  name: string;
  arm: string;
  counted: boolean;
}

export interface SessionSettings {
  model: ModelName;
  instructions: string;
  temperature: number | null;
  maxOutputTokens: number;
  tools: ClientTool[];
  turnDetection: TurnDetection;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface ResponseTimings {
  /** ms from the turn's commit to the first forwarded delta; null when none was sent. */
  firstTokenMs: number | null;
  /** ms from the turn's commit to the first speech segment; null when none was sent. */
  firstSpeechMs: number | null;
  totalMs: number;
  /** The reply was started on an interim before the turn committed, and adopted when it did. */
  speculative: boolean;
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
      /** (1.3) Present when an experiment runs: the session's arm. */
      experiment?: ExperimentArm;
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
  | ({ type: 'session.updated'; experiment?: ExperimentArm } & SessionSettings)
  /** (1.3) The answer to `feedback`. */
  | { type: 'feedback.received'; responseId: string; eventId?: string }
  /** The server ended the user's turn itself (serverCommit): `text` is what it answers. */
  | { type: 'turn.committed'; turnId: string; text: string; by: 'server' }
  /**
   * A final `turn` that only confirmed the server's commit: no second reply. `turnId` echoes the final's own (if it
   * had one); `responseId` is the reply that answers it (null when that reply could not start).
   */
  | { type: 'turn.absorbed'; turnId?: string; committedTurnId: string; responseId: string | null }
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
      /** Every model that produced part of the reply, in order (two after an escalation); empty when none did. */
      models: string[];
      usage?: Usage;
      timings: ResponseTimings;
      error?: WireError;
    }
  /** `retryAfterMs`: how long to wait before trying again, when a limit said so (GW_RATE_LIMITED). */
  | ({ type: 'error'; eventId?: string; responseId?: string; retryAfterMs?: number } & WireError)
  | { type: 'pong'; eventId?: string };

export type ServerEvent = ServerEventBody & { seq: number };
