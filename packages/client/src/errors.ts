// VoiceGatewayError: every failure the client reports, with the gateway's stable GW_* code (or a CLIENT_* code for
// what the client itself detects), whether retrying may succeed, and the eventId of the frame it answers.
import type { ErrorCode, ServerError } from './wire.js';

/** Failures the client detects itself; the gateway's own codes are `ErrorCode` (GW_*). */
export type ClientErrorCode =
  /** The socket closed (or could not be opened) before the session was ready. */
  | 'CLIENT_CONNECT_FAILED'
  /** The server speaks a protocol major this client does not know. */
  | 'CLIENT_PROTOCOL_UNSUPPORTED'
  /** The feature needs a newer protocol minor than the server announced. */
  | 'CLIENT_UNSUPPORTED'
  /** No WebSocket implementation was given and globalThis has none. */
  | 'CLIENT_NO_WEBSOCKET'
  /** session.close() was called, or the session closed for good. */
  | 'CLIENT_CLOSED'
  /** The socket dropped and every reconnect attempt failed, or the server closed it with a final close code. */
  | 'CLIENT_CONNECTION_LOST'
  /** The session could not be resumed after a reconnect; what was in flight in it is lost. */
  | 'CLIENT_SESSION_LOST'
  /**
   * The gateway absorbed a final turn into a turn it had committed itself (turn.absorbed), and the reply to that
   * turn never started (its responseId is null) or was never seen by this client: no reply will answer the final.
   */
  | 'CLIENT_TURN_ABSORBED';

/** Any code a VoiceGatewayError may carry; a newer gateway may send GW_* codes this client does not list. */
export type VoiceErrorCode = ErrorCode | ClientErrorCode | (string & {});

export interface VoiceGatewayErrorOptions {
  retryable?: boolean;
  eventId?: string;
  responseId?: string;
  /** The WebSocket close code, when the error is about a closed socket. */
  closeCode?: number;
  cause?: unknown;
}

export class VoiceGatewayError extends Error {
  readonly code: VoiceErrorCode;
  /** Whether sending the same thing again later may succeed. */
  readonly retryable: boolean;
  /** The eventId of the client event this error answers, when the server echoed one. */
  readonly eventId: string | undefined;
  readonly responseId: string | undefined;
  readonly closeCode: number | undefined;

  constructor(code: VoiceErrorCode, message: string, options: VoiceGatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VoiceGatewayError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.eventId = options.eventId;
    this.responseId = options.responseId;
    this.closeCode = options.closeCode;
  }

  /** The typed error for a server `error` event. */
  static fromServer(event: ServerError): VoiceGatewayError {
    return new VoiceGatewayError(event.code, event.message, {
      retryable: event.retryable,
      ...(event.eventId === undefined ? {} : { eventId: event.eventId }),
      ...(event.responseId === undefined ? {} : { responseId: event.responseId }),
    });
  }
}
