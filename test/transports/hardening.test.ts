// Production hardening: access control before the upgrade, connection and turn limits, heartbeats, idle
// timeouts, the slow reader, the upstream concurrency cap and circuit breaker, metrics and security headers.
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startStack, VoiceClient, type Stack } from '../helpers.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** Opens a WebSocket that the server is expected to refuse; resolves with the HTTP status and JSON body. */
function refused(
  url: string,
  options?: WebSocket.ClientOptions,
  protocols?: string[],
): Promise<{ status: number; body: { error: { code: string } } }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocols, options);
    socket.on('open', () => reject(new Error('the upgrade was accepted')));
    socket.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { error: { code: string } } }),
      );
    });
  });
}

async function metricsText(): Promise<string> {
  return (await fetch(`${stack?.httpUrl}/metrics`)).text();
}

describe('access control', () => {
  it('requires a gateway token: bearer header or subprotocol entry, never a URL', async () => {
    stack = await startStack({ env: { GATEWAY_TOKENS: 'secret-one,secret-two' } });
    expect(await refused(stack.voiceUrl)).toEqual({
      status: 401,
      body: { error: { code: 'GW_UNAUTHORIZED', message: expect.any(String) } },
    });
    expect((await refused(stack.voiceUrl, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await refused(`${stack.voiceUrl}?token=secret-one`)).status).toBe(401);
    const server = await VoiceClient.connect(stack.voiceUrl, { headers: { authorization: 'Bearer secret-one' } });
    await server.close();
    const browser = new WebSocket(stack.voiceUrl, ['asi1-voice.v1', 'bearer.secret-two']);
    await new Promise((resolve, reject) => browser.on('open', resolve).on('error', reject));
    expect(browser.protocol).toBe('asi1-voice.v1');
    browser.close();
    expect(await metricsText()).toMatch(/asi1_gateway_rejected_connections_total\{reason="missing_token"\} 2/);
    expect(await metricsText()).toMatch(/asi1_gateway_rejected_connections_total\{reason="bad_token"\} 1/);
  });

  it('tells front-ends whether a token is required, before they connect', async () => {
    stack = await startStack({ env: { GATEWAY_TOKENS: 'secret' } });
    expect(await (await fetch(`${stack.httpUrl}/v1/info`)).json()).toEqual({
      protocol: 1,
      minor: 4,
      tokenRequired: true,
      upstream: 'simulator',
    });
  });

  it('refuses browser origins that are not allowed, and allows its own', async () => {
    stack = await startStack({ env: { ALLOWED_ORIGINS: 'https://app.example' } });
    expect(await refused(stack.voiceUrl, { origin: 'https://evil.example' })).toMatchObject({
      status: 403,
      body: { error: { code: 'GW_ORIGIN_FORBIDDEN' } },
    });
    await (await VoiceClient.connect(stack.voiceUrl, { origin: 'https://app.example' })).close();
    await (await VoiceClient.connect(stack.voiceUrl, { origin: stack.httpUrl })).close();
  });

  it('serves the page with a Content Security Policy and security headers', async () => {
    stack = await startStack();
    const page = await fetch(`${stack.httpUrl}/`);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  });

  // helmet 8's headers with the gateway's options: all twelve on every response, as @fastify/helmet set them.
  const HELMET_HEADERS = [
    'content-security-policy',
    'cross-origin-opener-policy',
    'cross-origin-resource-policy',
    'origin-agent-cluster',
    'referrer-policy',
    'strict-transport-security',
    'x-content-type-options',
    'x-dns-prefetch-control',
    'x-download-options',
    'x-frame-options',
    'x-permitted-cross-domain-policies',
    'x-xss-protection',
  ];

  it("puts helmet's headers on every HTTP response: the page, a JSON route, a 404 and a refused upgrade", async () => {
    stack = await startStack({ env: { ALLOWED_ORIGINS: 'https://app.example' } });
    const refusal = await new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
      const socket = new WebSocket(stack!.voiceUrl, { origin: 'https://evil.example' });
      socket.on('open', () => reject(new Error('the upgrade was accepted')));
      socket.on('unexpected-response', (_req, res) => resolve(res.headers));
    });
    const responses = await Promise.all(
      ['/', '/healthz', '/no-such-page'].map(async (path) =>
        Object.fromEntries(await fetch(stack!.httpUrl + path).then((r) => r.headers)),
      ),
    );
    for (const headers of [...responses, refusal]) {
      expect(Object.keys(headers)).toEqual(expect.arrayContaining(HELMET_HEADERS));
      expect(headers).toMatchObject({
        'content-security-policy': expect.stringContaining("frame-ancestors 'none'"),
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'SAMEORIGIN',
        'strict-transport-security': expect.stringContaining('max-age='),
        'cross-origin-opener-policy': 'same-origin',
        'referrer-policy': 'no-referrer',
      });
    }
  });

  it('protects /metrics with METRICS_TOKEN when set', async () => {
    stack = await startStack({ env: { METRICS_TOKEN: 'm-token' } });
    expect((await fetch(`${stack.httpUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${stack.httpUrl}/metrics`, { headers: { authorization: 'Bearer m-token' } })).status).toBe(
      200,
    );
  });
});

