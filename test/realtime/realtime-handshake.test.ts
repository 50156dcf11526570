// The /v1/realtime handshake and what it shares with /v1/voice: subprotocol selection, gateway tokens in the
// ways Realtime clients send them (never echoed), session.created at once, the beta dialect switch, and the
// registry's limits, metrics and drain. Real sockets on port 0.
import { WebSocket as WhatwgWebSocket } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers.js';
import { RealtimeTestClient, realtimeUrl, refusedStatus } from '../realtime-client.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function metricsText(): Promise<string> {
  return (await fetch(`${stack?.httpUrl}/metrics`)).text();
}

describe('realtime handshake', () => {
  it('selects the realtime subprotocol and never the key-bearing entry, whatever the order', async () => {
    stack = await startStack();
    const client = await RealtimeTestClient.connect(realtimeUrl(stack.voiceUrl), {
      protocols: ['openai-insecure-api-key.sk-test', 'realtime'],
    });
    expect(client.socket.protocol).toBe('realtime');
    await client.close();
  });

  it('accepts the gateway token as openai-insecure-api-key.<token> or a bearer header, and refuses others with 401', async () => {
    stack = await startStack({ env: { GATEWAY_TOKENS: 'x' } });
    const url = realtimeUrl(stack.voiceUrl, '?model=gpt-realtime');
    const browser = await RealtimeTestClient.connect(url, { protocols: ['realtime', 'openai-insecure-api-key.x'] });
    expect(browser.socket.protocol).toBe('realtime');
    expect(JSON.stringify(browser.events)).not.toContain('openai-insecure-api-key');
    await browser.close();
    const server = await RealtimeTestClient.connect(url, { headers: { Authorization: 'Bearer x' } });
    await server.close();
    expect(await refusedStatus(url, ['realtime', 'openai-insecure-api-key.wrong'])).toBe(401);
    expect(await refusedStatus(url, ['realtime'])).toBe(401);
    expect(await refusedStatus(url, undefined, { Authorization: 'Bearer wrong' })).toBe(401);
    expect(await metricsText()).toMatch(/asi1_gateway_rejected_connections_total\{reason="bad_token"\} 2/);
  });

  it('completes the handshake of a WHATWG WebSocket (undici), which fails unless a subprotocol is selected', async () => {
    stack = await startStack({ env: { GATEWAY_TOKENS: 'x' } });
    const socket = new WhatwgWebSocket(realtimeUrl(stack.voiceUrl, '?model=gpt-realtime'), [
      'realtime',
      'openai-insecure-api-key.x',
      'openai-agents-sdk.0.14.3',
    ]);
    const first = await new Promise<{ type: string }>((resolve, reject) => {
      socket.addEventListener('message', (event) => resolve(JSON.parse(String(event.data)) as { type: string }), {
        once: true,
      });
      socket.addEventListener('error', () => reject(new Error('handshake failed')), { once: true });
    });
    expect(socket.protocol).toBe('realtime');
    expect(first.type).toBe('session.created');
    const closed = new Promise((resolve) => socket.addEventListener('close', resolve, { once: true }));
    socket.close();
    await closed;
  });

  it('sends session.created first and at once: a text-only GA session with an event_id', async () => {
    stack = await startStack();
    const client = await RealtimeTestClient.connect(realtimeUrl(stack.voiceUrl, '?model=gpt-realtime'));
    expect(client.events).toHaveLength(1);
    expect(client.events[0]).toMatchObject({
      type: 'session.created',
      event_id: expect.stringMatching(/^event_/),
      session: {
        type: 'realtime',
        object: 'realtime.session',
        id: expect.stringMatching(/^sess_/),
        model: 'asi1-mini',
        output_modalities: ['text'],
        tools: [],
        tool_choice: 'auto',
      },
    });
    await client.close();
  });

  it('takes an asi1 model from ?model= and ignores other model names', async () => {
    stack = await startStack();
    const ultra = await RealtimeTestClient.connect(realtimeUrl(stack.voiceUrl, '?model=asi1-ultra'));
    expect(ultra.events[0]?.session.model).toBe('asi1-ultra');
    await ultra.addUserText('Hi');
    await ultra.respond();
    expect(stack.simulator.requests.at(-1)?.body).toMatchObject({ model: 'asi1-ultra' });
    await ultra.close();
  });
});

