// The upstream attempt's phase machine: the transition guard on its own, the attempt driven callback by callback
// through a fake dispatcher (an illegal move fails the attempt loudly), and 1xx heads over a raw socket.
import { createServer, type Server, type Socket } from 'node:net';
import { Pool, type Dispatcher } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { SecretRedactor } from '../../src/secrets.js';
import { checkTransition, type PhaseName } from '../../src/upstream/attempt-phases.js';
import type { AttemptContext, AttemptResult } from '../../src/upstream/attempt-context.js';
import { runAttempt } from '../../src/upstream/chat-attempt.js';
import type { ChatEvent } from '../../src/upstream/types.js';

const sse = (value: unknown): string => `data: ${JSON.stringify(value)}\n\n`;
const delta = (content: string, finish: string | null = null) => ({
  choices: [{ index: 0, delta: { content }, finish_reason: finish }],
});

function context(dispatcher: Dispatcher, signal = new AbortController().signal) {
  const events: ChatEvent[] = [];
  const ctx: AttemptContext = {
    dispatcher,
    origin: 'http://upstream.test',
    path: '/v1/chat/completions',
    headers: {},
    body: Buffer.from('{}'),
    signal,
    sink: (event) => events.push(event),
    state: { forwarded: false, finishReason: null, usage: null },
    firstTokenTimeoutMs: 2000,
    stallTimeoutMs: 2000,
    pingsOnlyTimeoutMs: 2000,
    outputBudgetChars: 1_000_000,
    secrets: new SecretRedactor([]),
    logger: undefined,
  };
  return { ctx, events };
}

/** A dispatcher that only hands the handler to the test, which then plays undici. */
function fakeDispatcher() {
  const captured: { handler?: Dispatcher.DispatchHandler } = {};
  const dispatcher = {
    dispatch: (_opts: unknown, handler: Dispatcher.DispatchHandler) => ((captured.handler = handler), true),
  };
  return { dispatcher: dispatcher as unknown as Dispatcher, captured };
}

function fakeController() {
  const aborts: unknown[] = [];
  const controller = {
    abort: (reason: unknown) => aborts.push(reason),
    pause() {},
    resume() {},
    aborted: false,
    paused: false,
    reason: null,
  };
  return { controller: controller as unknown as Dispatcher.DispatchController, aborts };
}

describe('checkTransition', () => {
  it('allows the moves an attempt makes', () => {
    const legal: [PhaseName, PhaseName][] = [
      ['connecting', 'streaming'],
      ['connecting', 'interim'],
      ['interim', 'interim'],
      ['interim', 'reading-json'],
      ['connecting', 'sniffing'],
      ['sniffing', 'streaming'],
      ['sniffing', 'reading-json'],
      ['connecting', 'reading-error'],
      ['streaming', 'ended'],
      ['reading-error', 'ended'],
      ['connecting', 'ended'],
      ['ended', 'settled'],
      ['connecting', 'settled'],
    ];
    for (const [from, to] of legal) expect(() => checkTransition(from, to)).not.toThrow();
  });

  it('throws a plain Error on an illegal move', () => {
    const illegal: [PhaseName, PhaseName][] = [
      ['streaming', 'reading-json'],
      ['streaming', 'streaming'],
      ['reading-error', 'streaming'],
      ['ended', 'streaming'],
      ['ended', 'ended'],
      ['settled', 'settled'],
      ['settled', 'connecting'],
      ['reading-json', 'sniffing'],
      ['sniffing', 'interim'],
    ];
    for (const [from, to] of illegal) {
      expect(() => checkTransition(from, to)).toThrow(
        new Error(`illegal upstream attempt transition: ${from} → ${to}`),
      );
    }
  });
});