describe('limits', () => {
  it('caps connections in total and per client address', async () => {
    stack = await startStack({ env: { MAX_CONNECTIONS: '2', MAX_CONNECTIONS_PER_IP: '2' } });
    const a = await VoiceClient.connect(stack.voiceUrl);
    const b = await VoiceClient.connect(stack.voiceUrl);
    expect(await refused(stack.voiceUrl)).toMatchObject({
      status: 503,
      body: { error: { code: 'GW_TOO_MANY_CONNECTIONS' } },
    });
    await a.close();
    await b.close();
    await stack.close();
    stack = await startStack({ env: { MAX_CONNECTIONS_PER_IP: '1' } });
    const c = await VoiceClient.connect(stack.voiceUrl);
    expect(await refused(stack.voiceUrl)).toMatchObject({
      status: 429,
      body: { error: { code: 'GW_TOO_MANY_CONNECTIONS' } },
    });
    await c.close();
  });

  it('limits turns per minute per session', async () => {
    stack = await startStack({ env: { TURNS_PER_MINUTE: '2' } });
    const client = await VoiceClient.connect(stack.voiceUrl);
    await client.turn('one');
    await client.turn('two');
    client.send({ type: 'turn', text: 'three', eventId: 't3' });
    expect(await client.waitForType('error')).toMatchObject({
      code: 'GW_RATE_LIMITED',
      retryable: true,
      eventId: 't3',
    });
    expect(stack.simulator.requests).toHaveLength(2);
    await client.close();
  });

  it('limits turns per minute per token across its sessions', async () => {
    stack = await startStack({ env: { GATEWAY_TOKENS: 'shared', TURNS_PER_MINUTE_PER_TOKEN: '3' } });
    const auth = { headers: { authorization: 'Bearer shared' } };
    const a = await VoiceClient.connect(stack.voiceUrl, auth);
    const b = await VoiceClient.connect(stack.voiceUrl, auth);
    await a.turn('one');
    await b.turn('two');
    await a.turn('three');
    b.send({ type: 'turn', text: 'four' });
    expect(await b.waitForType('error')).toMatchObject({ code: 'GW_RATE_LIMITED' });
    await a.close();
    await b.close();
  });

  it('closes an idle connection with 4000', async () => {
    stack = await startStack({ env: { IDLE_TIMEOUT_MS: '1000' } });
    const client = await VoiceClient.connect(stack.voiceUrl);
    expect((await client.closed).code).toBe(4000);
  });

  it('drops a peer that stops answering pings', async () => {
    stack = await startStack({ env: { HEARTBEAT_INTERVAL_MS: '100' } });
    const client = await VoiceClient.connect(stack.voiceUrl, { autoPong: false });
    await client.closed;
    expect(await metricsText()).toMatch(/asi1_gateway_rejected_connections_total\{reason="heartbeat_timeout"\} 1/);
    const healthy = await VoiceClient.connect(stack.voiceUrl);
    // A peer that answers pings survives several intervals: its ping round trips keep it alive.
    for (let i = 0; i < 5; i += 1) await new Promise((resolve) => healthy.socket.once('ping', resolve));
    expect(healthy.socket.readyState).toBe(WebSocket.OPEN);
    await healthy.close();
  });

  it('interrupts and disconnects a client that stops reading, keeping memory bounded', async () => {
    stack = await startStack({
      env: { SEND_BUFFER_SOFT_BYTES: '4096', SEND_BUFFER_HARD_BYTES: '262144', MAX_OUTPUT_TOKENS: '32768' },
    });
    // 32,768 tokens (the simulator stops at max_tokens) of 29 three-byte characters: about 11 MB of events, several
    // times what the loopback socket buffers absorb while the client is paused. Under the answer's output budget
    // (32 characters a token asked for, and one a line: 1,015,808 of 1,048,576), which would otherwise end it first.
    const word = `${'漢'.repeat(29)} `;
    stack.simulator.enqueue({ reply: word.repeat(32_768) });
    const client = await VoiceClient.connect(stack.voiceUrl);
    // The first stream to end is this turn's: anything but the gateway closing it fails at once, not by a timeout.
    const upstreamEnded = new Promise<string>((resolve) =>
      stack?.simulator.events.once('stream-end', (end: { reason: string }) => resolve(end.reason)),
    );
    const raw = (client.socket as unknown as { _socket: Socket })._socket;
    client.send({ type: 'turn', text: 'Say a lot' });
    raw.pause();
    // The gateway interrupts the response (so the upstream request is aborted) once the client falls behind.
    expect(await upstreamEnded).toBe('client-closed');
    raw.resume();
    const closed = await client.closed;
    expect(closed.code).toBe(4001);
    const done = client.events.find((e) => e.type === 'response.done');
    expect(done).toMatchObject({ status: 'interrupted' });
    const deltas = client.events.flatMap((e) => (e.type === 'response.delta' ? [e.text] : [])).join('');
    expect(deltas).toBe((done as { text: string }).text);
    expect(client.events.map((e) => e.seq)).toEqual(client.events.map((_, i) => i + 1));
    expect(await metricsText()).toMatch(/asi1_gateway_rejected_connections_total\{reason="slow_consumer"\} 1/);
  });
});

