// The rig of the chat-client tests (test/upstream/client-*.test.ts): plain node:http servers on 127.0.0.1:0 speaking
// the ASI:One wire format, a ChatClient in front of them, and small builders for streams, bodies and requests.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pool } from 'undici';
import { afterEach, expect } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { ChatClient, createUpstreamPool, type ChatClientOptions } from '../../src/upstream/chat-client.js';
import type { ChatEvent, ChatRequest } from '../../src/upstream/types.js';

export const KEY = `sk_${'0123456789abcdef'.repeat(4)}`;
export const ID = '083bd6ca857843c0911edf83799ca6c8';

export interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
export type Handler = (ctx: { req: IncomingMessage; res: ServerResponse; n: number }) => void | Promise<void>;

export interface TestServer {
  baseUrl: string;
  requests: Recorded[];
  readonly connections: number;
  close(): Promise<void>;
}

export const servers: TestServer[] = [];
export const pools: Pool[] = [];

/** A test upstream; `keepAliveMs` is how long it keeps an idle connection (and says so in Keep-Alive). */
export async function startServer(handler: Handler, keepAliveMs = 1000): Promise<TestServer> {
  const requests: Recorded[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const n = requests.length;
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      Promise.resolve(handler({ req, res, n })).catch((err: unknown) => res.destroy(err as Error));
    });
  });
  server.keepAliveTimeout = keepAliveMs;
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

/** Registers the clean-up after each test of the calling file: servers closed, pools closed. */
export function useClientRig(): void {
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
    for (const pool of pools.splice(0)) await pool.close();
  });
}

export function makeClient(server: { baseUrl: string }, options: Partial<ChatClientOptions> = {}): ChatClient {
  const pool = createUpstreamPool(server.baseUrl, { connections: 4, keepAliveTimeoutMs: 500 });
  pools.push(pool);
  return new ChatClient({
    baseUrl: server.baseUrl,
    apiKey: KEY,
    dispatcher: pool,
    firstTokenTimeoutMs: 2000,
    stallTimeoutMs: 2000,
    pingsOnlyTimeoutMs: 2000,
    maxRetries: 2,
    retryBaseDelayMs: 1,
    retryMaxDelayMs: 1000,
    ...options,
  });
}

export const chatRequest = (overrides: Partial<ChatRequest> = {}): ChatRequest => ({
  model: 'asi1-mini',
  messages: [{ role: 'user', content: 'Tell me about giraffes.' }],
  sessionId: 'session-42',
  signal: new AbortController().signal,
  ...overrides,
});

export const sse = (payload: unknown): string => `data: ${JSON.stringify(payload)}\n\n`;
export const gen2 = (delta: object, finish: string | null = null): object => ({
  id: ID,
  object: 'chat.completion.chunk',
  created: 1768409272,
  model: 'asi1-mini',
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish, matched_stop: finish ? 151336 : null }],
});
export const USAGE = { prompt_tokens: 2105, completion_tokens: 3, total_tokens: 2108 };
export const okStream = (words: readonly string[]): string =>
  sse(gen2({ role: 'assistant', content: '', reasoning_content: null })) +
  words.map((w) => sse(gen2({ content: w, reasoning_content: null }))).join('') +
  sse(gen2({ content: '', reasoning_content: null }, 'stop')) +
  sse({ id: ID, object: 'chat.completion.chunk', choices: [], usage: USAGE }) +
  'data: [DONE]\n\n';

export function sendStream(res: ServerResponse, text: string): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.end(text);
}
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: http.OutgoingHttpHeaders = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}
export const holdOpen = (res: ServerResponse, first = ''): void => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  if (first !== '') res.write(first);
};

export const texts = (events: readonly ChatEvent[]): string[] =>
  events.flatMap((e) => (e.type === 'text' ? [e.text] : []));

export async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  const err = await promise.then(
    () => new Error('expected the stream to reject'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatewayError);
  return err as GatewayError;
}

export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
