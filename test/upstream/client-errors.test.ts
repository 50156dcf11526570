// The chat client end to end: upstream errors mapped to typed GW_* errors, what is retried (and what never is,
// once text was forwarded), and the key never shown, whatever the upstream echoes.
import { inspect } from 'node:util';
import { parseRetryAfter, sanitizeUpstreamText } from '../../src/upstream/http-errors.js';
import type { ChatEvent } from '../../src/upstream/types.js';
import { describe, expect, it } from 'vitest';
import {
  chatRequest,
  deferred,
  gen2,
  holdOpen,
  KEY,
  makeClient,
  okStream,
  rejection,
  sendJson,
  sendStream,
  sse,
  startServer,
  texts,
  useClientRig,
} from './client-rig.js';

useClientRig();

describe('chat client', { timeout: 3000 }, () => {
  it('maps the real ASI 401 body to GW_UPSTREAM_AUTH and does not retry it', async () => {
    const server = await startServer(({ res }) => sendJson(res, 401, { message: 'failed to authenticate user' }));
    const err = await rejection(makeClient(server).stream(chatRequest(), () => {}));
    expect(err.code).toBe('GW_UPSTREAM_AUTH');
    expect(err.status).toBe(401);
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('failed to authenticate user');
    expect(server.requests).toHaveLength(1);
  });

  it('maps {"error":{"message"}} 422 to GW_UPSTREAM_BAD_REQUEST', async () => {
    const server = await startServer(({ res }) =>
      sendJson(res, 422, { error: { message: 'messages: field required' } }),
    );
    const err = await rejection(makeClient(server).stream(chatRequest(), () => {}));
    expect(err.code).toBe('GW_UPSTREAM_BAD_REQUEST');
    expect(err.message).toContain('messages: field required');
    expect(server.requests).toHaveLength(1);
  });

  it('retries a 429 with Retry-After: 0 and then succeeds', async () => {
    const server = await startServer(({ res, n }) =>
      n === 0
        ? sendJson(res, 429, { error: { message: 'slow down' } }, { 'retry-after': '0' })
        : sendStream(res, okStream(['after 429'])),
    );
    const events: ChatEvent[] = [];
    const outcome = await makeClient(server).stream(chatRequest(), (e) => events.push(e));
    expect(outcome.attempts).toBe(2);
    expect(texts(events)).toEqual(['after 429']);
    expect(server.requests).toHaveLength(2);
  });

  it('does not wait out a Retry-After longer than retryMaxDelayMs', async () => {
    const server = await startServer(({ res }) => sendJson(res, 429, { message: 'quota' }, { 'retry-after': '60' }));
    const err = await rejection(makeClient(server).stream(chatRequest(), () => {}));
    expect(err.code).toBe('GW_UPSTREAM_RATE_LIMITED');
    expect(err.retryAfterMs).toBe(60_000);
    expect(err.retryable).toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  it('retries 503 twice and succeeds on the third attempt', async () => {
    const server = await startServer(({ res, n }) =>
      n < 2 ? sendJson(res, 503, { error: { message: 'overloaded' } }) : sendStream(res, okStream(['third'])),
    );
    const outcome = await makeClient(server).stream(chatRequest(), () => {});
    expect(outcome.attempts).toBe(3);
    expect(server.requests).toHaveLength(3);
  });

  it('fails with GW_UPSTREAM_UNAVAILABLE after maxRetries 500s', async () => {
    const server = await startServer(({ res }) => sendJson(res, 500, { error: { message: 'boom' } }));
    const err = await rejection(makeClient(server, { maxRetries: 2 }).stream(chatRequest(), () => {}));
    expect(err.code).toBe('GW_UPSTREAM_UNAVAILABLE');
    expect(err.status).toBe(500);
    expect(server.requests).toHaveLength(3);
  });

  it('does not retry once text was forwarded, even when the stream then drops', async () => {
    const gotText = deferred();
    const server = await startServer(async ({ res }) => {
      holdOpen(res, sse(gen2({ role: 'assistant', content: '' })) + sse(gen2({ content: 'Half an' })));
      await gotText.promise;
      res.socket?.destroy();
    });
    const events: ChatEvent[] = [];
    const err = await rejection(
      makeClient(server).stream(chatRequest(), (e) => {
        events.push(e);
        if (e.type === 'text') gotText.resolve();
      }),
    );
    expect(err.code).toBe('GW_UPSTREAM_DROPPED');
    expect(texts(events)).toEqual(['Half an']);
    expect(server.requests).toHaveLength(1);
  });

  it('retries a drop when only reasoning had been forwarded', async () => {
    const gotReasoning = deferred();
    const server = await startServer(async ({ res, n }) => {
      if (n > 0) return sendStream(res, okStream(['second try']));
      holdOpen(res, sse({ ...gen2({ content: '' }), thought: 'hmm' }));
      await gotReasoning.promise;
      res.socket?.destroy();
    });
    const events: ChatEvent[] = [];
    const outcome = await makeClient(server).stream(chatRequest(), (e) => {
      events.push(e);
      if (e.type === 'reasoning') gotReasoning.resolve();
    });
    expect(outcome.attempts).toBe(2);
    expect(texts(events)).toEqual(['second try']);
  });

  it('accepts a clean end after a finish_reason without [DONE], and calls a clean end without either a drop', async () => {
    const server = await startServer(({ res, n }) =>
      sendStream(res, n === 0 ? sse(gen2({ content: 'done' })) + sse(gen2({}, 'stop')) : sse(gen2({ content: 'cut' }))),
    );
    const client = makeClient(server, { maxRetries: 0 });
    expect((await client.stream(chatRequest(), () => {})).finishReason).toBe('stop');
    expect((await rejection(client.stream(chatRequest(), () => {}))).code).toBe('GW_UPSTREAM_DROPPED');
  });

  it('skips a malformed data line, but a wholly unreadable stream is GW_UPSTREAM_PROTOCOL', async () => {
    const server = await startServer(({ res, n }) =>
      sendStream(
        res,
        n === 0 ? 'data: {not json\n\n' + okStream(['fine']) : 'data: {oops\n\ndata: <html>\n\ndata: [DONE]\n\n',
      ),
    );
    const client = makeClient(server, { maxRetries: 0 });
    const events: ChatEvent[] = [];
    await client.stream(chatRequest(), (e) => events.push(e));
    expect(texts(events)).toEqual(['fine']);
    expect((await rejection(client.stream(chatRequest(), () => {}))).code).toBe('GW_UPSTREAM_PROTOCOL');
  });

  it('maps an error chunk inside a 200 stream', async () => {
    const server = await startServer(({ res }) =>
      sendStream(res, sse({ object: 'error', message: 'context length exceeded', type: 'BadRequestError', code: 400 })),
    );
    const err = await rejection(makeClient(server).stream(chatRequest(), () => {}));
    expect(err.code).toBe('GW_UPSTREAM_BAD_REQUEST');
    expect(err.message).toContain('context length exceeded');
    expect(server.requests).toHaveLength(1);
  });

  it('reads an HTML 502 page into a short, tag-free message', async () => {
    const server = await startServer(({ res }) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end(
        '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>',
      );
    });
    const err = await rejection(makeClient(server, { maxRetries: 0 }).stream(chatRequest(), () => {}));
    expect(err.code).toBe('GW_UPSTREAM_UNAVAILABLE');
    expect(err.message).toContain('502 Bad Gateway');
    expect(err.message).not.toMatch(/[<>]/);
  });

  it('never puts the key in an error, even when the upstream echoes it', async () => {
    const customKey = 'my-upstream-secret-value-1234567';
    const server = await startServer(({ req, res }) =>
      sendJson(res, 401, {
        error: {
          message: `Invalid key ${req.headers.authorization ?? ''} (${KEY}); prefix ${KEY.slice(0, 20)}; custom ${customKey}`,
        },
      }),
    );
    for (const apiKey of [KEY, customKey]) {
      const client = makeClient(server, { apiKey });
      const err = await rejection(client.stream(chatRequest(), () => {}));
      expect(inspect(client, { depth: 4 })).not.toContain(apiKey);
      expect(err.code).toBe('GW_UPSTREAM_AUTH');
      const serialised = JSON.stringify({ message: err.message, cause: err.cause });
      expect(serialised).not.toContain(apiKey);
      expect(serialised).not.toContain(apiKey.slice(0, 12));
      expect(serialised).not.toContain(KEY.slice(3, 20));
      expect(err.message).toContain('Invalid key');
    }
  });
});

describe('upstream http errors', () => {
  it('parses Retry-After as seconds, as an HTTP-date, and retry-after-ms', () => {
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(parseRetryAfter({ 'retry-after': '2' })).toBe(2000);
    expect(parseRetryAfter({ 'retry-after': 'Wed, 21 Oct 2015 07:28:03 GMT' }, now)).toBe(3000);
    expect(parseRetryAfter({ 'retry-after': 'Wed, 21 Oct 2015 07:27:00 GMT' }, now)).toBe(0);
    expect(parseRetryAfter({ 'retry-after-ms': '150', 'retry-after': '9' })).toBe(150);
    expect(parseRetryAfter({ 'retry-after': 'soon' })).toBeUndefined();
    expect(parseRetryAfter({})).toBeUndefined();
  });

  it('tells a client to wait an hour at most, whatever the upstream asks (400 digits would be Infinity)', () => {
    const hour = 3_600_000;
    expect(parseRetryAfter({ 'retry-after-ms': '9'.repeat(400) })).toBe(hour);
    expect(parseRetryAfter({ 'retry-after': '86400' })).toBe(hour);
    expect(parseRetryAfter({ 'retry-after': 'Fri, 31 Dec 9999 23:59:59 GMT' })).toBe(hour);
    expect(parseRetryAfter({ 'retry-after': '3599' })).toBe(3_599_000);
  });

  it('sanitises keys, tokens and control characters and truncates', () => {
    const out = sanitizeUpstreamText(
      `bad Bearer abc.def token=xyz123 ${'f'.repeat(40)} eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig\u0000\n ${'long '.repeat(100)}`,
    );
    expect(out).not.toMatch(/abc\.def|xyz123|ffff|eyJ/);
    expect(out).not.toContain('\u0000');
    expect(out.length).toBeLessThanOrEqual(300);
    expect(out.endsWith('…')).toBe(true);
  });
});