describe('upstream resilience', () => {
  it('fails fast with GW_UPSTREAM_BUSY when the upstream slots and queue are full', async () => {
    stack = await startStack({ env: { UPSTREAM_MAX_CONCURRENCY: '1', UPSTREAM_QUEUE_SIZE: '0' } });
    stack.simulator.enqueue({ reply: 'Held reply.', gate: { name: 'busy', afterChunks: 1 } });
    const first = await VoiceClient.connect(stack.voiceUrl);
    first.send({ type: 'turn', text: 'one' });
    await stack.simulator.gate('busy').reached;
    const second = await VoiceClient.connect(stack.voiceUrl);
    const done = await second.turn('two');
    expect(done).toMatchObject({ status: 'failed', error: { code: 'GW_UPSTREAM_BUSY', retryable: true } });
    stack.simulator.gate('busy').release();
    expect(await first.waitForType('response.done')).toMatchObject({ status: 'completed' });
    await first.close();
    await second.close();
  });

  it('queues a request briefly when all upstream slots are taken', async () => {
    stack = await startStack({ env: { UPSTREAM_MAX_CONCURRENCY: '1', UPSTREAM_QUEUE_SIZE: '4' } });
    stack.simulator.enqueue({ reply: 'Held reply.', gate: { name: 'queue', afterChunks: 1 } });
    const first = await VoiceClient.connect(stack.voiceUrl);
    first.send({ type: 'turn', text: 'one' });
    await stack.simulator.gate('queue').reached;
    const second = await VoiceClient.connect(stack.voiceUrl);
    const pending = second.turn('two');
    stack.simulator.gate('queue').release();
    expect((await pending).status).toBe('completed');
    await first.close();
    await second.close();
  });

  it('opens the circuit breaker after repeated failures, fails fast, then recovers through a probe', async () => {
    stack = await startStack({
      env: { BREAKER_FAILURE_THRESHOLD: '2', BREAKER_COOLDOWN_MS: '300', UPSTREAM_MAX_RETRIES: '0' },
    });
    stack.simulator.enqueue({ status: 500 }, { status: 503 });
    const client = await VoiceClient.connect(stack.voiceUrl);
    expect((await client.turn('a')).error?.code).toBe('GW_UPSTREAM_UNAVAILABLE');
    expect((await client.turn('b')).error?.code).toBe('GW_UPSTREAM_UNAVAILABLE');
    const fast = await client.turn('c');
    expect(fast).toMatchObject({ status: 'failed', error: { code: 'GW_UPSTREAM_CIRCUIT_OPEN', retryable: true } });
    expect(stack.simulator.requests).toHaveLength(2);
    expect(await metricsText()).toMatch(/asi1_gateway_upstream_breaker_open 1/);
    // Wait (on a condition, not a fixed sleep) until the cooldown has passed and the breaker admits a probe.
    while (((await (await fetch(`${stack.httpUrl}/readyz`)).json()) as { breaker: string }).breaker !== 'half-open') {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect((await client.turn('d')).status).toBe('completed');
    expect(await metricsText()).toMatch(/asi1_gateway_upstream_breaker_open 0/);
    await client.close();
  });

  it('never lets client errors open the breaker', async () => {
    stack = await startStack({ env: { BREAKER_FAILURE_THRESHOLD: '1' } });
    stack.simulator.enqueue({ status: 400 }, { status: 401 });
    const client = await VoiceClient.connect(stack.voiceUrl);
    await client.turn('a');
    await client.turn('b');
    expect((await client.turn('c')).status).toBe('completed');
    await client.close();
  });
});

describe('metrics', () => {
  it('counts sessions, responses, interruptions, tokens and latencies as they happen', async () => {
    stack = await startStack();
    const before = await metricsText();
    expect(before).toMatch(/asi1_gateway_open_sessions 0/);
    const client = await VoiceClient.connect(stack.voiceUrl);
    await client.turn('Hello');
    stack.simulator.enqueue({ reply: 'One two three.', gate: { name: 'm', afterChunks: 1 } });
    client.send({ type: 'turn', text: 'Again' });
    await stack.simulator.gate('m').reached;
    client.send({ type: 'response.cancel' });
    await client.waitFor((e) => e.type === 'response.done' && e.status === 'interrupted');
    const after = await metricsText();
    expect(after).toMatch(/asi1_gateway_open_sessions 1/);
    expect(after).toMatch(/asi1_gateway_responses_total\{status="completed"\} 1/);
    expect(after).toMatch(/asi1_gateway_responses_total\{status="interrupted"\} 1/);
    expect(after).toMatch(/asi1_gateway_interruptions_total 1/);
    expect(after).toMatch(/asi1_gateway_tokens_total\{direction="out"\} [1-9]/);
    expect(after).toMatch(/asi1_gateway_first_token_ms_count 2/);
    expect(after).toMatch(/asi1_gateway_active_responses 0/);
    stack.simulator.gate('m').release();
    await client.close();
  });
});