describe('realtime beta dialect', () => {
  async function betaTurn(client: RealtimeTestClient): Promise<void> {
    stack?.simulator.enqueue({ reply: 'Hi from the beta.' });
    await client.addUserText('Hello');
    const done = await client.respond();
    expect(done.response).toMatchObject({
      status: 'completed',
      modalities: ['text'],
      output: [{ content: [{ type: 'text', text: 'Hi from the beta.' }] }],
    });
    expect(done.response.output_modalities).toBeUndefined();
  }

  it('speaks the beta names to clients that send OpenAI-Beta: realtime=v1', async () => {
    stack = await startStack();
    const client = await RealtimeTestClient.connect(realtimeUrl(stack.voiceUrl), {
      headers: { 'OpenAI-Beta': 'realtime=v1' },
    });
    expect(client.events[0]?.session).toMatchObject({
      object: 'realtime.session',
      modalities: ['text'],
      turn_detection: null,
    });
    expect(client.events[0]?.session.type).toBeUndefined();
    client.send({
      type: 'session.update',
      session: {
        modalities: ['text'],
        instructions: 'Be brief.',
        max_response_output_tokens: 77,
        voice: 'alloy',
        input_audio_format: 'pcm16',
      },
    });
    expect((await client.waitForType('session.updated')).session).toMatchObject({
      modalities: ['text'],
      instructions: 'Be brief.',
      max_response_output_tokens: 77,
    });
    const from = client.events.length;
    await betaTurn(client);
    const types = client.typesFrom(from);
    expect(types).toContain('response.text.delta');
    expect(types).toContain('response.text.done');
    expect(types.filter((t) => t === 'conversation.item.created')).toHaveLength(2);
    for (const gaOnly of [
      'conversation.item.added',
      'conversation.item.done',
      'response.output_text.delta',
      'response.output_text.done',
    ])
      expect(types).not.toContain(gaOnly);
    // The assistant item is announced before its content part and deltas, as the beta reference client requires.
    expect(types.indexOf('conversation.item.created', types.indexOf('response.created'))).toBeLessThan(
      types.indexOf('response.content_part.added'),
    );
    expect(stack.simulator.requests.at(-1)?.body).toMatchObject({ max_tokens: 77 });
    await client.close();
  });

  it('speaks the beta to browser clients that offer the openai-beta.realtime-v1 subprotocol', async () => {
    stack = await startStack();
    const client = await RealtimeTestClient.connect(realtimeUrl(stack.voiceUrl), {
      protocols: ['realtime', 'openai-insecure-api-key.k', 'openai-beta.realtime-v1'],
    });
    expect(client.socket.protocol).toBe('realtime');
    await betaTurn(client);
    await client.close();
  });

  it('switches to GA when a session.update says type "realtime" (openai 5.18–5.23 sent the beta header from GA classes)', async () => {
    stack = await startStack();
    const client = await RealtimeTestClient.connect(realtimeUrl(stack.voiceUrl), {
      headers: { 'OpenAI-Beta': 'realtime=v1' },
    });
    client.send({ type: 'session.update', session: { type: 'realtime', output_modalities: ['text'] } });
    expect((await client.waitForType('session.updated')).session).toMatchObject({
      type: 'realtime',
      output_modalities: ['text'],
    });
    const from = client.events.length;
    await client.addUserText('Hello');
    await client.respond();
    expect(client.typesFrom(from)).toContain('response.output_text.delta');
    expect(client.typesFrom(from)).toContain('conversation.item.done');
    await client.close();
  });
});

describe('realtime shares limits, metrics and drain with /v1/voice', () => {
  it('counts realtime connections against MAX_CONNECTIONS_PER_IP and in the open-sessions gauge', async () => {
    stack = await startStack({ env: { MAX_CONNECTIONS_PER_IP: '1' } });
    const client = await RealtimeTestClient.connect(realtimeUrl(stack.voiceUrl));
    expect(await metricsText()).toMatch(/asi1_gateway_open_sessions 1/);
    expect(await refusedStatus(realtimeUrl(stack.voiceUrl))).toBe(429);
    expect(await refusedStatus(stack.voiceUrl)).toBe(429);
    await client.close();
  });

  it('applies TURNS_PER_MINUTE to response.create', async () => {
    stack = await startStack({ env: { TURNS_PER_MINUTE: '1' } });
    const client = await RealtimeTestClient.connect(realtimeUrl(stack.voiceUrl));
    await client.addUserText('One');
    expect((await client.respond()).response.status).toBe('completed');
    expect(client.events.find((e) => e.type === 'rate_limits.updated')?.rate_limits).toEqual([
      { name: 'requests', limit: 1, remaining: 0, reset_seconds: expect.any(Number) },
    ]);
    const refused = await client.respond(undefined, { event_id: 'r2' });
    expect(refused.error).toMatchObject({ code: 'GW_RATE_LIMITED', event_id: 'r2' });
    await client.close();
  });

  it('drains: the active response ends with response.done, then the socket closes with 1001', async () => {
    stack = await startStack();
    const client = await RealtimeTestClient.connect(realtimeUrl(stack.voiceUrl));
    stack.simulator.enqueue({ reply: 'A long answer that will not finish.', gate: { name: 'drain', afterChunks: 1 } });
    await client.addUserText('Talk');
    client.send({ type: 'response.create' });
    await stack.simulator.gate('drain').reached;
    await stack.gateway.drain(0);
    const closed = await client.closed;
    expect(closed.code).toBe(1001);
    expect(client.events.at(-1)).toMatchObject({ type: 'response.done', response: { status: 'cancelled' } });
    stack.simulator.gate('drain').release();
  });
});
