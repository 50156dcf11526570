// Realtime `error` events: the standard codes Realtime clients branch on (OpenAI's, where one exists) and the
// gateway's own GW_* errors in the same shape. A client error never closes the connection.
import type { GatewayError } from '../../errors.js';

/** Default messages of the Realtime-specific codes; gateway failures keep their GW_* code and message. */
export const REALTIME_ERROR_MESSAGES = {
  invalid_json: 'The frame is not valid JSON.',
  invalid_event: 'A frame must be a JSON object with a string "type".',
  invalid_value: 'A field has an invalid value.',
  missing_required_parameter: 'A required field is missing.',
  unsupported_event: 'This gateway is text-only: audio events are not supported.',
  unsupported_modality: 'This gateway is text-only: output_modalities must be ["text"].',
  unsupported_feature: 'This feature of the Realtime API is not supported by this gateway.',
  conversation_already_has_active_response:
    'Conversation already has an active response in progress. Wait until it is done, or cancel it, before creating a new one.',
  response_cancel_not_active: 'Cancellation failed: no active response found.',
  item_not_found: 'No conversation item has that id.',
  item_already_exists: 'A conversation item with that id already exists.',
} as const;

export type RealtimeErrorCode = keyof typeof REALTIME_ERROR_MESSAGES;

/** A failed client event; `param` names the offending field (`session.tools[0].name`). */
export class RealtimeError extends Error {
  readonly code: RealtimeErrorCode;
  readonly param: string | null;

  constructor(code: RealtimeErrorCode, options: { message?: string; param?: string } = {}) {
    super(options.message ?? REALTIME_ERROR_MESSAGES[code]);
    this.name = 'RealtimeError';
    this.code = code;
    this.param = options.param ?? null;
  }
}

/** The `error` object of a Realtime error event (GA `RealtimeError`; the beta shape is the same). */
export interface RealtimeErrorBody {
  type: 'invalid_request_error' | 'server_error';
  code: string;
  message: string;
  param: string | null;
  /** The client event that failed, so clients can match the error to it (the Agents SDK relies on this). */
  event_id: string | null;
}

/** Gateway codes that describe the server's state rather than the client's request. */
const SERVER_SIDE = /^GW_(UPSTREAM_|INTERNAL|SHUTTING_DOWN)/;

/** `server_error` for the gateway's and the upstream's own failures, `invalid_request_error` otherwise. */
export function errorType(code: string): RealtimeErrorBody['type'] {
  return SERVER_SIDE.test(code) ? 'server_error' : 'invalid_request_error';
}

export function toErrorBody(err: RealtimeError | GatewayError, eventId: string | undefined): RealtimeErrorBody {
  return {
    type: errorType(err.code),
    code: err.code,
    message: err.message,
    param: err instanceof RealtimeError ? err.param : null,
    event_id: eventId ?? null,
  };
}
