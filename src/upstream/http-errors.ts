// Upstream failures → GatewayError: status → code, both ASI error-body shapes (an error object; a bare message
// on 401) and HTML pages, a sanitised client-safe message (never a key), Retry-After, and in-stream errors.
// Pure: no I/O. The chat client decides what to retry.
import { GatewayError, ERROR_CATALOGUE, type ErrorCode } from '../errors.js';
import { SecretRedactor, type Secrets } from '../secrets.js';
import { htmlToText, looksLikeHtml } from './html-text.js';

/** How much of the upstream's own message a client may see. */
export const MAX_UPSTREAM_MESSAGE_CHARS = 300;
/** How much of the (sanitised) upstream body goes into `cause`, for logs. */
const MAX_CAUSE_CHARS = 2000;
/** Longest fragment of a configured secret that may survive in a message, in characters. */
const SECRET_WINDOW_CHARS = 12;

export type ResponseHeaders = Record<string, string | string[] | undefined>;

type Json = Record<string, unknown>;
const isRecord = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** 400/404/422 (and other 4xx) → bad request, 401/402/403 → auth, 408 → timeout, 429 → rate limited, 5xx → unavailable. */
export function codeForStatus(status: number): ErrorCode {
  if (status === 401 || status === 402 || status === 403) return 'GW_UPSTREAM_AUTH';
  if (status === 408) return 'GW_UPSTREAM_TIMEOUT';
  if (status === 429) return 'GW_UPSTREAM_RATE_LIMITED';
  if (status >= 400 && status < 500) return 'GW_UPSTREAM_BAD_REQUEST';
  if (status >= 500 && status < 600) return 'GW_UPSTREAM_UNAVAILABLE';
  return 'GW_UPSTREAM_PROTOCOL'; // 1xx/3xx/nonsense: not an answer we can use (undici follows no redirects)
}

function messageFromJson(value: unknown): string | undefined {
  if (typeof value === 'string') return value || undefined;
  if (!isRecord(value)) return undefined;
  const { error } = value;
  if (typeof error === 'string' && error !== '') return error;
  if (isRecord(error) && typeof error.message === 'string' && error.message !== '') return error.message;
  if (typeof value.message === 'string' && value.message !== '') return value.message; // ASI 401 shape
  const { detail } = value; // FastAPI-style proxies
  if (typeof detail === 'string' && detail !== '') return detail;
  if (Array.isArray(detail)) {
    const parts = detail.map((d) => (isRecord(d) && typeof d.msg === 'string' ? d.msg : '')).filter(Boolean);
    if (parts.length > 0) return parts.join('; ');
  }
  return undefined;
}

/**
 * The upstream's own words from an error body: `{"error":{"message"}}`, `{"error":"…"}`, `{"message"}`,
 * `{"detail"}`, an HTML page (its title, else its text) or plain text. Not yet sanitised.
 */
export function extractUpstreamMessage(bodyText: string): string | undefined {
  const trimmed = bodyText.trim();
  if (trimmed === '') return undefined;
  if (trimmed.startsWith('{') || trimmed.startsWith('"')) {
    try {
      return messageFromJson(JSON.parse(trimmed));
    } catch {
      // not JSON after all: fall through to text
    }
  }
  if (looksLikeHtml(trimmed)) return htmlToText(trimmed);
  return trimmed;
}

/** Unicode's default-ignorable code points: rendered as nothing. */
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/gu;

/**
 * Makes upstream text safe to show a client: removes every configured secret (and any 12-character fragment of
 * one) in any letter case, even split by invisible characters, bearer tokens, `sk_…`-style keys, JWTs, long
 * hex/base64 runs and `key=…` pairs, strips control characters, collapses whitespace and truncates.
 */
