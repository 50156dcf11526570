// WebSocket close codes the gateway uses (RFC 6455 §7.4.1; 4000–4999 are ours), named once so transports and
// docs agree. docs/protocol.md lists them.

/** The server is shutting down (graceful drain). */
export const CLOSE_GOING_AWAY = 1001;
/** A frame exceeded the hard frame cap (ws closes with this itself). */
export const CLOSE_TOO_BIG = 1009;
/** No client frames and no active response for IDLE_TIMEOUT_MS. */
export const CLOSE_IDLE_TIMEOUT = 4000;
/** The client read so slowly that unsent data passed SEND_BUFFER_HARD_BYTES; its response was interrupted. */
export const CLOSE_SLOW_CONSUMER = 4001;
/** The peer did not answer a WebSocket ping within HEARTBEAT_INTERVAL_MS. */
export const CLOSE_HEARTBEAT_TIMEOUT = 4002;
/** The session was resumed on a newer connection; this one is stale. */
export const CLOSE_RESUMED_ELSEWHERE = 4003;
/** A resume on another instance broke off after relaying part of the session (Redis went away): resume again. */
export const CLOSE_RESUME_INTERRUPTED = 4004;
