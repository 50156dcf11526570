// The warmer's one-pass pool counts must equal what undici's own `pool.stats` says, in every state a pool
// goes through with a real server: empty, connecting, busy, queued beyond its connections, free again, and
// after a connection is destroyed.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { errors, Pool, type Dispatcher } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  fastGauge,
  freeConnectionFinder,
  openConnectionCounter,
  poolCountsReader,
  type PoolCounts,
} from '../../src/upstream/pool-counts.js';
import { until } from '../helpers.js';

const held: ServerResponse[] = [];
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.write('x');
  held.push(res);
});
let pool: Pool | undefined;

afterEach(async () => {
  for (const res of held.splice(0)) res.end();
  await pool?.destroy();
  pool = undefined;
  if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
});

const undiciCounts = (p: Pool): PoolCounts => {
  const { connected, free, pending, queued } = p.stats;
  return { connected, free, pending, queued };
};

/** The test server listening, and a Pool of `connections` (pipelining 1) on it. */
async function startPool(connections: number): Promise<Pool> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections, pipelining: 1 });
  return pool;
}

describe('pool counts in one pass, and whether one is free', () => {
  it("equal undici's stats while connections open, fill, queue, free up and break", async () => {
    const p = await startPool(2);
    const read = poolCountsReader(p);
    // The one-pass reader is in use, not the fallback to `stats`.
    Object.defineProperty(p, 'stats', {
      configurable: true,
      get: () => expect.unreachable('read pool.stats') as never,
    });
    expect(read().connected).toBe(0);
    expect(freeConnectionFinder(p)()).toBe(false);
    Reflect.deleteProperty(p, 'stats');
    const hasFree = freeConnectionFinder(p);
    const check = (): PoolCounts => {
      const counts = read();
      expect(counts).toEqual(undiciCounts(p));
      expect(hasFree()).toBe(counts.free > 0);
      return counts;
    };
    expect(check()).toEqual({ connected: 0, free: 0, pending: 0, queued: 0 });
    const requests = [1, 2, 3].map(() => p.request({ path: '/', method: 'GET' }));
    expect(check().pending).toBeGreaterThan(0); // two connecting, one queued in the pool
    expect(check().queued).toBe(1);
    await until(() => held.length === 2);
    const responses = await Promise.all(requests.slice(0, 2));
    expect(check()).toMatchObject({ connected: 2, free: 0, queued: 1 });
    held.shift()?.end();
    await responses[0]!.body.dump();
    await until(() => held.length === 2); // the queued request took the freed connection
    expect(check()).toMatchObject({ connected: 2, free: 0, queued: 0 });
    for (const res of held.splice(0)) res.end();
    await Promise.all([responses[1]!.body.dump(), requests[2]!.then((r) => r.body.dump())]);
    await until(() => read().free === 2);
    expect(check()).toEqual({ connected: 2, free: 2, pending: 0, queued: 0 });
    server.closeAllConnections();
    await until(() => read().connected === 0);
    expect(check()).toEqual({ connected: 0, free: 0, pending: 0, queued: 0 });
  });

  it('searches from the connection it found free last, wraps around, and survives the list shrinking', () => {
    const symbols = createRequire(import.meta.url)('undici/lib/core/symbols') as Record<string, symbol>;
    const [kConnected, kPending, kQueued] = [symbols.kConnected!, symbols.kPending!, symbols.kQueued!];
    const kClients = Symbol('clients');
    const kNeedDrain = Symbol('needDrain');
    const read: number[] = [];
    const client = (index: number) => {
      const state = { [kNeedDrain]: true, [kPending]: 0, open: true };
      // `connected` is a getter in undici: record which clients the search asked, in order.
      Object.defineProperty(state, kConnected, { get: () => (read.push(index), state.open) });
      return state;
    };
    const clients = [client(0), client(1), client(2)];
    const fake = { [kClients]: clients, [kNeedDrain]: false, [kQueued]: 0, [Symbol('options')]: {} } as unknown as Pool;
    const hasFree = freeConnectionFinder(fake);
    expect(hasFree()).toBe(false);
    expect(read).toEqual([]); // every client busy: the cheap field rules them out, no getter is read
    clients[2]![kNeedDrain] = false;
    expect(hasFree()).toBe(true);
    clients[0]![kNeedDrain] = false;
    clients[0]!.open = false; // free but closed: not usable, and asked only if the search reaches it
    read.length = 0;
    expect(hasFree()).toBe(true);
    expect(read).toEqual([2]); // the next search starts where the last one found a free connection
    clients[2]![kNeedDrain] = true;
    expect(hasFree()).toBe(false); // wraps around to 0: free but closed
    expect(read.slice(-2)).toEqual([2, 0]);
    clients[0]!.open = true;
    expect(hasFree()).toBe(true); // before the start: found by wrapping around
    clients[0]![kNeedDrain] = true;
    clients[2]![kNeedDrain] = false;
    expect(hasFree()).toBe(true); // the last hit is now index 2 …
    clients.splice(1, 2); // … and undici drops two clients (a failed connect, clientTtl)
    clients[0]![kNeedDrain] = false;
    expect(hasFree()).toBe(true);
    clients.length = 0;
    expect(hasFree()).toBe(false);
  });

  it("count open connections from the pool's events, as many as its stats once each one settles", async () => {
    const p = await startPool(3);
    const read = poolCountsReader(p);
    const open = openConnectionCounter(p)!;
    expect(open()).toBe(0);
    const connections: Dispatcher[] = [];
    p.on('connect', (_origin, targets) => connections.push(targets.at(-1)!));
    const requests = [1, 2].map(() => p.request({ path: '/', method: 'GET' }));
    await until(() => held.length === 2);
    const responses = await Promise.all(requests);
    expect(open()).toBe(2);
    expect(read().connected).toBe(2);
    // A counter made now starts from the connections open now.
    const later = openConnectionCounter(p)!;
    expect(later()).toBe(2);
    // HTTP/2 reports a connection that receives GOAWAY disconnected twice: it still counts once.
    for (let i = 0; i < 2; i += 1)
      p.emit('disconnect', new URL('http://x'), [p, connections[0]!], new errors.SocketError('goaway'));
    expect(open()).toBe(1);
    for (const res of held.splice(0)) res.end();
    await Promise.all(responses.map((r) => r.body.dump()));
    server.closeAllConnections();
    await until(() => open() === 0 && later() === 0);
    expect(read().connected).toBe(0);
    // A plain Pool cannot tell which connection took a request: the warmer gets no freshness from it.
    expect(fastGauge(p).freshFree).toBeUndefined();
    // Without undici's internals the connections open before it cannot be listed: no counter.
    expect(openConnectionCounter({ on: () => undefined } as unknown as Pool)).toBeUndefined();
  });

  it("falls back to the pool's stats when undici's internals are not there", () => {
    const stats = { connected: 3, free: 1, pending: 2, queued: 0, running: 2, size: 2 };
    const read = poolCountsReader({ stats } as unknown as Pool);
    expect(read()).toEqual({ connected: 3, free: 1, pending: 2, queued: 0 });
  });
});
