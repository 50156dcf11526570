// The process logger: pino, with every path that could carry a credential redacted. Sessions and responses
// log through child loggers (sessionId, responseId). User text is never logged at info.
import { pino, type Logger } from 'pino';

/** Paths that may hold secrets in anything we log; pino replaces their values before serialising. */
export const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  'config.apiKey',
  'redisUrl',
  '*.redisUrl',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers["sec-websocket-protocol"]',
  'request.headers.authorization',
  'authorization',
  '*.authorization',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
