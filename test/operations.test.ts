// Operations: health checks, graceful drain, timeouts surfacing as typed errors, logs that never carry the key,
// and the wire options a voice gateway needs (no permessage-deflate).
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, VoiceClient, type Stack } from './helpers.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

function captureLogs() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return {
    lines,
    logger: pino({ level: 'trace', redact: { paths: ['*.authorization', 'headers.authorization'] } }, destination),
  };
}

describe('operations', () => {
  it('answers /healthz and /readyz', async () => {
    stack = await startStack();
    const health = await fetch(`${stack.httpUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${stack.httpUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, upstream: 'simulator' });
  });

  it('serves the browser page at /', async () => {
    stack = await startStack();
    const page = await fetch(`${stack.httpUrl}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="app.js"></script>');
  });

  it('does not negotiate permessage-deflate', async () => {
    stack = await startStack();
    const client = await VoiceClient.connect(stack.voiceUrl, { perMessageDeflate: true });
    expect(client.socket.extensions).toBe('');
    await client.close();
  });

  it('drains: readiness goes false, an active response may finish, then sockets close with 1001', async () => {
    stack = await startStack();
    stack.simulator.enqueue({ reply: 'One two three four.', gate: { name: 'drain-finish', afterChunks: 2 } });
    const client = await VoiceClient.connect(stack.voiceUrl);
    client.send({ type: 'turn', text: 'Count' });
    await stack.simulator.gate('drain-finish').reached;
    const draining = stack.gateway.drain(10_000);
    expect((await fetch(`${stack.httpUrl}/readyz`)).status).toBe(503);
    client.send({ type: 'turn', text: 'Another one', eventId: 'late' });
    expect(await client.waitForType('error')).toMatchObject({
      code: 'GW_SHUTTING_DOWN',
      retryable: true,
      eventId: 'late',
    });
    stack.simulator.gate('drain-finish').release();
    const done = await client.waitForType('response.done');
    expect(done).toMatchObject({ status: 'completed', text: 'One two three four.' });
    expect((await client.closed).code).toBe(1001);
    await draining;
  });

  it('drains: a response still active at the deadline is interrupted and still gets response.done', async () => {
    stack = await startStack();
    stack.simulator.enqueue({ reply: 'One two three four.', gate: { name: 'drain-deadline', afterChunks: 2 } });
    const client = await VoiceClient.connect(stack.voiceUrl);
    client.send({ type: 'turn', text: 'Count' });
    await stack.simulator.gate('drain-deadline').reached;
    await client.waitFor((e) => e.type === 'response.delta' && e.text === 'two ');
    await stack.gateway.drain(0);
    const closed = await client.closed;
    expect(closed.code).toBe(1001);
    expect(client.events.at(-1)).toMatchObject({ type: 'response.done', status: 'interrupted', text: 'One two ' });
  });

  it('refuses new connections while draining', async () => {
    stack = await startStack();
    const first = await VoiceClient.connect(stack.voiceUrl);
    await stack.gateway.drain(0);
    await first.closed;
    const { default: WebSocket } = await import('ws');
    const late = new WebSocket(stack.voiceUrl);
    const code = await new Promise<number>((resolve) => {
      late.on('close', (c) => resolve(c));
      late.on('error', () => resolve(-1));
    });
    expect([1001, -1]).toContain(code);
  });

  it('ends a stalled upstream stream with GW_UPSTREAM_STALLED', async () => {
    stack = await startStack({ env: { UPSTREAM_STALL_TIMEOUT_MS: '150' } });
    stack.simulator.enqueue({ reply: 'One two three.', stallAfterChunks: 1 });
    const client = await VoiceClient.connect(stack.voiceUrl);
    const done = await client.turn('Hi');
    expect(done).toMatchObject({
      status: 'failed',
      text: 'One ',
      error: { code: 'GW_UPSTREAM_STALLED', retryable: true },
    });
    await client.close();
  });

  it('ends an upstream that never answers with GW_UPSTREAM_TIMEOUT', async () => {
    stack = await startStack({ env: { UPSTREAM_FIRST_TOKEN_TIMEOUT_MS: '150' } });
    stack.simulator.enqueue({ reply: 'Never sent.', stallAfterChunks: 0 });
    const client = await VoiceClient.connect(stack.voiceUrl);
    const done = await client.turn('Hi');
    expect(done).toMatchObject({ status: 'failed', text: '', error: { code: 'GW_UPSTREAM_TIMEOUT' } });
    await client.close();
  });

  it('never leaks the API key into logs or client events, even when the upstream echoes it', async () => {
    const key = 'sk_live_0123456789abcdef0123456789abcdef';
    const { lines, logger } = captureLogs();
    stack = await startStack({
      env: { ASI_ONE_API_KEY: key, LOG_LEVEL: 'trace' },
      simulator: { apiKey: 'a-different-key' },
      logger,
    });
    const client = await VoiceClient.connect(stack.voiceUrl);
    const done = await client.turn('Hi');
    expect(done.error?.code).toBe('GW_UPSTREAM_AUTH');
    // The simulator did receive the key (so the test would catch a leak), but nothing we emit contains it.
    expect(stack.simulator.requests[0]?.headers.authorization).toBe(`Bearer ${key}`);
    expect(JSON.stringify(client.events)).not.toContain(key.slice(8));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('')).not.toContain(key.slice(8));
    await client.close();
  });

  it('logs lifecycle with sessionId and responseId and never logs user text at info', async () => {
    const { lines, logger } = captureLogs();
    stack = await startStack({ logger });
    const client = await VoiceClient.connect(stack.voiceUrl);
    const done = await client.turn('my secret medical question');
    await client.close();
    const records = lines.map(
      (l) => JSON.parse(l) as { level: number; msg: string; sessionId?: string; responseId?: string },
    );
    const started = records.find((r) => r.msg === 'response started');
    expect(started?.sessionId).toMatch(/^sess_/);
    expect(started?.responseId).toBe(done.responseId);
    const infoAndAbove = lines.filter((_, i) => (records[i]?.level ?? 0) >= 30).join('');
    expect(infoAndAbove).not.toContain('medical');
  });
});
