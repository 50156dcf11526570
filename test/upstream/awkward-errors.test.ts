// Upstream error statuses, retries, resets and the API key, end to end, and the request the gateway sends upstream.
import { describe, expect, it } from 'vitest';
import { sequence, type Script } from '../awkward-upstream-server.js';
import { VoiceClient } from '../helpers.js';
import { answers, clients, good, GOOD_REPLY, json, KEY, rig, turn, useAwkwardRig } from './awkward-rig.js';

useAwkwardRig();

// ---- Error statuses, retries and the API key ----------------------------------------------------------------

describe('error statuses', () => {
  it.each([
    {
      status: 400,
      body: '{"error":{"message":"bad"}}',
      code: 'GW_UPSTREAM_BAD_REQUEST',
      retryable: false,
      says: 'bad',
    },
    {
      status: 401,
      body: '{"message":"failed to authenticate user"}',
      code: 'GW_UPSTREAM_AUTH',
      retryable: false,
      says: 'failed to authenticate user',
    },
    { status: 403, body: '{"error":"forbidden"}', code: 'GW_UPSTREAM_AUTH', retryable: false, says: 'forbidden' },
    {
      status: 404,
      body: '{"detail":"Not Found"}',
      code: 'GW_UPSTREAM_BAD_REQUEST',
      retryable: false,
      says: 'Not Found',
    },
    {
      status: 422,
      body: '{"detail":[{"loc":["body","messages"],"msg":"field required","type":"value_error.missing"}]}',
      code: 'GW_UPSTREAM_BAD_REQUEST',
      retryable: false,
      says: 'field required',
    },
  ])('fails a $status at once with $code and no retry', async ({ status, body, code, retryable, says }) => {
    const { client, upstream } = await rig(answers(status, body));
    const done = await turn(client);
    expect(done).toMatchObject({ status: 'failed', text: '', error: { code, retryable } });
    expect(done.error?.message).toContain(says);
    expect(upstream.requests).toHaveLength(1);
    // A failed response is reported in response.done, not as a separate error event.
    expect(client.events.filter((e) => e.type === 'error')).toEqual([]);
  });

  it('retries a 429 with `Retry-After: 0` and then completes (2 requests)', async () => {
    const script = sequence(
      answers(429, '{"error":{"message":"rate limited"}}', { 'content-type': 'application/json', 'retry-after': '0' }),
      good,
    );
    const { client, upstream } = await rig(script);
    expect(await turn(client)).toMatchObject({ status: 'completed', text: GOOD_REPLY });
    expect(upstream.requests).toHaveLength(2);
  });

  it('retries a 429 whose Retry-After is an HTTP-date in the past, then completes', async () => {
    const script = sequence(
      answers(429, '{"message":"slow down"}', {
        'content-type': 'application/json',
        'retry-after': new Date(0).toUTCString(),
      }),
      good,
    );
    const { client, upstream } = await rig(script);
    expect(await turn(client)).toMatchObject({ status: 'completed', text: GOOD_REPLY });
    expect(upstream.requests).toHaveLength(2);
  });

  it('fails a 429 at once with GW_UPSTREAM_RATE_LIMITED (retryable) when Retry-After is too long to wait', async () => {
    const { client, upstream } = await rig(
      answers(429, '{"error":{"message":"rate limited"}}', {
        'content-type': 'application/json',
        'retry-after': '120',
      }),
    );
    const done = await turn(client);
    expect(done).toMatchObject({
      status: 'failed',
      text: '',
      error: { code: 'GW_UPSTREAM_RATE_LIMITED', retryable: true },
    });
    expect(upstream.requests).toHaveLength(1);
  });

  it('fails a persistent 500 with an HTML body as GW_UPSTREAM_UNAVAILABLE after the retries, without HTML in the message', async () => {
    const html =
      '<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head><body><h1>Oops</h1><script>x()</script></body></html>';
    const { client, upstream } = await rig(answers(500, html, { 'content-type': 'text/html' }), {
      UPSTREAM_MAX_RETRIES: '2',
    });
    const done = await turn(client);
    expect(done).toMatchObject({
      status: 'failed',
      text: '',
      error: { code: 'GW_UPSTREAM_UNAVAILABLE', retryable: true },
    });
    expect(done.error?.message).toContain('500 Internal Server Error');
    expect(done.error?.message).not.toMatch(/[<>]/);
    expect(upstream.requests).toHaveLength(3);
  });

  it('fails three 503s with GW_UPSTREAM_UNAVAILABLE (retryable) after maxRetries=2, i.e. 3 requests', async () => {
    const { client, upstream } = await rig(answers(503, '{"error":{"message":"overloaded"}}'), {
      UPSTREAM_MAX_RETRIES: '2',
    });
    const done = await turn(client);
    expect(done).toMatchObject({
      status: 'failed',
      text: '',
      error: { code: 'GW_UPSTREAM_UNAVAILABLE', retryable: true },
    });
    expect(upstream.requests).toHaveLength(3);
  });

  it('recovers when 503 is followed by a 500 HTML page and then a good stream (3 requests)', async () => {
    const script = sequence(
      answers(503, ''),
      answers(500, '<html><body>Bad gateway</body></html>', { 'content-type': 'text/html' }),
      good,
    );
    const { client, upstream } = await rig(script, { UPSTREAM_MAX_RETRIES: '2' });
    expect(await turn(client)).toMatchObject({ status: 'completed', text: GOOD_REPLY });
    expect(upstream.requests).toHaveLength(3);
  });

  /** An upstream that echoes the Authorization header (and the bare key) back in its error body. */
  const echoes =
    (status: number, shape: 'error' | 'message' | 'html' | 'text'): Script =>
    (req, res) => {
      const auth = String(req.headers.authorization);
      const bare = auth.replace(/^Bearer /, '');
      const body = {
        error: json({ error: { message: `invalid credentials: ${auth} (key ${bare})` } }),
        message: json({ message: `failed to authenticate user with ${bare}; header was "${auth}"` }),
        html: `<html><head><title>Denied ${bare}</title></head><body>${auth}</body></html>`,
        text: `key=${bare} authorization: ${auth} raw${bare}raw`,
      }[shape];
      res
        .writeHead(status, {
          'content-type': shape === 'html' ? 'text/html' : shape === 'text' ? 'text/plain' : 'application/json',
        })
        .end(body);
    };

  it.each([
    { status: 400, shape: 'error' as const },
    { status: 401, shape: 'message' as const },
    { status: 403, shape: 'text' as const },
    { status: 422, shape: 'error' as const },
    { status: 429, shape: 'message' as const },
    { status: 500, shape: 'html' as const },
    { status: 503, shape: 'text' as const },
  ])('never puts the API key into response.done when a $status $shape body echoes it', async ({ status, shape }) => {
    const { client, upstream } = await rig(echoes(status, shape));
    const done = await turn(client);
    expect(done.status).toBe('failed');
    expect(done.error?.code).toMatch(/^GW_UPSTREAM_/);
    // The upstream really did receive (and echo) the key.
    expect(upstream.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`);
    const wire = JSON.stringify(client.events);
    expect(wire).not.toContain(KEY);
    expect(wire).not.toContain('a'.repeat(16));
  });
});

// ---- What the gateway sends upstream -------------------------------------------------------------------------

describe('the request the gateway sends', () => {
  it('carries the bearer key, one x-session-id per session, JSON content-type, stream:true, the model and a system message first', async () => {
    const { client, upstream, gateway } = await rig(good);
    await turn(client, 'One');
    await turn(client, 'Two');
    const other = await VoiceClient.connect(gateway.voiceUrl);
    clients.push(other);
    await turn(other, 'Three');
    expect(upstream.requests).toHaveLength(3);
    for (const req of upstream.requests) {
      expect(req.method).toBe('POST');
      expect(req.url).toBe('/v1/chat/completions');
      expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
      expect(req.headers['content-type']).toMatch(/^application\/json\b/);
      expect(req.headers['x-session-id']).toMatch(/\S/);
      expect(req.body).toMatchObject({ stream: true, model: 'asi1-mini' });
      const messages = req.body?.messages as { role: string; content: string }[];
      expect(messages[0]).toEqual({ role: 'system', content: gateway.config.systemPrompt });
      expect(messages.at(-1)?.role).toBe('user');
    }
    const [r1, r2, r3] = upstream.requests;
    expect(r1?.headers['x-session-id']).toBe(r2?.headers['x-session-id']);
    expect(r3?.headers['x-session-id']).not.toBe(r1?.headers['x-session-id']);
    expect((r2?.body?.messages as unknown[]).slice(1)).toEqual([
      { role: 'user', content: 'One' },
      { role: 'assistant', content: GOOD_REPLY },
      { role: 'user', content: 'Two' },
    ]);
  });

  it('sends no authorization header when no key is configured', async () => {
    // An empty variable counts as unset: the gateway runs without a key.
    const { upstream, client } = await rig(good, { ASI_ONE_API_KEY: '' });
    expect(await turn(client)).toMatchObject({ status: 'completed', text: GOOD_REPLY });
    expect(upstream.requests[0]?.headers.authorization).toBeUndefined();
    expect(upstream.requests[0]?.headers['x-session-id']).toMatch(/\S/);
  });
});