export function sanitizeUpstreamText(
  text: string,
  secrets: Secrets = [],
  maxChars = MAX_UPSTREAM_MESSAGE_CHARS,
): string {
  // Cut first (bounded work), far beyond what is kept, so a key split by this cut is never shown. Then drop the
  // characters nobody sees (zero-width spaces, soft hyphens, joiners, bidi marks…): a key with one every few
  // characters would otherwise match neither itself nor any fragment, and still read whole on a screen.
  const visible = text.slice(0, Math.max(maxChars * 4, 4000)).replace(INVISIBLE, '');
  let out = SecretRedactor.from(secrets).redactWithFragments(visible, SECRET_WINDOW_CHARS);
  out = out
    .replace(/\bBearer\s+[^\s"',;]+/gi, 'Bearer [redacted]')
    .replace(
      /\b(api[_-]?key|access[_-]?token|token|secret|password)(["']?\s*[:=]\s*["']?)[^\s"',;&]+/gi,
      '$1$2[redacted]',
    )
    .replace(/\b(?:sk|pk|rk)[-_][A-Za-z0-9_-]{6,}/gi, '[redacted]')
    .replace(/\beyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]+){0,2}/g, '[redacted]')
    .replace(/\b[0-9a-fA-F]{32,}\b/g, '[redacted]')
    .replace(/[A-Za-z0-9+/_-]{32,}={0,2}/g, (run) => (/\d/.test(run) && /[A-Za-z]/.test(run) ? '[redacted]' : run))
    // eslint-disable-next-line no-control-regex -- stripping control characters is the point
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return out.length > maxChars ? `${out.slice(0, maxChars - 1)}…` : out;
}

const headerValue = (headers: ResponseHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * Milliseconds the upstream asked us to wait: `retry-after-ms` (OpenAI-style), else `Retry-After` as
 * delta-seconds or an HTTP-date (RFC 9110 §10.2.3), at most an hour. A date in the past is 0; garbage is undefined.
 */
export function parseRetryAfter(headers: ResponseHeaders, nowMs = Date.now()): number | undefined {
  const ms = requestedWaitMs(headers, nowMs);
  return ms === undefined ? undefined : Math.min(ms, MAX_RETRY_AFTER_MS);
}

/** An upstream may ask for any wait (or Infinity, from 400 digits): a client is told an hour at most. */
const MAX_RETRY_AFTER_MS = 3_600_000;

/** The wait the headers ask for, as given: `retry-after-ms`, else `Retry-After` in seconds or as an HTTP-date. */
function requestedWaitMs(headers: ResponseHeaders, nowMs: number): number | undefined {
  const ms = headerValue(headers, 'retry-after-ms')?.trim();
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms)) return Math.ceil(Number(ms));
  const value = headerValue(headers, 'retry-after')?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

interface BuildOptions {
  status: number;
  detail: string | undefined;
  secrets: Secrets;
  retryAfterMs?: number | undefined;
  cause: unknown;
}

function buildError({ status, detail, secrets, retryAfterMs, cause }: BuildOptions): GatewayError {
  const code = codeForStatus(status);
  const safe = detail === undefined ? '' : sanitizeUpstreamText(detail, secrets);
  const message = `${ERROR_CATALOGUE[code].message} (upstream ${status}${safe === '' ? '' : `: ${safe}`})`;
  return new GatewayError(code, { message, status, retryAfterMs, cause });
}

/** A non-2xx upstream answer → GatewayError with a client-safe message, `status` and `retryAfterMs`. */
export function createUpstreamHttpError(
  status: number,
  bodyText: string,
  headers: ResponseHeaders,
  secrets: Secrets = [],
): GatewayError {
  return buildError({
    status,
    detail: extractUpstreamMessage(bodyText),
    secrets,
    retryAfterMs: parseRetryAfter(headers),
    cause: { upstreamStatus: status, body: sanitizeUpstreamText(bodyText, secrets, MAX_CAUSE_CHARS) },
  });
}

/**
 * An error delivered inside a 200 stream (`data: {"error":{…}}`, SGLang/vLLM `{"object":"error",…}`, or an
 * `event: error` frame) → GatewayError, mapped by its numeric `code` (default 500); else undefined.
 */
export function readStreamError(
  chunk: unknown,
  eventName: string | undefined,
  secrets: Secrets = [],
): GatewayError | undefined {
  if (!isRecord(chunk)) return undefined;
  const hasError = (isRecord(chunk.error) || typeof chunk.error === 'string') && !Array.isArray(chunk.choices);
  if (!hasError && chunk.object !== 'error' && eventName !== 'error') return undefined;
  const inner = isRecord(chunk.error) ? chunk.error : chunk;
  const numeric = [inner.code, inner.status, chunk.code, chunk.status].find(
    (v): v is number => typeof v === 'number' && v >= 100 && v < 600,
  );
  const type = typeof inner.type === 'string' ? inner.type : '';
  const status = numeric ?? (/rate.?limit/i.test(type) ? 429 : 500);
  const detail = messageFromJson(chunk);
  return buildError({
    status,
    detail,
    secrets,
    cause: { upstreamStatus: status, inStream: true, message: detail && sanitizeUpstreamText(detail, secrets) },
  });
}

/** Errors that mean "we never reached a usable upstream": safe to retry before anything was forwarded. */
const CONNECT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN', // DNS
  'UND_ERR_SOCKET', // "other side closed" before headers: typically a keep-alive socket the server had closed
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** OpenSSL's verdicts on a certificate the upstream presented (Node's `err.code`). */
const CERTIFICATE_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * A connection the upstream's TLS (its certificate, the handshake) or its HTTP version (UPSTREAM_HTTP=h2 without
 * HTTP/2) makes unusable: retrying cannot help, the configuration must change. The reason is no secret and tells
 * the operator what to fix (UPSTREAM_CA_FILE, UPSTREAM_HTTP).
 */
