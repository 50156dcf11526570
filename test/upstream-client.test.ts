// The chat client end to end against plain node:http servers on 127.0.0.1:0 speaking the ASI:One wire
// format: headers, streaming, retries, errors, timeouts, abort and keep-alive.
import diagnosticsChannel from 'node:diagnostics_channel';
import { getEventListeners } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { inspect } from 'node:util';
import type { Pool } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../src/errors.js';
import { ChatClient, createUpstreamPool, type ChatClientOptions } from '../src/upstream/chat-client.js';
import { parseRetryAfter, sanitizeUpstreamText } from '../src/upstream/http-errors.js';
import type { ChatEvent, ChatRequest } from '../src/upstream/types.js';

const KEY = `sk_${'0123456789abcdef'.repeat(4)}`;
const ID = '083bd6ca857843c0911edf83799ca6c8';

interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
type Handler = (ctx: { req: IncomingMessage; res: ServerResponse; n: number }) => void | Promise<void>;

interface TestServer {
  baseUrl: string;
  requests: Recorded[];
  readonly connections: number;
  close(): Promise<void>;
}

const servers: TestServer[] = [];
const pools: Pool[] = [];

async function startServer(handler: Handler): Promise<TestServer> {
  const requests: Recorded[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const n = requests.length;
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      Promise.resolve(handler({ req, res, n })).catch((err: unknown) => res.destroy(err as Error));
    });
  });
  server.keepAliveTimeout = 1000;
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const handle: TestServer = {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(handle);
  return handle;
}

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  for (const pool of pools.splice(0)) await pool.close();
});

function makeClient(server: { baseUrl: string }, options: Partial<ChatClientOptions> = {}): ChatClient {
  const pool = createUpstreamPool(server.baseUrl, { connections: 4, keepAliveTimeoutMs: 500 });
  pools.push(pool);
  return new ChatClient({
    baseUrl: server.baseUrl,
    apiKey: KEY,
    dispatcher: pool,
    firstTokenTimeoutMs: 2000,
    stallTimeoutMs: 2000,
    maxRetries: 2,
    retryBaseDelayMs: 1,
    retryMaxDelayMs: 1000,
    ...options,
  });
}

const chatRequest = (overrides: Partial<ChatRequest> = {}): ChatRequest => ({
  model: 'asi1-mini',
  messages: [{ role: 'user', content: 'Tell me about giraffes.' }],
  sessionId: 'session-42',
  signal: new AbortController().signal,
  ...overrides,
});

const sse = (payload: unknown): string => `data: ${JSON.stringify(payload)}\n\n`;
const gen2 = (delta: object, finish: string | null = null): object => ({
  id: ID,
  object: 'chat.completion.chunk',
  created: 1768409272,
  model: 'asi1-mini',
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish, matched_stop: finish ? 151336 : null }],
});
const USAGE = { prompt_tokens: 2105, completion_tokens: 3, total_tokens: 2108 };
const okStream = (words: readonly string[]): string =>
  sse(gen2({ role: 'assistant', content: '', reasoning_content: null })) +
  words.map((w) => sse(gen2({ content: w, reasoning_content: null }))).join('') +
  sse(gen2({ content: '', reasoning_content: null }, 'stop')) +
  sse({ id: ID, object: 'chat.completion.chunk', choices: [], usage: USAGE }) +
  'data: [DONE]\n\n';

function sendStream(res: ServerResponse, text: string): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.end(text);
}
function sendJson(res: ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}
const holdOpen = (res: ServerResponse, first = ''): void => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  if (first !== '') res.write(first);
};

const texts = (events: readonly ChatEvent[]): string[] => events.flatMap((e) => (e.type === 'text' ? [e.text] : []));

