// WebSocket close codes the gateway uses (RFC 6455 §7.4.1), named once so transports and docs agree.

/** The server is shutting down (graceful drain). */
export const CLOSE_GOING_AWAY = 1001;
/** A frame exceeded the hard frame cap (ws closes with this itself). */
export const CLOSE_TOO_BIG = 1009;