function unusableConnection(code: string, err: unknown): GatewayError | undefined {
  const certificate = CERTIFICATE_CODES.has(code);
  const reason = certificate
    ? `TLS certificate not trusted: ${code}`
    : code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')
      ? `TLS handshake failed: ${code}`
      : code === 'GW_ERR_H2_NOT_NEGOTIATED'
        ? 'HTTP/2 not offered'
        : undefined;
  if (reason === undefined) return undefined;
  const message = `${ERROR_CATALOGUE.GW_UPSTREAM_CONNECT.message} (${reason})`;
  return new GatewayError('GW_UPSTREAM_CONNECT', { message, retryable: false, cause: err });
}

/** The `code` of an error, looking into AggregateError (happy-eyeballs connects) and `cause`. */
export function errorCodeOf(err: unknown, depth = 0): string | undefined {
  if (typeof err !== 'object' || err === null || depth > 3) return undefined;
  const { code } = err as { code?: unknown };
  if (typeof code === 'string') return code;
  if (err instanceof AggregateError) return errorCodeOf(err.errors[0], depth + 1);
  return errorCodeOf((err as { cause?: unknown }).cause, depth + 1);
}

/**
 * A transport failure before a usable response (undici/Node error) → GatewayError: connect/DNS/reset →
 * GW_UPSTREAM_CONNECT (retryable), an untrusted certificate, a failed TLS handshake or no HTTP/2 under
 * UPSTREAM_HTTP=h2 → GW_UPSTREAM_CONNECT (not retryable, the reason in the message), undici header/body timeouts → TIMEOUT/STALLED, HTTP parse errors →
 * PROTOCOL, a closed dispatcher → CONNECT (not retryable), anything else → GW_INTERNAL. Messages are the
 * catalogue's; the original error is only the `cause`.
 */
export function classifyTransportError(err: unknown): GatewayError {
  const code = errorCodeOf(err);
  if (code !== undefined && CONNECT_CODES.has(code)) return new GatewayError('GW_UPSTREAM_CONNECT', { cause: err });
  const unusable = code === undefined ? undefined : unusableConnection(code, err);
  if (unusable !== undefined) return unusable;
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return new GatewayError('GW_UPSTREAM_TIMEOUT', { cause: err });
  if (code === 'UND_ERR_BODY_TIMEOUT') return new GatewayError('GW_UPSTREAM_STALLED', { cause: err });
  if (code === 'UND_ERR_CLOSED' || code === 'UND_ERR_DESTROYED') {
    return new GatewayError('GW_UPSTREAM_CONNECT', { retryable: false, cause: err });
  }
  if (code !== undefined && (code.startsWith('HPE_') || code.startsWith('UND_ERR_RES_') || code === 'UND_ERR_INFO')) {
    return new GatewayError('GW_UPSTREAM_PROTOCOL', { cause: err });
  }
  return new GatewayError('GW_INTERNAL', { cause: err });
}
