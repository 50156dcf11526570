// The two other ways an upstream failure reaches a client (src/upstream/http-errors.ts): an error delivered inside
// a 200 stream (readStreamError) and a transport failure before any usable response (classifyTransportError), each
// with the GW_* code, retryable flag, status and client-safe message it becomes.
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, type ErrorCode } from '../../src/errors.js';
import { classifyTransportError, errorCodeOf, readStreamError } from '../../src/upstream/http-errors.js';

const clientMessage = (code: ErrorCode, status: number, detail?: string): string =>
  `${ERROR_CATALOGUE[code].message} (upstream ${status}${detail === undefined ? '' : `: ${detail}`})`;

describe('readStreamError: an error inside a 200 stream', () => {
  const errors: [string, unknown, string | undefined, ErrorCode, number, string | undefined][] = [
    [
      'an error object with a numeric code',
      { error: { message: 'Rate limit exceeded', type: 'rate_limit_error', code: 429 } },
      undefined,
      'GW_UPSTREAM_RATE_LIMITED',
      429,
      'Rate limit exceeded',
    ],
    [
      'an error string',
      { error: 'Internal server error' },
      undefined,
      'GW_UPSTREAM_UNAVAILABLE',
      500,
      'Internal server error',
    ],
    [
      "vLLM/SGLang's object: error",
      {
        object: 'error',
        message: "This model's maximum context length is 8192 tokens",
        type: 'BadRequestError',
        code: 400,
      },
      undefined,
      'GW_UPSTREAM_BAD_REQUEST',
      400,
      "This model's maximum context length is 8192 tokens",
    ],
    [
      'an `event: error` frame with a bare message',
      { message: 'overloaded' },
      'error',
      'GW_UPSTREAM_UNAVAILABLE',
      500,
      'overloaded',
    ],
    ['an `event: error` frame with nothing in it', {}, 'error', 'GW_UPSTREAM_UNAVAILABLE', 500, undefined],
    [
      'a status on the chunk, not on the error',
      { error: { message: 'busy' }, status: 503 },
      undefined,
      'GW_UPSTREAM_UNAVAILABLE',
      503,
      'busy',
    ],
    [
      'a code on the chunk',
      { error: { message: 'no such model' }, code: 404 },
      undefined,
      'GW_UPSTREAM_BAD_REQUEST',
      404,
      'no such model',
    ],
    [
      'the error code before its status',
      { error: { message: 'x', code: 429, status: 500 } },
      undefined,
      'GW_UPSTREAM_RATE_LIMITED',
      429,
      'x',
    ],
    [
      'a rate-limit type without a numeric code',
      { error: { message: 'Slow down', type: 'rate_limit', code: 'rate_limit_exceeded' } },
      undefined,
      'GW_UPSTREAM_RATE_LIMITED',
      429,
      'Slow down',
    ],
    [
      'a RateLimitError type',
      { error: { message: 'Slow down', type: 'RateLimitError' } },
      undefined,
      'GW_UPSTREAM_RATE_LIMITED',
      429,
      'Slow down',
    ],
    [
      'a type that is not about rate limits',
      { error: { message: 'boom', type: 'server_error' } },
      undefined,
      'GW_UPSTREAM_UNAVAILABLE',
      500,
      'boom',
    ],
    [
      'a string code, which is no status',
      { error: { message: 'bad', code: '400' } },
      undefined,
      'GW_UPSTREAM_UNAVAILABLE',
      500,
      'bad',
    ],
    [
      'a JSON-RPC code, which is no status',
      { error: { message: 'server error', code: -32000 } },
      undefined,
      'GW_UPSTREAM_UNAVAILABLE',
      500,
      'server error',
    ],
    [
      'code 99, below the status range',
      { error: { message: 'x', code: 99 } },
      undefined,
      'GW_UPSTREAM_UNAVAILABLE',
      500,
      'x',
    ],
    [
      'code 100, the lowest status',
      { error: { message: 'x', code: 100 } },
      undefined,
      'GW_UPSTREAM_PROTOCOL',
      100,
      'x',
    ],
    [
      'code 599, the highest status',
      { error: { message: 'x', code: 599 } },
      undefined,
      'GW_UPSTREAM_UNAVAILABLE',
      599,
      'x',
    ],
    [
      'code 600, past the range: the next candidate counts',
      { error: { message: 'x', code: 600, status: 503 } },
      undefined,
      'GW_UPSTREAM_UNAVAILABLE',
      503,
      'x',
    ],
  ];

  it.each(errors)('reads %s', (_name, chunk, eventName, code, status, detail) => {
    const error = readStreamError(chunk, eventName);
    expect(error).toMatchObject({
      code,
      status,
      retryable: ERROR_CATALOGUE[code].retryable,
      retryAfterMs: undefined,
      message: clientMessage(code, status, detail),
    });
    expect(error?.cause).toEqual({ upstreamStatus: status, inStream: true, message: detail });
  });

  it('redacts a key in the message and in the cause', () => {
    const key = 'Zq7Rt9Lm2Xw4Pv8Nk3Jh';
    const error = readStreamError({ error: { message: `bad key ${key}`, code: 401 } }, undefined, [key]);
    expect(error?.message).toBe(clientMessage('GW_UPSTREAM_AUTH', 401, 'bad key [redacted]'));
    expect(error?.cause).toEqual({ upstreamStatus: 401, inStream: true, message: 'bad key [redacted]' });
  });

  it('is undefined for every ordinary chunk of both wire generations', () => {
    const chunks: unknown[] = [
      { choices: [{ index: 0, delta: { content: 'Hello' } }] },
      { id: 'x', choices: [{ delta: { role: 'assistant', content: '' } }], thought: 'The user asked' },
      { choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } },
      { id: 'x', usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } },
      { choices: [{ delta: { content: 'hi' } }], error: { message: 'a chunk with choices is a chunk' } },
      { error: null, choices: [{ delta: {} }] },
      { object: 'chat.completion.chunk', choices: [] },
      null,
      'data',
      [{ error: 'x' }],
    ];
    for (const chunk of chunks) expect(readStreamError(chunk, undefined), JSON.stringify(chunk)).toBeUndefined();
  });
});

