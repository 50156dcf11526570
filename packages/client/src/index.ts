// @asi1-voice/client: connect to the asi1 voice gateway from a browser (or any runtime with a WebSocket) and
// talk in turns: replies stream as text deltas and speech segments, with barge-in, client tools and resume.
export { connect, type ConnectOptions } from './connect.js';
export type { CommittedTurn, SessionEvents, SessionUpdate, VoiceSession } from './session.js';
export type { TurnOptions } from './wire.js';
export type { CancelOptions, Reply } from './reply.js';
export { countHeardChars, HeardTracker, type SpeechSegment } from './heard.js';
export type { ClientToolDefinition, ClientTools, ToolContext } from './tools.js';
export {
  VoiceGatewayError,
  type ClientErrorCode,
  type VoiceErrorCode,
  type VoiceGatewayErrorOptions,
} from './errors.js';
export type { ConnectionState, StateDetail } from './link-types.js';
export type { ReconnectOptions } from './backoff.js';
export type { SocketEvent, TokenTransport, WebSocketConstructor, WebSocketLike } from './socket.js';
export {
  PROTOCOL_MINOR,
  PROTOCOL_VERSION,
  type ClientEvent,
  type ClientTool,
  type ErrorCode,
  type ModelName,
  type ResponseDone,
  type ResponseStatus,
  type ResponseTimings,
  type ServerEvent,
  type ServerEventOf,
  type SessionLimits,
  type SessionReady,
  type SessionResumed,
  type SessionSettings,
  type SettingsFields,
  type ToolCall,
  type TurnAbsorbed,
  type TurnCommitted,
  type TurnDetection,
  type TurnDetectionUpdate,
  type TurnInterimEvent,
  type Usage,
  type WireError,
} from './wire.js';
