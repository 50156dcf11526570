// The chat client end to end: first-token and stall timeouts, abort (the socket closed at once, nothing
// delivered after), listeners on a shared signal, a throwing sink, refused connections.
import { getEventListeners } from 'node:events';
import type { ChatEvent } from '../../src/upstream/types.js';
import { describe, expect, it } from 'vitest';
import {
  chatRequest,
  deferred,
  gen2,
  holdOpen,
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
    const err = await rejection(
      makeClient(server, { stallTimeoutMs: 80 }).stream(chatRequest(), (e) => events.push(e)),
    );
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

  it('fails with GW_UPSTREAM_STALLED when an answer, once started, only pings', async () => {
    const server = await pinging(sse(gen2({ content: 'Giraffes' })), ': ping\n\n');
    const events: ChatEvent[] = [];
    const client = makeClient(server, { stallTimeoutMs: 100, pingsOnlyTimeoutMs: 300 });
    const err = await rejection(client.stream(chatRequest(), (e) => events.push(e)));
    expect(err.code).toBe('GW_UPSTREAM_STALLED');
    expect(String((err.cause as Error).message)).toMatch(/keep-alives but no event for 300 ms/);
    expect(texts(events)).toEqual(['Giraffes']);
    await server.closed;
    expect(server.requests).toHaveLength(1);
  });

  it('counts data lines that say nothing as keep-alives, not as events', async () => {
    const server = await pinging(sse(gen2({ content: 'Giraffes' })), 'data: {}\n\ndata: ping\n\n');
    const client = makeClient(server, { stallTimeoutMs: 100, pingsOnlyTimeoutMs: 300 });
    const err = await rejection(client.stream(chatRequest(), () => {}));
    expect(err.code).toBe('GW_UPSTREAM_STALLED');
    await server.closed;
  });

  it('leaves a role-only opening chunk and pings to the first-token timer', async () => {
    const server = await pinging(sse(gen2({ role: 'assistant' })), ': ping\n\n');
    const client = makeClient(server, { firstTokenTimeoutMs: 600, stallTimeoutMs: 100, pingsOnlyTimeoutMs: 150 });
    const err = await rejection(client.stream(chatRequest(), () => {}));
    expect(err.code).toBe('GW_UPSTREAM_TIMEOUT');
    await server.closed;
  });

  it('keeps an answer alive while its events keep coming between pings', async () => {
    const server = await startServer(({ res }) => {
      holdOpen(res);
      let tick = 0;
      const timer = setInterval(() => {
        tick += 1;
        if (tick % 5 !== 0) return void res.write(': ping\n\n');
        if (tick < 60) return void res.write(sse(gen2({ content: String(tick / 5) })));
        clearInterval(timer);
        res.end(sse(gen2({}, 'stop')) + 'data: [DONE]\n\n');
      }, 20);
    });
    const events: ChatEvent[] = [];
    const client = makeClient(server, { stallTimeoutMs: 100, pingsOnlyTimeoutMs: 400 });
    const outcome = await client.stream(chatRequest(), (e) => events.push(e));
    expect(outcome.finishReason).toBe('stop');
    expect(texts(events)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11']);
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
    const client = makeClient(
      { baseUrl },
      { maxRetries: 1, logger: { debug: () => {}, warn: (o) => warnings.push(o) } },
    );
    const err = await rejection(client.stream(chatRequest(), () => {}));
    expect(err.code).toBe('GW_UPSTREAM_CONNECT');
    expect(warnings).toHaveLength(1);
  });
});

/** An upstream that sends `first`, then `ping` every 10 ms until its client closes the connection. */
async function pinging(
  first: string,
  ping: string,
): Promise<Awaited<ReturnType<typeof startServer>> & { closed: Promise<void> }> {
  const closed = deferred();
  const server = await startServer(({ req, res }) => {
    holdOpen(res, first);
    const timer = setInterval(() => res.write(ping), 10);
    req.socket.once('close', () => {
      clearInterval(timer);
      closed.resolve();
    });
  });
  return Object.assign(server, { closed: closed.promise });
}
