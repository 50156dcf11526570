// The simulator over TLS and HTTP/2, and what it records of connections: an id per connection, whether a request
// was the first on its connection, the connection cost a new one pays before its first answer, and counts. Real
// sockets on port 0, a throw-away CA; order and counts are asserted, never durations.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Client, type Dispatcher } from 'undici';
import { startSimulator, type Simulator } from '../../src/simulator/server.js';
import { createUpstreamPool } from '../../src/upstream/upstream-pool.js';
import { until } from '../helpers.js';
import { testCertificates } from '../tls-certificates.js';

const CHAT = JSON.stringify({ model: 'asi1-mini', messages: [{ role: 'user', content: 'Hi' }], stream: true });

let sim: Simulator | undefined;
const dispatchers: Dispatcher[] = [];

afterEach(async () => {
  for (const dispatcher of dispatchers.splice(0)) await dispatcher.destroy();
  await sim?.close();
  sim = undefined;
});
afterAll(() => testCertificates().remove());

async function startTls(options: { http2?: boolean; connectionCostMs?: number } = {}): Promise<Simulator> {
  const { key, cert } = testCertificates();
  sim = await startSimulator({ tls: { key, cert }, defaults: { ttftMs: 0, interTokenMs: 0 }, ...options });
  return sim;
}

/** One HTTP/1.1 connection to the simulator, trusting the test CA. */
function h1Client(url: string): Client {
  const client = new Client(new URL(url).origin, { connect: { ca: testCertificates().ca } });
  dispatchers.push(client);
  return client;
}

async function chat(dispatcher: Dispatcher): Promise<string> {
  const response = await dispatcher.request({
    path: '/v1/chat/completions',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: CHAT,
    idempotent: true, // else undici sends one POST at a time on an HTTP/2 connection (as the gateway's client does)
  });
  return response.body.text();
}

async function models(dispatcher: Dispatcher): Promise<number> {
  const response = await dispatcher.request({ path: '/v1/models', method: 'GET' });
  await response.body.dump();
  return response.statusCode;
}

describe('the simulator over TLS', () => {
  it('serves HTTPS and records the connection of every request', async () => {
    const simulator = await startTls();
    expect(simulator.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/v1$/);
    const client = h1Client(simulator.url);
    expect(await models(client)).toBe(200);
    expect(await chat(client)).toContain('data: [DONE]');
    expect(await chat(client)).toContain('data: [DONE]');
    // One keep-alive connection: the models request opened it, so no chat request was the first on it.
    expect(simulator.requests.map((r) => [r.connection, r.newConnection])).toEqual([
      [1, false],
      [1, false],
    ]);
    expect(simulator.connectionStats()).toEqual({ opened: 1, open: 1, peak: 1, requests: 3 });
  });

  it('records connections over plain HTTP too', async () => {
    sim = await startSimulator({ defaults: { ttftMs: 0, interTokenMs: 0 } });
    const client = new Client(new URL(sim.url).origin);
    dispatchers.push(client);
    await chat(client);
    expect(sim.requests.map((r) => [r.connection, r.newConnection])).toEqual([[1, true]]);
    expect(sim.connectionStats()).toMatchObject({ opened: 1, requests: 1 });
  });

  it('makes a new connection pay its cost before its handshake ends, and an open one answer at once', async () => {
    const simulator = await startTls({ connectionCostMs: 500 });
    const warm = h1Client(simulator.url);
    await models(warm); // its connection paid the cost
    const sentAt = performance.timeOrigin + performance.now();
    const cold = h1Client(simulator.url);
    const coldChat = chat(cold); // a new connection: its handshake is held for the cost
    await chat(warm);
    await coldChat;
    // The warm connection's request, sent after the cold one's, was answered (and recorded) first.
    expect(simulator.requests.map((r) => [r.connection, r.newConnection])).toEqual([
      [1, false],
      [2, true],
    ]);
    // Only the cold one's connection was asked for after its request was sent: it paid for that connection.
    const [onWarm, onCold] = simulator.requests;
    expect(onWarm?.connectionRequestedAt).toBeLessThan(sentAt);
    expect(onCold?.connectionRequestedAt).toBeGreaterThanOrEqual(sentAt);
  });

  it('refuses HTTP/2 without TLS', async () => {
    await expect(startSimulator({ http2: true })).rejects.toThrow('HTTP/2 only over TLS');
  });
});

describe('the simulator over HTTP/2', () => {
  it('carries concurrent streams on one connection, and still answers HTTP/1.1 clients', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): number => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const simulator = await startTls({ http2: true });
      const pool = createUpstreamPool(simulator.url, { connections: 4, http: 'h2', ca: testCertificates().ca });
      dispatchers.push(pool);
      // Open (undici opens a connection per request while none is open, whatever the protocol).
      expect(await models(pool)).toBe(200);
      simulator.setDefaults({ reply: 'One two three.', gate: { name: 'together', afterChunks: 1 } });
      const replies = [chat(pool), chat(pool), chat(pool)];
      await until(() => simulator.activeStreams() === 3);
      simulator.gate('together').release();
      for (const reply of await Promise.all(replies)) expect(reply).toContain('data: [DONE]');
      expect(simulator.requests.map((r) => r.connection)).toEqual([1, 1, 1]);
      expect(simulator.requests.map((r) => r.newConnection)).toEqual([false, false, false]);
      simulator.setDefaults({ gate: undefined });
      expect(await chat(h1Client(simulator.url))).toContain('data: [DONE]');
      expect(simulator.requests.at(-1)).toMatchObject({ connection: 2, newConnection: true });
      expect(simulator.connectionStats()).toMatchObject({ opened: 2, requests: 5 });
    } finally {
      process.off('warning', onWarning);
    }
    // No Connection header (or anything else) that HTTP/2 would drop with a warning.
    expect(warnings).toEqual([]);
  });

  it('closes with HTTP/2 streams open', async () => {
    const simulator = await startTls({ http2: true });
    const pool = createUpstreamPool(simulator.url, { connections: 1, http: 'h2', ca: testCertificates().ca });
    dispatchers.push(pool);
    simulator.enqueue({ stallAfterChunks: 1 });
    const stalled = chat(pool).catch((err: unknown) => err);
    await until(() => simulator.activeStreams() === 1);
    await simulator.close();
    expect(await stalled).toBeInstanceOf(Error);
  });
});