describe('classifyTransportError: a failure before a usable response', () => {
  const withCode = (code: unknown, message = 'failed'): Error => Object.assign(new Error(message), { code });

  it.each([
    'ECONNREFUSED',
    'ECONNRESET',
    'ECONNABORTED',
    'EPIPE',
    'ETIMEDOUT',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'ENETDOWN',
    'ENOTFOUND',
    'EAI_AGAIN',
    'UND_ERR_SOCKET',
    'UND_ERR_CONNECT_TIMEOUT',
  ])('%s: could not connect, retryable', (code) => {
    const err = withCode(code);
    const error = classifyTransportError(err);
    expect(error).toMatchObject({ code: 'GW_UPSTREAM_CONNECT', retryable: true, status: undefined });
    expect(error.message).toBe(ERROR_CATALOGUE.GW_UPSTREAM_CONNECT.message);
    expect(error.cause).toBe(err);
  });

  it.each([
    ['UND_ERR_HEADERS_TIMEOUT', 'GW_UPSTREAM_TIMEOUT', true],
    ['UND_ERR_BODY_TIMEOUT', 'GW_UPSTREAM_STALLED', true],
    ['UND_ERR_CLOSED', 'GW_UPSTREAM_CONNECT', false],
    ['UND_ERR_DESTROYED', 'GW_UPSTREAM_CONNECT', false],
    ['HPE_INVALID_CONSTANT', 'GW_UPSTREAM_PROTOCOL', true],
    ['HPE_HEADER_OVERFLOW', 'GW_UPSTREAM_PROTOCOL', true],
    ['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'GW_UPSTREAM_PROTOCOL', true],
    ['UND_ERR_RES_EXCEEDED_MAX_SIZE', 'GW_UPSTREAM_PROTOCOL', true],
    ['UND_ERR_INFO', 'GW_UPSTREAM_PROTOCOL', true],
    ['ERR_INVALID_URL', 'GW_INTERNAL', true],
    ['UND_ERR_ABORTED', 'GW_INTERNAL', true],
  ] as const)('%s becomes %s (retryable: %s), the original error only its cause', (code, gwCode, retryable) => {
    const err = withCode(code, `secret detail ${code}`);
    const error = classifyTransportError(err);
    expect(error).toMatchObject({ code: gwCode, retryable });
    expect(error.message).toBe(ERROR_CATALOGUE[gwCode].message);
    expect(error.cause).toBe(err);
  });

  it('finds the code of the first attempt of a happy-eyeballs AggregateError', () => {
    const err = new AggregateError([withCode('ECONNREFUSED'), withCode('ENETUNREACH')], 'all attempts failed');
    expect(classifyTransportError(err).code).toBe('GW_UPSTREAM_CONNECT');
    expect(errorCodeOf(err)).toBe('ECONNREFUSED');
  });

  it("finds undici's code under `cause` (fetch failed → ENOTFOUND), up to three levels down", () => {
    const nest = (depth: number): Error => {
      let err: Error = withCode('ENOTFOUND');
      for (let i = 0; i < depth; i += 1) err = new Error(`level ${i}`, { cause: err });
      return err;
    };
    expect(errorCodeOf(nest(1))).toBe('ENOTFOUND');
    expect(classifyTransportError(nest(3)).code).toBe('GW_UPSTREAM_CONNECT');
    expect(errorCodeOf(nest(4))).toBeUndefined();
    expect(classifyTransportError(nest(4)).code).toBe('GW_INTERNAL');
  });

  it('looks at most three AggregateErrors deep', () => {
    let deep: Error = withCode('ECONNRESET');
    for (let i = 0; i < 4; i += 1) deep = new AggregateError([deep]);
    expect(errorCodeOf(deep)).toBeUndefined();
    let shallow: Error = withCode('ECONNRESET');
    for (let i = 0; i < 3; i += 1) shallow = new AggregateError([shallow]);
    expect(errorCodeOf(shallow)).toBe('ECONNRESET');
  });

  it('stops on a cause that refers to itself', () => {
    const err = new Error('loop') as Error & { cause?: unknown };
    err.cause = err;
    expect(classifyTransportError(err).code).toBe('GW_INTERNAL');
  });

  it('skips a non-string code and keeps looking under cause', () => {
    const err = Object.assign(new Error('http'), { code: 500, cause: withCode('ECONNRESET') });
    expect(errorCodeOf(err)).toBe('ECONNRESET');
    expect(classifyTransportError(err).code).toBe('GW_UPSTREAM_CONNECT');
  });

  it('is GW_INTERNAL, retryable, for anything without a code, thrown values that are no errors included', () => {
    for (const thrown of [new Error('boom'), null, undefined, 'ECONNRESET', 42, { message: 'x' }]) {
      const error = classifyTransportError(thrown);
      expect(error, String(thrown)).toMatchObject({ code: 'GW_INTERNAL', retryable: true });
      expect(error.message).toBe(ERROR_CATALOGUE.GW_INTERNAL.message);
      expect(error.cause).toBe(thrown);
    }
  });
});
