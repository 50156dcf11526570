// What sanitizeUpstreamText (src/upstream/http-errors.ts) lets through to a client from an upstream error: never a
// configured secret or a fragment of one, a bearer token, a `key=…` value, an `sk-…`-style key, a JWT or a long
// key-like run; no control characters; whitespace collapsed; at most MAX_UPSTREAM_MESSAGE_CHARS.
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../../src/errors.js';
import {
  createUpstreamHttpError,
  MAX_UPSTREAM_MESSAGE_CHARS,
  sanitizeUpstreamText,
} from '../../src/upstream/http-errors.js';

/** A configured key that none of the shape rules would catch on its own (20 characters, no prefix). */
const KEY = 'Zq7Rt9Lm2Xw4Pv8Nk3Jh';

describe('sanitizeUpstreamText: credentials', () => {
  it('redacts a bearer token however it is spaced or cased', () => {
    expect(sanitizeUpstreamText('sent Authorization: Bearer opensesame, refused')).toBe(
      'sent Authorization: Bearer [redacted], refused',
    );
    expect(sanitizeUpstreamText('header bearer  opensesame;')).toBe('header Bearer [redacted];');
  });

  it.each([
    ['api_key=hunter2 rejected', 'api_key=[redacted] rejected'],
    ['apikey=hunter2', 'apikey=[redacted]'],
    ['API-KEY: hunter2', 'API-KEY: [redacted]'],
    ['access_token=hunter2&x=1', 'access_token=[redacted]&x=1'],
    ['accesstoken=hunter2', 'accesstoken=[redacted]'],
    ['access-token = hunter2', 'access-token = [redacted]'],
    ['{"token": "hunter2"}', '{"token": "[redacted]"}'],
    ["secret:'hunter2'", "secret:'[redacted]'"],
    ['{"password":"hunter2","user":"bob"}', '{"password":"[redacted]","user":"bob"}'],
    ['password = hunter2; retry', 'password = [redacted]; retry'],
  ])('redacts the value of %j', (text, safe) => {
    expect(sanitizeUpstreamText(text)).toBe(safe);
  });

  it('redacts sk-/pk-/rk- style keys in any case, but not words that merely contain "sk-"', () => {
    expect(sanitizeUpstreamText('key sk-abc123def456 rejected')).toBe('key [redacted] rejected');
    expect(sanitizeUpstreamText('pk_test_abcdef and RK-live-123456')).toBe('[redacted] and [redacted]');
    expect(sanitizeUpstreamText('task-manager sk-12345 risk-averse')).toBe('task-manager sk-12345 risk-averse');
  });

  it('redacts a JWT whole, all three segments', () => {
    expect(sanitizeUpstreamText('jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl expired')).toBe(
      'jwt [redacted] expired',
    );
  });

  it('redacts long hex runs, even without digits', () => {
    expect(sanitizeUpstreamText('trace deadbeefdeadbeefdeadbeefdeadbeef step 2')).toBe('trace [redacted] step 2');
    expect(sanitizeUpstreamText('id 12345678901234567890123456789012 x')).toBe('id [redacted] x');
  });

  it('redacts long runs that mix letters and digits (base64 keys, with or without padding)', () => {
    expect(
      sanitizeUpstreamText('key AbC1+dEf2/GhI3+jKl4/MnO5+pQr6/StU7== and AbC1dEf2GhI3jKl4MnO5pQr6StU7vWx8yZ9 end'),
    ).toBe('key [redacted] and [redacted] end');
  });

  it('keeps long words and long digit groups, which are no keys', () => {
    const text = 'Pneumonoultramicroscopicsilicovolcanoconiosis order 1234-5678-9012-3456-7890-1234-5678';
    expect(sanitizeUpstreamText(text)).toBe(text);
  });

  it('removes a configured secret in any case, and any 12-character fragment of it', () => {
    expect(sanitizeUpstreamText(`bad key ${KEY.toLowerCase()}!`, [KEY])).toBe('bad key [redacted]!');
    expect(sanitizeUpstreamText(`prefix ${KEY.slice(4, 16)} seen`, [KEY])).toBe('prefix [redacted] seen');
    expect(sanitizeUpstreamText(`short ${KEY.slice(0, 11)} kept`, [KEY])).toBe(`short ${KEY.slice(0, 11)} kept`);
  });

  it('never shows the key in the error a client gets, nor in its cause', () => {
    const body = `{"error":{"message":"Incorrect API key provided: ${KEY.toUpperCase()}"}}`;
    const error = createUpstreamHttpError(401, body, {}, [KEY]);
    expect(error.message).toBe(
      `${ERROR_CATALOGUE.GW_UPSTREAM_AUTH.message} (upstream 401: Incorrect API key provided: [redacted])`,
    );
    expect(JSON.stringify(error.cause).toLowerCase()).not.toContain(KEY.slice(0, 12).toLowerCase());
  });
});

describe('sanitizeUpstreamText: shape', () => {
  it('turns control characters into spaces and collapses whitespace', () => {
    expect(sanitizeUpstreamText('  line one\r\n\tline\u0000two\u0007 \u007f end  ')).toBe('line one line two end');
    expect(sanitizeUpstreamText('a\u001bb')).toBe('a b');
  });

  it(`keeps a message of exactly ${MAX_UPSTREAM_MESSAGE_CHARS} characters and cuts a longer one with an ellipsis`, () => {
    const exact = 'x'.repeat(MAX_UPSTREAM_MESSAGE_CHARS);
    expect(sanitizeUpstreamText(exact)).toBe(exact);
    const cut = sanitizeUpstreamText(`${exact}y`);
    expect(cut).toBe(`${'x'.repeat(MAX_UPSTREAM_MESSAGE_CHARS - 1)}…`);
    expect(cut).toHaveLength(MAX_UPSTREAM_MESSAGE_CHARS);
    expect(sanitizeUpstreamText('0123456789abc', [], 10)).toBe('012345678…');
  });

  it('reads only the first max(4 × maxChars, 4000) characters of a huge body', () => {
    const blank = (n: number): string => ' '.repeat(n);
    expect(sanitizeUpstreamText(`${blank(3000)}tail`)).toBe('tail');
    expect(sanitizeUpstreamText(`${blank(5000)}tail`)).toBe('');
    expect(sanitizeUpstreamText(`${blank(6000)}tail`, [], 2000)).toBe('tail');
    expect(sanitizeUpstreamText(`${blank(9000)}tail`, [], 2000)).toBe('');
  });
});
