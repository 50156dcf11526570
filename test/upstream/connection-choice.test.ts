// Which upstream connection takes a request: an open free one before a closed one (a turn after a barge-in must not
// reopen the connection the barge-in closed while a warm one waits), and a warm-up meant to open a connection opens
// one instead of riding an open one. The choice alone against fake connections, then the pool against a real server.
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { chooseConnection, type Choice } from '../../src/upstream/connection-choice.js';
import type { Indexed, PoolSymbols } from '../../src/upstream/pool-internals.js';
import { fastGauge } from '../../src/upstream/pool-counts.js';
import { createUpstreamPool } from '../../src/upstream/upstream-pool.js';
import { sendWarmUp } from '../../src/upstream/warm-up-request.js';
import {
  chatRequest,
  makeClient,
  okStream,
  pools,
  sendJson,
  sendStream,
  startServer,
  useClientRig,
} from './client-rig.js';

useClientRig();

const core = createRequire(import.meta.url)('undici/lib/core/symbols') as Record<string, symbol>;
const symbols = {
  needDrain: Symbol('needDrain'),
  connected: core.kConnected!,
} as unknown as PoolSymbols;

/** A connection as undici keeps it: `busy` (needDrain) and `open` (connected). */
const connection = (open: boolean, busy = false): Indexed =>
  ({ [symbols.needDrain]: busy, [symbols.connected]: open }) as Indexed;

const choose = (clients: Indexed[], opening = false, cap = 4): Choice =>
  chooseConnection(clients, symbols, { opening, cap });

describe('the connection choice', () => {
  it('gives a request an open free connection before a closed idle one, wherever they are in the list', () => {
    const clients = [connection(false), connection(true, true), connection(true)];
    expect(choose(clients)).toEqual({ kind: 'client', index: 2 });
  });

  it('reopens a closed idle connection before adding one, and adds one only below the cap', () => {
    expect(choose([connection(true, true), connection(false)])).toEqual({ kind: 'client', index: 1 });
    expect(choose([connection(true, true), connection(true, true)])).toEqual({ kind: 'new' });
    expect(choose([connection(true, true), connection(true, true)], false, 2)).toEqual({ kind: 'none' });
    expect(choose([connection(true, true)], false, 0)).toEqual({ kind: 'new' }); // 0: no cap
  });

  it('takes the first open free connection in the list, so those at the back can expire when not needed', () => {
    const clients = [connection(true, true), connection(true), connection(true)];
    expect(choose(clients)).toEqual({ kind: 'client', index: 1 });
    expect(choose(clients)).toEqual({ kind: 'client', index: 1 }); // again: no rotation through the idle ones
  });

  it('gives a warm-up that opens a closed or a new connection, never an open one below the cap', () => {
    expect(choose([connection(true), connection(false)], true)).toEqual({ kind: 'client', index: 1 });
    expect(choose([connection(true)], true)).toEqual({ kind: 'new' });
    // At the cap it refreshes an open free connection rather than wait behind the turns.
    expect(choose([connection(true, true), connection(true)], true, 2)).toEqual({ kind: 'client', index: 1 });
    expect(choose([connection(true, true)], true, 1)).toEqual({ kind: 'none' });
  });

  it('gives a refresh the first open free connection that took a request before the given time, else the usual one', () => {
    const clients = [connection(true), connection(true, true), connection(true), connection(false)];
    const used = new Map<Indexed, number>([
      [clients[0]!, 900],
      [clients[1]!, 100],
      [clients[2]!, 100],
    ]);
    const refresh = (staleBefore: number): Choice =>
      chooseConnection(clients, symbols, { opening: false, cap: 4, staleBefore, usedAt: (c) => used.get(c) });
    // The busy one at 1 and the closed one at 3 are passed over; the stale free one is not the first free one.
    expect(refresh(500)).toEqual({ kind: 'client', index: 2 });
    used.set(clients[2]!, 600);
    expect(refresh(500)).toEqual({ kind: 'client', index: 0 }); // none stale: the first open free one
    used.delete(clients[2]!);
    expect(refresh(500)).toEqual({ kind: 'client', index: 2 }); // never seen taking a request: stale
  });
});

