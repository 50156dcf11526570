// The chat client end to end: warm keep-alive connections, its own pool, and TCP_NODELAY on upstream sockets.
import diagnosticsChannel from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { ChatClient } from '../../src/upstream/chat-client.js';
import type { ChatEvent } from '../../src/upstream/types.js';
import { describe, expect, it } from 'vitest';
import {
  chatRequest,
  KEY,
  makeClient,
  okStream,
  sendJson,
  sendStream,
  startServer,
  texts,
  useClientRig,
} from './client-rig.js';

useClientRig();

describe('chat client', { timeout: 3000 }, () => {
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
    const client = new ChatClient({
      baseUrl: server.baseUrl,
      firstTokenTimeoutMs: 2000,
      stallTimeoutMs: 2000,
      pingsOnlyTimeoutMs: 2000,
      maxRetries: 0,
    });
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
