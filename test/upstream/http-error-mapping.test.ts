// src/upstream/http-errors.ts as a client and an operator see a non-2xx upstream answer: the GW_* code, the retryable
// flag, the status and the client-safe message it maps to, for every body shape ASI:One and the proxies in front of
// it send (`{"error":{"message"}}`, the 401 `{"message"}`, `{"detail"}`, HTML pages, plain text), what `cause` keeps
// for the logs, and how long Retry-After says to wait.
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, GatewayError, type ErrorCode } from '../../src/errors.js';
import {
  codeForStatus,
  createUpstreamHttpError,
  extractUpstreamMessage,
  parseRetryAfter,
} from '../../src/upstream/http-errors.js';

/** The message a client reads: the catalogue's sentence, then the status and the upstream's own (sanitised) words. */
const clientMessage = (code: ErrorCode, status: number, detail?: string): string =>
  `${ERROR_CATALOGUE[code].message} (upstream ${status}${detail === undefined ? '' : `: ${detail}`})`;

/** What a client is told for `body` under `status` (400 unless said). */
const shown = (body: string, status = 400): string => createUpstreamHttpError(status, body, {}).message;

describe('upstream HTTP status → GW_* code', () => {
  const cases: [number, ErrorCode, boolean][] = [
    [400, 'GW_UPSTREAM_BAD_REQUEST', false],
    [401, 'GW_UPSTREAM_AUTH', false],
    [402, 'GW_UPSTREAM_AUTH', false],
    [403, 'GW_UPSTREAM_AUTH', false],
    [404, 'GW_UPSTREAM_BAD_REQUEST', false],
    [408, 'GW_UPSTREAM_TIMEOUT', true],
    [409, 'GW_UPSTREAM_BAD_REQUEST', false],
    [422, 'GW_UPSTREAM_BAD_REQUEST', false],
    [429, 'GW_UPSTREAM_RATE_LIMITED', true],
    [499, 'GW_UPSTREAM_BAD_REQUEST', false],
    [500, 'GW_UPSTREAM_UNAVAILABLE', true],
    [502, 'GW_UPSTREAM_UNAVAILABLE', true],
    [503, 'GW_UPSTREAM_UNAVAILABLE', true],
    [504, 'GW_UPSTREAM_UNAVAILABLE', true],
    [599, 'GW_UPSTREAM_UNAVAILABLE', true],
    // Not an answer the gateway can use: informational, success without a body reader, redirects, nonsense.
    [103, 'GW_UPSTREAM_PROTOCOL', true],
    [204, 'GW_UPSTREAM_PROTOCOL', true],
    [302, 'GW_UPSTREAM_PROTOCOL', true],
    [399, 'GW_UPSTREAM_PROTOCOL', true],
    [600, 'GW_UPSTREAM_PROTOCOL', true],
  ];

  it.each(cases)('maps HTTP %i to %s (retryable: %s), with the status on the error', (status, code, retryable) => {
    expect(codeForStatus(status)).toBe(code);
    const error = createUpstreamHttpError(status, '', {});
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ code, retryable, status, retryAfterMs: undefined });
    expect(error.message).toBe(clientMessage(code, status));
  });
});

