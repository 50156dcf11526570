// The wire contract, taken from the gateway's own definitions with type-only imports, so a protocol change that
// breaks this client breaks its typecheck and build. The build points these imports at dist/server/ instead.
import type * as ServerCloseCodes from '../../../src/hosting/close-codes.js';
import type {
  PROTOCOL_MINOR as ServerMinor,
  PROTOCOL_VERSION as ServerMajor,
  ServerEvent,
  SessionUpdateEvent,
  TurnEvent,
} from '../../../src/protocol.js';

export type {
  ClientEvent,
  ClientTool,
  ModelName,
  ResponseStatus,
  ResponseTimings,
  ServerEvent,
  ServerEventBody,
  SessionLimits,
  SessionSettings,
  TurnDetection,
  TurnInterimEvent,
  Usage,
  WireError,
} from '../../../src/protocol.js';
export type { ErrorCode } from '../../../src/errors.js';

/** The protocol major this client speaks; a server announcing another one is refused. */
export const PROTOCOL_VERSION: typeof ServerMajor = 1;
/** The newest minor this client knows. Newer minors only add fields and events, so they are accepted. */
export const PROTOCOL_MINOR: typeof ServerMinor = 4;
/** The subprotocol the gateway selects; browsers offer it next to `bearer.<token>`. */
export const NATIVE_SUBPROTOCOL = 'asi1-voice.v1';

/** Close codes of the gateway this client acts on (their meaning is src/hosting/close-codes.ts's). */
export const CLOSE_IDLE_TIMEOUT: typeof ServerCloseCodes.CLOSE_IDLE_TIMEOUT = 4000;
export const CLOSE_RESUMED_ELSEWHERE: typeof ServerCloseCodes.CLOSE_RESUMED_ELSEWHERE = 4003;

/** The server event of one `type`. */
export type ServerEventOf<T extends ServerEvent['type']> = Extract<ServerEvent, { type: T }>;
export type SessionReady = ServerEventOf<'session.ready'>;
export type SessionResumed = ServerEventOf<'session.resumed'>;
export type ResponseDone = ServerEventOf<'response.done'>;
export type ToolCall = ServerEventOf<'response.tool_call'>;
export type ServerError = ServerEventOf<'error'>;

/** A server-committed turn (turnDetection.serverCommit), and a final `turn` that only confirmed one. */
export type TurnCommitted = ServerEventOf<'turn.committed'>;
export type TurnAbsorbed = ServerEventOf<'turn.absorbed'>;

/** The settings fields of `session.update` (tools are declared through `ClientTools`, see tools.ts). */
export type SettingsFields = Omit<SessionUpdateEvent, 'type' | 'eventId' | 'tools'>;
/** `session.update`'s `turnDetection`: each field given replaces the session's; `serverCommit: null` turns it off. */
export type TurnDetectionUpdate = NonNullable<SettingsFields['turnDetection']>;

/** A `turn` frame as this client sends it: always with a turnId, echoed as eventId by any error about it. */
export type TurnEventFrame = TurnEvent & { turnId: string; eventId: string };
/** A `session.update` frame as this client sends it: always with an eventId. */
export type UpdateEventFrame = SessionUpdateEvent & { eventId: string };

/**
 * Options of a turn or an interim. `traceparent` (a W3C traceparent, protocol 1.4): the gateway's spans of the
 * reply join the front-end's trace; give an utterance's interims and its final the same one. A gateway older than
 * 1.4 ignores it; a malformed one is refused with GW_INVALID_EVENT.
 */
export interface TurnOptions {
  turnId?: string;
  traceparent?: string;
}

/** The traceparent field of a turn or interim frame, when one was given. */
export function traceOf(options: TurnOptions): { traceparent?: string } {
  return options.traceparent === undefined ? {} : { traceparent: options.traceparent };
}