async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  const err = await promise.then(
    () => new Error('expected the stream to reject'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatewayError);
  return err as GatewayError;
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('chat client', { timeout: 3000 }, () => {
  it('sends the bearer key, x-session-id and the body fields, and delivers text in order', async () => {
    const server = await startServer(({ res }) => sendStream(res, okStream(['Giraffes', ' are', ' tall.'])));
    const client = makeClient(server, { userAgent: 'test-agent/1' });
    const events: ChatEvent[] = [];
    const outcome = await client.stream(
      chatRequest({
        temperature: 0.3,
        maxTokens: 120,
        tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
        toolChoice: 'auto',
      }),
      (e) => events.push(e),
    );

    expect(outcome).toEqual({
      finishReason: 'stop',
      usage: { promptTokens: 2105, completionTokens: 3, totalTokens: 2108 },
      aborted: false,
      attempts: 1,
    });
    expect(texts(events)).toEqual(['Giraffes', ' are', ' tall.']);
    const [request] = server.requests;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/v1/chat/completions');
    expect(request?.headers).toMatchObject({
      authorization: `Bearer ${KEY}`,
      'x-session-id': 'session-42',
      'content-type': 'application/json',
      accept: 'text/event-stream',
      'user-agent': 'test-agent/1',
    });
    expect(JSON.parse(request?.body ?? '')).toEqual({
      model: 'asi1-mini',
      messages: [{ role: 'user', content: 'Tell me about giraffes.' }],
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.3,
      max_tokens: 120,
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
      tool_choice: 'auto',
    });
  });

  it('omits the authorization header and undefined fields when not configured', async () => {
    const server = await startServer(({ res }) => sendStream(res, okStream(['ok'])));
    const client = makeClient(server, { apiKey: undefined });
    await client.stream(chatRequest({ toolChoice: 'none' }), () => {});
    const [request] = server.requests;
    expect(request?.headers.authorization).toBeUndefined();
    expect(Object.keys(JSON.parse(request?.body ?? '{}') as object).sort()).toEqual(
      ['messages', 'model', 'stream', 'stream_options'].sort(),
    );
  });

  it('reads a gen-1 stream with CRLF, keep-alive comments and odd write boundaries', async () => {
    const wire =
      ': ping\r\n\r\n' +
      [
        { id: 'id_x', object: 'chat.completion.chunk', model: 'asi1-mini', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }], usage: null },
        { id: 'id_x', model: 'asi1-mini', choices: [{ role: 'assistant', delta: { role: 'assistant', content: '' } }], init_thought: true },
        { id: 'id_x', model: 'asi1-mini', choices: [{ role: 'assistant', delta: { role: 'assistant', content: '' } }], thought: '\nThinking 🦒' },
        { id: 'id_x', model: 'asi1-mini', created: 1740580071837, choices: [{ index: 0, finish_reason: null, delta: { content: '\n\nGiraffes 🦒' } }] },
        { id: 'id_x', model: 'asi1-mini', created: 1740580071837, choices: [{ index: 0, finish_reason: null, delta: { content: ' are tall.' } }] },
        { id: 'id_x', model: 'asi1-mini', choices: [{ index: 0, finish_reason: 'stop', delta: { role: 'assistant', content: '' }, stop_reason: 'stop' }] },
        { id: 'id_x', model: 'asi1-mini', choices: [{ index: 0, finish_reason: 'stop', delta: { role: 'assistant', content: '' }, stop_reason: 'stop' }], usage: { prompt_tokens: 435, completion_tokens: 391, total_tokens: 826 } },
      ]
        .map((chunk) => `data: ${JSON.stringify(chunk)}\r\n\r\n`)
        .join('') +
      'data: [DONE]\r\n\r\n';
    const bytes = Buffer.from(wire);
    const server = await startServer(({ res }) => {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      // Write in 7-byte slices so splits land inside emoji and between \r and \n.
      for (let i = 0; i < bytes.length; i += 7) res.write(bytes.subarray(i, i + 7));
      res.end();
    });
    const events: ChatEvent[] = [];
    const outcome = await makeClient(server).stream(chatRequest(), (e) => events.push(e));
    expect(events.filter((e) => e.type === 'reasoning')).toEqual([{ type: 'reasoning', text: '\nThinking 🦒' }]);
    expect(texts(events)).toEqual(['\n\nGiraffes 🦒', ' are tall.']);
    expect(events.filter((e) => e.type === 'finish')).toHaveLength(2);
    expect(outcome.finishReason).toBe('stop');
    expect(outcome.usage).toEqual({ promptTokens: 435, completionTokens: 391, totalTokens: 826 });
  });

  it('streams tool-call fragments as they arrive', async () => {
    const server = await startServer(({ res }) =>
      sendStream(
        res,
        sse(gen2({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] })) +
          sse(gen2({ tool_calls: [{ index: 0, function: { arguments: '{"location":' } }] })) +
          sse(gen2({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] })) +
          sse(gen2({}, 'tool_calls')) +
          'data: [DONE]\n\n',
      ),
    );
    const events: ChatEvent[] = [];
    const outcome = await makeClient(server).stream(chatRequest(), (e) => events.push(e));
    expect(events).toEqual([
      { type: 'tool_call', index: 0, id: 'call_1', name: 'get_weather' },
      { type: 'tool_call', index: 0, argumentsDelta: '{"location":' },
      { type: 'tool_call', index: 0, argumentsDelta: '"Paris"}' },
      { type: 'finish', reason: 'tool_calls' },
    ]);
    expect(outcome.finishReason).toBe('tool_calls');
  });

  it('accepts a plain JSON body in reply to a streaming request', async () => {
    const server = await startServer(({ res }) =>
      sendJson(res, 200, {
        id: 'id_kKg27rnGyfH4NknTL',
        model: 'asi1-mini',
        thought: ['greeting'],
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Hello there.' } }],
        usage: { prompt_tokens: 39, completion_tokens: 100, total_tokens: 139 },
      }),
    );
    const events: ChatEvent[] = [];
    const outcome = await makeClient(server).stream(chatRequest(), (e) => events.push(e));
    expect(events).toEqual([
      { type: 'reasoning', text: 'greeting' },
      { type: 'text', text: 'Hello there.' },
      { type: 'finish', reason: 'stop' },
      { type: 'usage', usage: { promptTokens: 39, completionTokens: 100, totalTokens: 139 } },
    ]);
    expect(outcome).toMatchObject({ finishReason: 'stop', aborted: false, attempts: 1 });
  });

  it('sniffs SSE sent with a wrong content type', async () => {
    const server = await startServer(({ res }) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(okStream(['sniffed']));
    });
    const events: ChatEvent[] = [];
    await makeClient(server).stream(chatRequest(), (e) => events.push(e));
    expect(texts(events)).toEqual(['sniffed']);
  });

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
    const server = await startServer(({ res }) => sendJson(res, 422, { error: { message: 'messages: field required' } }));
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
      sendStream(res, n === 0 ? 'data: {not json\n\n' + okStream(['fine']) : 'data: {oops\n\ndata: <html>\n\ndata: [DONE]\n\n'),
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
      res.end('<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>');
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

  it('fails with GW_UPSTREAM_TIMEOUT when headers never come', async () => {
    const closed = deferred();
    const server = await startServer(({ req }) => {
      req.socket.once('close', () => closed.resolve());
    });
    const err = await rejection(makeClient(server, { firstTokenTimeoutMs: 80 }).stream(chatRequest(), () => {}));
    expect(err.code).toBe('GW_UPSTREAM_TIMEOUT');
    await closed.promise;
    expect(server.requests).toHaveLength(1);
  });

  it('fails with GW_UPSTREAM_TIMEOUT when only comments arrive before the first data', async () => {
    const closed = deferred();
    const server = await startServer(({ req, res }) => {
      req.socket.once('close', () => closed.resolve());
      holdOpen(res, ': ping\n\n');
    });
    const err = await rejection(makeClient(server, { firstTokenTimeoutMs: 80 }).stream(chatRequest(), () => {}));
    expect(err.code).toBe('GW_UPSTREAM_TIMEOUT');
    await closed.promise;
  });

  it('fails with GW_UPSTREAM_STALLED when the stream goes silent mid-answer', async () => {
    const closed = deferred();
    const server = await startServer(({ req, res }) => {
      req.socket.once('close', () => closed.resolve());
      holdOpen(res, sse(gen2({ content: 'Giraffes' })));
    });
    const events: ChatEvent[] = [];
    const err = await rejection(makeClient(server, { stallTimeoutMs: 80 }).stream(chatRequest(), (e) => events.push(e)));
    expect(err.code).toBe('GW_UPSTREAM_STALLED');
    expect(texts(events)).toEqual(['Giraffes']);
    await closed.promise;
    expect(server.requests).toHaveLength(1);
  });

  it('counts keep-alive comments as life mid-stream', async () => {
    const server = await startServer(({ res }) => {
      holdOpen(res, sse(gen2({ content: 'a' })));
      let pings = 0;
      const timer = setInterval(() => {
        pings += 1;
        if (pings <= 12) return void res.write(': ping\n\n');
        clearInterval(timer);
        res.end(sse(gen2({ content: 'b' }, 'stop')) + 'data: [DONE]\n\n');
      }, 25);
    });
    const events: ChatEvent[] = [];
    const outcome = await makeClient(server, { stallTimeoutMs: 150 }).stream(chatRequest(), (e) => events.push(e));
    expect(outcome.finishReason).toBe('stop');
    expect(texts(events)).toEqual(['a', 'b']);
  });

  it('on abort mid-stream closes the upstream socket, resolves aborted and delivers nothing after', async () => {
    const closed = deferred();
    const server = await startServer(({ req, res }) => {
      req.socket.once('close', () => closed.resolve());
      // One write with three deltas: the abort lands between them.
      holdOpen(res, sse(gen2({ content: 'one' })) + sse(gen2({ content: 'two' })) + sse(gen2({ content: 'three' })));
    });
    const controller = new AbortController();
    const events: ChatEvent[] = [];
    const outcome = await makeClient(server).stream(chatRequest({ signal: controller.signal }), (e) => {
      events.push(e);
      if (e.type === 'text') controller.abort();
    });
    expect(outcome).toMatchObject({ aborted: true, attempts: 1 });
    expect(texts(events)).toEqual(['one']);
    await closed.promise;
  });

  it('on an external abort while the upstream is silent closes the socket at once', async () => {
    const closed = deferred();
    const firstText = deferred();
    const server = await startServer(({ req, res }) => {
      req.socket.once('close', () => closed.resolve());
      holdOpen(res, sse(gen2({ content: 'hello' })));
    });
    const controller = new AbortController();
    const streaming = makeClient(server).stream(chatRequest({ signal: controller.signal }), (e) => {
      if (e.type === 'text') firstText.resolve();
    });
    await firstText.promise;
    controller.abort();
    await closed.promise;
    expect(await streaming).toMatchObject({ aborted: true });
  });

  it('ends a retry backoff at once on abort', async () => {
    const server = await startServer(({ res }) => sendJson(res, 503, { message: 'busy' }, { 'retry-after': '5' }));
    const controller = new AbortController();
    const logger = { debug: () => {}, warn: () => controller.abort() };
    const client = makeClient(server, { retryMaxDelayMs: 10_000, logger });
    const outcome = await client.stream(chatRequest({ signal: controller.signal }), () => {});
    expect(outcome).toEqual({ finishReason: null, usage: null, aborted: true, attempts: 1 });
    expect(server.requests).toHaveLength(1);
  });

  it('resolves aborted without a request when the signal is already aborted', async () => {
    const server = await startServer(({ res }) => sendStream(res, okStream(['x'])));
    const outcome = await makeClient(server).stream(chatRequest({ signal: AbortSignal.abort() }), () => {});
    expect(outcome).toMatchObject({ aborted: true, attempts: 0 });
    expect(server.requests).toHaveLength(0);
  });

  it('leaves no listener on a shared signal, whatever the ending', async () => {
    const server = await startServer(({ res, n }) => {
      if (n === 0) return sendStream(res, okStream(['ok']));
      if (n === 1) return sendJson(res, 401, { message: 'failed to authenticate user' });
      if (n === 2) return sendJson(res, 503, { message: 'busy' });
      if (n === 3) return sendStream(res, okStream(['after retry']));
      holdOpen(res); // n === 4: first-token timeout
    });
    const client = makeClient(server, { firstTokenTimeoutMs: 80 });
    const signal = new AbortController().signal;
    await client.stream(chatRequest({ signal }), () => {});
    await rejection(client.stream(chatRequest({ signal }), () => {}));
    expect((await client.stream(chatRequest({ signal }), () => {})).attempts).toBe(2);
    expect((await rejection(client.stream(chatRequest({ signal }), () => {}))).code).toBe('GW_UPSTREAM_TIMEOUT');
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('fails with GW_INTERNAL and closes the socket when the sink throws', async () => {
    const closed = deferred();
    const server = await startServer(({ req, res }) => {
      req.socket.once('close', () => closed.resolve());
      holdOpen(res, sse(gen2({ content: 'boom' })) + sse(gen2({ content: 'never delivered' })));
    });
    const events: ChatEvent[] = [];
    const err = await rejection(
      makeClient(server).stream(chatRequest(), (e) => {
        events.push(e);
        throw new Error('sink bug');
      }),
    );
    expect(err.code).toBe('GW_INTERNAL');
    expect(texts(events)).toEqual(['boom']);
    expect(server.requests).toHaveLength(1);
    await closed.promise;
  });

  it('retries a refused connection and then fails with GW_UPSTREAM_CONNECT', async () => {
    const server = await startServer(() => {});
    const baseUrl = server.baseUrl;
    await server.close();
    const warnings: unknown[] = [];
    const client = makeClient({ baseUrl }, { maxRetries: 1, logger: { debug: () => {}, warn: (o) => warnings.push(o) } });
    const err = await rejection(client.stream(chatRequest(), () => {}));
    expect(err.code).toBe('GW_UPSTREAM_CONNECT');
    expect(warnings).toHaveLength(1);
  });

  it('warm() opens a keep-alive connection that the next stream reuses', async () => {
    const server = await startServer(({ req, res }) =>
      req.url === '/v1/models' ? sendJson(res, 404, { message: 'not found' }) : sendStream(res, okStream(['warm'])),
    );
    const client = makeClient(server);
    expect(await client.warm()).toEqual({ ok: true, status: 404 });
    expect(server.connections).toBe(1);
    await client.stream(chatRequest(), () => {});
    await client.stream(chatRequest(), () => {});
    expect(server.connections).toBe(1);
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /v1/models',
      'POST /v1/chat/completions',
      'POST /v1/chat/completions',
    ]);
    expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('warm() reports a failure instead of throwing', async () => {
    const server = await startServer(() => {});
    const baseUrl = server.baseUrl;
    await server.close();
    const result = await makeClient({ baseUrl }).warm();
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('GW_UPSTREAM_CONNECT');
  });

  it('creates, uses and closes its own pool when none is injected', async () => {
    const server = await startServer(({ res }) => sendStream(res, okStream(['own pool'])));
    const client = new ChatClient({ baseUrl: server.baseUrl, firstTokenTimeoutMs: 2000, stallTimeoutMs: 2000, maxRetries: 0 });
    const events: ChatEvent[] = [];
    await client.stream(chatRequest(), (e) => events.push(e));
    await client.close();
    expect(texts(events)).toEqual(['own pool']);
  });

  it('has Nagle off on upstream sockets (undici sets TCP_NODELAY itself)', async () => {
    const sockets: Socket[] = [];
    const onConnected = (message: unknown): void => void sockets.push((message as { socket: Socket }).socket);
    diagnosticsChannel.subscribe('undici:client:connected', onConnected);
    try {
      const server = await startServer(({ res }) => sendStream(res, okStream(['x'])));
      await makeClient(server).stream(chatRequest(), () => {});
    } finally {
      diagnosticsChannel.unsubscribe('undici:client:connected', onConnected);
    }
    expect(sockets).toHaveLength(1);
    const socket = sockets[0] as unknown as Record<symbol, unknown>;
    const noDelay = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'kSetNoDelay');
    expect(noDelay && socket[noDelay]).toBe(true);
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