describe('the upstream words a client is shown', () => {
  const bodies: [string, string, string | undefined][] = [
    [
      'the gen-2 error object',
      '{"error":{"message":"Invalid model: asi1-max","type":"invalid_request_error","code":400}}',
      'Invalid model: asi1-max',
    ],
    ['an error string', '{"error":"model not found"}', 'model not found'],
    ['the bare message ASI:One sends with a 401', '{"message":"Invalid API key"}', 'Invalid API key'],
    ['a FastAPI detail string', '{"detail":"Not Found"}', 'Not Found'],
    [
      'FastAPI validation details, their msgs joined',
      '{"detail":[{"loc":["body","messages"],"msg":"field required","type":"value_error.missing"},{"loc":["body"]},null,{"msg":42},{"msg":"extra fields not permitted"}]}',
      'field required; extra fields not permitted',
    ],
    ['a JSON string body', '"quota exceeded"', 'quota exceeded'],
    ['JSON after leading whitespace', '\n  {"message":"Invalid API key"}\n', 'Invalid API key'],
    ['a message next to a null error', '{"error":null,"message":"upstream overloaded"}', 'upstream overloaded'],
    ['a message next to an empty error string', '{"error":"","message":"fallback"}', 'fallback'],
    [
      'a message next to an error object without one',
      '{"error":{"type":"server_error"},"message":"Overloaded"}',
      'Overloaded',
    ],
    ['a message next to an empty error message', '{"error":{"message":""},"message":"outer"}', 'outer'],
    ['a detail next to an empty message', '{"message":"","detail":"from detail"}', 'from detail'],
    [
      'plain text',
      'upstream connect error or disconnect/reset before headers',
      'upstream connect error or disconnect/reset before headers',
    ],
    [
      'plain text with comparisons, not mistaken for HTML',
      'max_tokens must be <= 4096 and >= 1',
      'max_tokens must be <= 4096 and >= 1',
    ],
    ['a body that only looks like JSON', '{not json', '{not json'],
    ['a JSON array, a shape no server uses for errors', '[{"msg":"x"}]', '[{"msg":"x"}]'],
    ['a bare number', '503', '503'],
    // Nothing the client could use: the catalogue sentence and the status alone.
    ['an empty body', '', undefined],
    ['a blank body', ' \r\n\t ', undefined],
    ['an empty JSON string', '""', undefined],
    ['JSON with none of the known fields', '{"status":"error","ok":false}', undefined],
    ['an empty detail list', '{"detail":[]}', undefined],
    ['detail entries without a msg', '{"detail":[{"loc":["body"]},"x"]}', undefined],
    ['a body of control characters only', '\u0001\u0002', undefined],
  ];

  it.each(bodies)('reads %s', (_name, body, detail) => {
    expect(shown(body)).toBe(clientMessage('GW_UPSTREAM_BAD_REQUEST', 400, detail));
  });

  it('shows the title of an nginx error page', () => {
    const page =
      '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n' +
      '<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
    expect(shown(page, 502)).toBe(clientMessage('GW_UPSTREAM_UNAVAILABLE', 502, '502 Bad Gateway'));
  });

  it('decodes the entities of a title that has attributes', () => {
    const page =
      '<!DOCTYPE html><html><head><title id="t">Error &amp; outage &lt;eu-west&gt; &quot;asi1&quot; ' +
      '&apos;mini&apos; &#39;v2&#39; a&nbsp;b</title></head><body>ignored</body></html>';
    expect(shown(page, 503)).toBe(
      clientMessage('GW_UPSTREAM_UNAVAILABLE', 503, `Error & outage <eu-west> "asi1" 'mini' 'v2' a b`),
    );
  });

  it('shows the text of a page without a title, without its scripts and styles', () => {
    const page =
      '<html><body><style type="text/css">body { color: red }</style><h1>Service down</h1>Try' +
      '<script>window.location = "/status"</script>later</body></html>';
    expect(shown(page, 503)).toBe(clientMessage('GW_UPSTREAM_UNAVAILABLE', 503, 'Service down Try later'));
  });

  it('shows the text of a page whose title is blank', () => {
    const page = '<html><head><title> </title></head><body>Gateway Timeout</body></html>';
    expect(shown(page, 504)).toBe(clientMessage('GW_UPSTREAM_UNAVAILABLE', 504, 'Gateway Timeout'));
  });

  it('adds nothing for an empty HTML page', () => {
    expect(shown('<html><body></body></html>', 502)).toBe(clientMessage('GW_UPSTREAM_UNAVAILABLE', 502));
  });

  it('extractUpstreamMessage returns the words unsanitised, or undefined when there are none', () => {
    expect(extractUpstreamMessage('{"error":{"message":"Bearer abc"}}')).toBe('Bearer abc');
    expect(extractUpstreamMessage('')).toBeUndefined();
    expect(extractUpstreamMessage('  \n')).toBeUndefined();
    expect(extractUpstreamMessage('""')).toBeUndefined();
    expect(extractUpstreamMessage('{"detail":[]}')).toBeUndefined();
    expect(extractUpstreamMessage('{"error":"","message":"","detail":""}')).toBeUndefined();
  });

  it('keeps the sanitised body (up to 2000 characters) and the status in cause, for the logs', () => {
    const key = 'Zq7Rt9Lm2Xw4Pv8Nk3Jh';
    const body = `{"message":"Invalid API key ${key}"}`;
    const error = createUpstreamHttpError(401, body, {}, [key]);
    expect(error.message).toBe(clientMessage('GW_UPSTREAM_AUTH', 401, 'Invalid API key [redacted]'));
    expect(error.cause).toEqual({ upstreamStatus: 401, body: '{"message":"Invalid API key [redacted]"}' });

    const long = createUpstreamHttpError(500, 'word '.repeat(1000), {});
    const cause = long.cause as { body: string };
    expect(cause.body).toHaveLength(2000);
    expect(cause.body.endsWith('…')).toBe(true);
    expect(long.message.length).toBeLessThan(400);
  });
});

