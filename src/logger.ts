// The process logger: pino, with every path that could carry a credential redacted, and every configured secret
// removed from whatever it writes, in any letter case. Sessions and responses log through child loggers
// (sessionId, responseId). User text is never logged at info.
import { pino, type Logger, type LoggerOptions } from 'pino';
import { REDACTED, SecretRedactor } from './secrets.js';

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

export interface CreateLoggerOptions {
  /** Default: stdout. */
  destination?: pino.DestinationStream;
  /** Values never to write, in any letter case, wherever they appear (see configuredSecrets in secrets.ts). */
  secrets?: Iterable<string | undefined>;
}

export function createLogger(level: string, { destination, secrets = [] }: CreateLoggerOptions = {}): Logger {
  const streamWrite = secretRedactingHook(secrets);
  const options: LoggerOptions = {
    level,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    // No secrets configured: no hook, no cost.
    ...(streamWrite ? { hooks: { streamWrite } } : {}),
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * pino's `streamWrite` hook that removes every secret, in any case, from a serialised line wherever it is
 * (message, `err.message`, `err.stack`, any field or key); undefined when no secret is configured. A line costs
 * one lower-casing and a substring search per secret; only a line that holds one is parsed, cleaned value by
 * value (so it stays valid JSON) and serialised again.
 */
export function secretRedactingHook(secrets: Iterable<string | undefined>): ((line: string) => string) | undefined {
  const values = [...secrets].filter((value): value is string => value !== undefined);
  const redactor = new SecretRedactor(values);
  if (!redactor.enabled) return undefined;
  // pino writes `"`, `\\` and control characters escaped: the line is searched for that form too.
  const search = new SecretRedactor([...values, ...values.map((value) => JSON.stringify(value).slice(1, -1))]);
  return (line) => {
    if (!search.contains(line)) return line;
    try {
      const record: unknown = JSON.parse(line);
      return `${JSON.stringify(redactValue(record, redactor))}${line.endsWith('\n') ? '\n' : ''}`;
    } catch {
      return search.redact(line); // not JSON (a custom formatter): cleaned as plain text
    }
  };
}

function redactValue(value: unknown, redactor: SecretRedactor): unknown {
  if (typeof value === 'string') return redactor.redact(value);
  if (typeof value === 'number') return redactor.contains(String(value)) ? REDACTED : value;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, redactor));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>; // a `__proto__` key stays a key
  for (const [key, item] of Object.entries(value)) out[redactor.redact(key)] = redactValue(item, redactor);
  return out;
}