/** An upstream pool of 4 connections, and one GET /v1/models on it that resolves once its connection is free. */
function modelsPool(baseUrl: string, keepAliveTimeoutMs = 500) {
  const pool = createUpstreamPool(baseUrl, { connections: 4, keepAliveTimeoutMs });
  pools.push(pool);
  // undici frees a connection a turn after its response ended (chat-client.ts waits the same way).
  const get = () =>
    pool
      .request({ path: '/v1/models', method: 'GET' })
      .then((r) => r.body.dump())
      .then(() => new Promise((resolve) => setImmediate(resolve)));
  return { pool, get };
}

describe('the upstream pool', { timeout: 5000 }, () => {
  it('sends a request over an open free connection, not by reopening a closed one before it in the list', async () => {
    const sockets: Socket[] = [];
    let releaseFirst: (() => void) | undefined;
    const server = await startServer(({ req, res, n }) => {
      sockets.push(req.socket);
      // The first reply waits for the second request, so that the two take a connection each.
      if (n === 0) releaseFirst = () => sendStream(res, okStream(['first']));
      else {
        releaseFirst?.();
        releaseFirst = undefined;
        sendStream(res, okStream(['later']));
      }
    });
    const client = makeClient(server);
    const pool = pools.at(-1)!;
    const first = client.stream(chatRequest(), () => {});
    await vi.waitFor(() => expect(server.requests).toHaveLength(1));
    await Promise.all([first, client.stream(chatRequest(), () => {})]);
    expect(server.connections).toBe(2);
    // The upstream closes the first connection (its idle timeout, a restart): undici keeps it in its list, closed.
    const closed = new Promise((resolve) => pool.once('disconnect', resolve));
    sockets[0]!.destroy();
    await closed;
    await client.stream(chatRequest(), () => {});
    expect(sockets[2]).toBe(sockets[1]);
    expect(server.connections).toBe(2); // undici's own choice reopens the first connection here: 3
  });

  it('opens a connection for withNewConnection() even while an open one is free', async () => {
    const server = await startServer(({ res }) => sendJson(res, 200, { data: [] }));
    const { pool, get } = modelsPool(server.baseUrl);
    await get();
    await get();
    expect(server.connections).toBe(1); // a plain request rides the open free connection
    await pool.withNewConnection(get);
    expect(server.connections).toBe(2);
    await get();
    expect(server.connections).toBe(2);
  });

  it('knows when each connection last took a request, and refreshes one that took none since a time', async () => {
    const sockets: Socket[] = [];
    // Connections kept 10 s (its hint) and 5 s (the pool): none closes between the steps on a slow machine.
    const server = await startServer(({ req, res }) => {
      sockets.push(req.socket);
      sendJson(res, 200, { data: [] });
    }, 10_000);
    const { pool, get } = modelsPool(server.baseUrl, 5_000);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(1_000);
      await get(); // connection A
      vi.setSystemTime(2_000);
      await pool.withNewConnection(get); // connection B
      vi.setSystemTime(3_000);
      await get(); // A again: the first open free one
      const [a, b] = [sockets[0], sockets[1]];
      expect(sockets[2]).toBe(a);
      // undici asks for a second connection right after each dispatch (is another free?): that one took nothing.
      expect(pool.freshFree(2_500)).toBe(1);
      expect(pool.freshFree(1_500)).toBe(2);
      expect(pool.freshFree(3_001)).toBe(0);
      expect(fastGauge(pool).freshFree?.(2_500)).toBe(1); // what the warmer reads
      // The warmer's refresh asks for it so (warm-up-request.ts).
      const target = { dispatcher: pool, origin: new URL(server.baseUrl).origin, path: '/v1/models', headers: {} };
      expect((await sendWarmUp(target, { opens: false, staleBefore: 2_500 })).result.ok).toBe(true);
      expect(sockets[3]).toBe(b);
      expect(pool.freshFree(2_500)).toBe(2);
      await pool.withStaleConnection(2_500, get); // none is stale now: the usual choice
      expect(sockets[4]).toBe(a);
      expect(server.connections).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