describe('Retry-After', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');

  it('reads delta-seconds, trimmed, fractions rounded up to the millisecond', () => {
    expect(parseRetryAfter({ 'retry-after': '120' })).toBe(120_000);
    expect(parseRetryAfter({ 'retry-after': ' 3 ' })).toBe(3000);
    expect(parseRetryAfter({ 'retry-after': '0' })).toBe(0);
    expect(parseRetryAfter({ 'retry-after': '0.5' })).toBe(500);
    expect(parseRetryAfter({ 'retry-after': '1.25' })).toBe(1250);
    expect(parseRetryAfter({ 'retry-after': '0.0004' })).toBe(1);
  });

  it('reads an HTTP date as the time left from now; a past date is 0', () => {
    expect(parseRetryAfter({ 'retry-after': 'Wed, 21 Oct 2015 07:28:30 GMT' }, now)).toBe(30_000);
    expect(parseRetryAfter({ 'retry-after': 'Wed, 21 Oct 2015 07:27:00 GMT' }, now)).toBe(0);
  });

  it('prefers retry-after-ms (trimmed, rounded up) and falls back to Retry-After when it is not a number', () => {
    expect(parseRetryAfter({ 'retry-after-ms': ' 1500 ', 'retry-after': '9' })).toBe(1500);
    expect(parseRetryAfter({ 'retry-after-ms': '1.25' })).toBe(2);
    expect(parseRetryAfter({ 'retry-after-ms': 'soon', 'retry-after': '2' })).toBe(2000);
    expect(parseRetryAfter({ 'retry-after-ms': '-100' })).toBeUndefined();
    expect(parseRetryAfter({ 'retry-after-ms': '1e3' })).toBeUndefined();
  });

  it('uses the first of repeated headers', () => {
    expect(parseRetryAfter({ 'retry-after': ['7', '9'] })).toBe(7000);
  });

  it('ignores what is neither delta-seconds nor a date', () => {
    for (const value of ['soon', '1e3', '5 seconds', '30s', '', '  ']) {
      expect(parseRetryAfter({ 'retry-after': value }, now), JSON.stringify(value)).toBeUndefined();
    }
    expect(parseRetryAfter({})).toBeUndefined();
  });

  it('puts the wait on the error a 429 or 503 becomes', () => {
    const limited = createUpstreamHttpError(429, '{"error":{"message":"slow down"}}', { 'retry-after': '2' });
    expect(limited).toMatchObject({
      code: 'GW_UPSTREAM_RATE_LIMITED',
      retryable: true,
      status: 429,
      retryAfterMs: 2000,
    });
    expect(limited.message).toBe(clientMessage('GW_UPSTREAM_RATE_LIMITED', 429, 'slow down'));
    expect(createUpstreamHttpError(503, '', { 'retry-after-ms': '250' }).retryAfterMs).toBe(250);
    expect(createUpstreamHttpError(503, '', {}).retryAfterMs).toBeUndefined();
  });
});
