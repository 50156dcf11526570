// Every typed error the gateway can report, in one place. Each code is stable (clients branch on it),
// has a message that is safe to show a client (never a key, never upstream internals) and a retryable flag.
// README's errors table is checked against ERROR_CATALOGUE by test/docs.test.ts.

/** The catalogue: code → default client-safe message and whether retrying the same request may succeed. */
export const ERROR_CATALOGUE = {
  GW_INVALID_JSON: { message: 'The frame is not valid JSON.', retryable: false },
  GW_BINARY_FRAME: { message: 'Binary frames are not supported; send JSON text frames.', retryable: false },
  GW_FRAME_TOO_LARGE: { message: 'The frame exceeds the maximum frame size.', retryable: false },
  GW_UNKNOWN_EVENT: { message: 'Unknown event type.', retryable: false },
  GW_INVALID_EVENT: { message: 'The event is missing a field or has a field of the wrong type.', retryable: false },
  GW_TEXT_TOO_LONG: { message: 'The turn text exceeds the maximum turn length.', retryable: false },
  GW_EMPTY_TURN: { message: 'The turn text is empty.', retryable: false },
  GW_HISTORY_FULL: {
    message: 'The conversation is full: a user message makes room, once no response is running.',
    retryable: false,
  },
  GW_UNKNOWN_MODEL: { message: 'Unknown model. Use asi1-mini, asi1 or asi1-ultra.', retryable: false },
  GW_INVALID_TOOLS: { message: 'The tool declarations are invalid.', retryable: false },
  GW_UNKNOWN_TOOL_CALL: { message: 'No pending tool call has that callId.', retryable: false },
  GW_NO_ACTIVE_RESPONSE: { message: 'There is no active response to cancel.', retryable: false },
  GW_UNKNOWN_RESPONSE: {
    message: 'No response of this session has that responseId (or it is too old to rate).',
    retryable: false,
  },
  GW_FIGURES_UNAVAILABLE: {
    message: 'The experiment figures shared through Redis cannot be read now; try again shortly.',
    retryable: true,
  },
  GW_USER_KEY_LOCKED: {
    message: 'userKey can only be set before the first turn: the session is already in its experiment arm.',
    retryable: false,
  },
  GW_RESPONSE_MISMATCH: { message: 'That responseId is not the active response.', retryable: false },
  GW_UNAUTHORIZED: { message: 'A valid gateway token is required.', retryable: false },
  GW_ORIGIN_FORBIDDEN: { message: 'This origin is not allowed to connect.', retryable: false },
  GW_TOO_MANY_CONNECTIONS: { message: 'Too many connections; try again later.', retryable: true },
  GW_RATE_LIMITED: { message: 'Too many turns; slow down and try again shortly.', retryable: true },
  GW_TOO_MANY_RESPONSES: {
    message: 'Too many replies are in progress for this client; wait for one to finish.',
    retryable: true,
  },
  GW_RESUME_FAILED: {
    message:
      'That session cannot be resumed (unknown, expired, or wrong token); this connection continues as a new session.',
    retryable: false,
  },
  GW_INSTANCE_LOST: {
    message: 'The gateway instance running this response stopped; the reply was cut off. Ask again.',
    retryable: true,
  },
  GW_SHUTTING_DOWN: { message: 'The server is shutting down; reconnect shortly.', retryable: true },
  GW_UPSTREAM_BUSY: {
    message: 'The gateway is at its limit of requests to the model service; retry shortly.',
    retryable: true,
  },
  GW_UPSTREAM_CIRCUIT_OPEN: {
    message: 'The model service is failing; the gateway is pausing requests to it. Retry shortly.',
    retryable: true,
  },
  GW_UPSTREAM_BAD_REQUEST: { message: 'The model service rejected the request.', retryable: false },
  GW_UPSTREAM_AUTH: { message: 'The model service rejected the gateway credentials.', retryable: false },
  GW_UPSTREAM_RATE_LIMITED: {
    message: 'The model service is rate limiting requests; try again shortly.',
    retryable: true,
  },
  GW_UPSTREAM_UNAVAILABLE: { message: 'The model service is unavailable; try again shortly.', retryable: true },
  GW_UPSTREAM_CONNECT: { message: 'Could not connect to the model service.', retryable: true },
  GW_UPSTREAM_TIMEOUT: { message: 'The model service did not start answering in time.', retryable: true },
  GW_UPSTREAM_STALLED: { message: 'The model service stopped sending mid-answer.', retryable: true },
  GW_UPSTREAM_DROPPED: { message: 'The connection to the model service dropped mid-answer.', retryable: true },
  GW_UPSTREAM_PROTOCOL: { message: 'The model service sent a response the gateway could not read.', retryable: true },
  GW_INTERNAL: { message: 'Internal gateway error.', retryable: true },
} as const satisfies Record<string, { message: string; retryable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface GatewayErrorOptions {
  /** Overrides the catalogue message. Must be safe for a client to read. */
  message?: string;
  retryable?: boolean;
  /** Upstream HTTP status, when the error came from one. */
  status?: number;
  /** Milliseconds the upstream asked us to wait (Retry-After), when it said so. */
  retryAfterMs?: number;
  /** The underlying error, for logs only; never sent to clients. */
  cause?: unknown;
}

/** A typed failure with a stable `code`. Cancellation is never a GatewayError: it is a response status. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, options: GatewayErrorOptions = {}) {
    super(options.message ?? ERROR_CATALOGUE[code].message, { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.retryable = options.retryable ?? ERROR_CATALOGUE[code].retryable;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Wraps anything thrown into a GatewayError, so nothing untyped reaches a client. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError('GW_INTERNAL', { cause: err });
}

/** Thrown by config loading; lists every problem at once. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