describe('the attempt as a dispatch handler', () => {
  it("fails with GW_INTERNAL (the guard's Error as cause) when undici's callbacks come in an impossible order", async () => {
    const { dispatcher, captured } = fakeDispatcher();
    const { ctx } = context(dispatcher);
    const result = runAttempt(ctx);
    const handler = captured.handler!;
    const { controller, aborts } = fakeController();
    handler.onRequestStart?.(controller, {});
    handler.onResponseStart?.(controller, 200, { 'content-type': 'text/event-stream' });
    handler.onResponseStart?.(controller, 200, { 'content-type': 'application/json' }); // a second head: streaming → reading-json
    const settled = (await result) as Extract<AttemptResult, { kind: 'failed' }>;
    expect(settled.kind).toBe('failed');
    expect(settled.error.code).toBe('GW_INTERNAL');
    expect((settled.error.cause as Error).message).toBe(
      'illegal upstream attempt transition: streaming → reading-json',
    );
    expect(aborts).toHaveLength(1); // the socket goes: the response had not ended
    expect(() => handler.onResponseData?.(controller, Buffer.from(sse(delta('late'))))).not.toThrow();
  });

  it('streams, then settles at the body end without aborting the finished request', async () => {
    const { dispatcher, captured } = fakeDispatcher();
    const { ctx, events } = context(dispatcher);
    const result = runAttempt(ctx);
    const handler = captured.handler!;
    const { controller, aborts } = fakeController();
    handler.onRequestStart?.(controller, {});
    handler.onResponseStart?.(controller, 200, { 'content-type': 'text/event-stream' });
    handler.onResponseData?.(controller, Buffer.from(sse(delta('Hi')) + sse(delta('', 'stop')) + 'data: [DONE]\n\n'));
    handler.onResponseEnd?.(controller, {});
    expect(await result).toEqual({ kind: 'done' });
    expect(events).toEqual([
      { type: 'text', text: 'Hi' },
      { type: 'finish', reason: 'stop' },
    ]);
    expect(aborts).toEqual([]);
    expect(ctx.state).toMatchObject({ forwarded: true, finishReason: 'stop' });
  });

  it('aborts a request that settled while queued as soon as undici starts it', async () => {
    const { dispatcher, captured } = fakeDispatcher();
    const caller = new AbortController();
    const { ctx } = context(dispatcher, caller.signal);
    const result = runAttempt(ctx);
    caller.abort();
    expect(await result).toEqual({ kind: 'aborted' });
    const { controller, aborts } = fakeController();
    captured.handler!.onRequestStart?.(controller, {});
    expect(aborts).toHaveLength(1);
    expect(aborts[0]).toMatchObject({ name: 'AbortError' });
  });

  it('reads a non-2xx head into a mapped error', async () => {
    const { dispatcher, captured } = fakeDispatcher();
    const { ctx } = context(dispatcher);
    const result = runAttempt(ctx);
    const handler = captured.handler!;
    const { controller } = fakeController();
    handler.onRequestStart?.(controller, {});
    handler.onResponseStart?.(controller, 429, { 'retry-after': '1' });
    handler.onResponseData?.(controller, Buffer.from('{"error":{"message":"slow down"}}'));
    handler.onResponseEnd?.(controller, {});
    const settled = await result;
    expect(settled.kind === 'failed' && settled.error).toMatchObject({
      code: 'GW_UPSTREAM_RATE_LIMITED',
      status: 429,
      retryAfterMs: 1000,
    });
  });
});

describe('1xx informational heads (a raw socket: node:http cannot send them before a POST reply)', () => {
  const servers: Server[] = [];
  const pools: Pool[] = [];
  afterEach(async () => {
    for (const pool of pools.splice(0)) await pool.destroy();
    for (const server of servers.splice(0)) server.close();
  });

  async function attemptAgainst(
    script: (socket: Socket) => void,
  ): Promise<{ result: AttemptResult; events: ChatEvent[] }> {
    const server = createServer((socket) => socket.once('data', () => script(socket)));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const pool = new Pool(`http://127.0.0.1:${port}`);
    pools.push(pool);
    const { ctx, events } = context(pool);
    ctx.origin = `http://127.0.0.1:${port}`;
    return { result: await runAttempt(ctx), events };
  }

  const head =
    'HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n' +
    'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n';
  const body = sse(delta('Hi')) + sse(delta('', 'stop'));
  const chunked = `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n`;

  it('reads the final head after a 103', async () => {
    const { result, events } = await attemptAgainst((socket) => socket.end(`${head}${chunked}0\r\n\r\n`));
    expect(result).toEqual({ kind: 'done' });
    expect(events.map((event) => event.type)).toEqual(['text', 'finish']);
  });

  // A 103 is informational: a socket lost after the final head's finish_reason still leaves a complete answer.
  it('forgets a 103 once the final head arrives: a drop after finish_reason is still a complete answer', async () => {
    const { result, events } = await attemptAgainst((socket) => {
      socket.write(`${head}${chunked}`);
      setTimeout(() => socket.destroy(), 20);
    });
    expect(result).toEqual({ kind: 'done' });
    expect(events.map((event) => event.type)).toEqual(['text', 'finish']);
  });
});
