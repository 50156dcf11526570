// The per-connection send path (src/transports/outbox.ts) over a real ws connection on 127.0.0.1:0: events of
// one tick share one socket write, in order, and nothing corked is lost to a close or held back from a replay.
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../helpers.js';
import { WebSocket, WebSocketServer } from 'ws';
import { EventLog } from '../../src/hosting/event-log.js';
import { Outbox } from '../../src/hosting/outbox.js';

interface Pair {
  server: WebSocket;
  client: WebSocket;
  /** Socket writes (write or writev calls) the server side has made since the pair opened. */
  writes(): number;
  received: { seq: number; type: string; text?: string }[];
  closed: Promise<number>;
}

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function openPair(): Promise<Pair> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  const received: Pair['received'] = [];
  client.on('message', (data) => received.push(JSON.parse(String(data)) as Pair['received'][number]));
  const closed = new Promise<number>((resolve) => client.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve) => client.once('open', resolve));
  const server = await accepted;
  const raw = (server as unknown as { _socket: Socket & Record<'_write' | '_writev', (...args: unknown[]) => void> })
    ._socket;
  let count = 0;
  for (const name of ['_write', '_writev'] as const) {
    const original = raw[name].bind(raw);
    raw[name] = (...args: unknown[]) => {
      count += 1;
      original(...args);
    };
  }
  cleanups.push(async () => {
    client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  return { server, client, writes: () => count, received, closed };
}

const options = { softLimitBytes: 64 * 1024, hardLimitBytes: 1024 * 1024, onOverflow: () => {} };

describe('outbox', () => {
  it('sends the events of one tick in one socket write, in order', async () => {
    const pair = await openPair();
    const outbox = new Outbox(pair.server, new EventLog(100, 1024 * 1024), options);
    outbox.send({ type: 'response.delta', responseId: 'r1', text: 'Hello there.' });
    outbox.send({ type: 'response.speech', responseId: 'r1', index: 0, text: 'Hello there.' });
    outbox.send({ type: 'response.delta', responseId: 'r1', text: ' More' });
    await until(() => pair.received.length === 3);
    expect(pair.writes()).toBe(1);
    expect(pair.received.map((e) => [e.seq, e.type, e.text])).toEqual([
      [1, 'response.delta', 'Hello there.'],
      [2, 'response.speech', 'Hello there.'],
      [3, 'response.delta', ' More'],
    ]);
    // The next tick's event is a write of its own: nothing waits for more.
    outbox.send({ type: 'response.delta', responseId: 'r1', text: ' text' });
    await until(() => pair.received.length === 4);
    expect(pair.writes()).toBe(2);
  });

  it("does not count one tick's corked replies as a slow reader's backlog", async () => {
    const pair = await openPair();
    let overflowed = false;
    const tight = { softLimitBytes: 2048, hardLimitBytes: 8192, onOverflow: () => (overflowed = true) };
    const outbox = new Outbox(pair.server, new EventLog(0, 0), tight);
    // A burst of replies produced in one tick (answers to frames the client sent at once) is 100 KB in the cork.
    for (let i = 0; i < 100; i += 1)
      outbox.send({ type: 'response.speech', responseId: 'r1', index: i, text: 'x'.repeat(1000) });
    expect(pair.server.bufferedAmount).toBeGreaterThan(100_000);
    expect(outbox.pendingBytes).toBe(0);
    await until(() => pair.received.length === 100);
    expect(overflowed).toBe(false);
    expect(pair.received.map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(pair.writes()).toBe(1);
  });

  it('still counts what the reader did not take before this tick, and gives up on a reader that stopped', async () => {
    const pair = await openPair();
    let overflowed = false;
    const outbox = new Outbox(pair.server, new EventLog(0, 0), { ...options, onOverflow: () => (overflowed = true) });
    pair.client.pause();
    for (let tick = 0; tick < 400 && !overflowed; tick += 1) {
      outbox.send({ type: 'response.delta', responseId: 'r1', text: 'x'.repeat(64 * 1024) });
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    expect(overflowed).toBe(true);
    expect(outbox.pendingBytes).toBeGreaterThan(options.hardLimitBytes);
  });

  it('delivers what was sent in the same tick as a close, before the close', async () => {
    const pair = await openPair();
    const outbox = new Outbox(pair.server, new EventLog(0, 0), options);
    outbox.send({ type: 'response.delta', responseId: 'r1', text: 'last words' });
    outbox.flushAll();
    pair.server.close(4000, 'bye');
    expect(await pair.closed).toBe(4000);
    expect(pair.received.map((e) => e.text)).toEqual(['last words']);
  });

  it('writes a replay at once, ahead of the events that follow it', async () => {
    const pair = await openPair();
    const log = new EventLog(100, 1024 * 1024);
    for (let i = 0; i < 3; i += 1) log.append({ type: 'response.delta', responseId: 'r1', text: `old ${i}` });
    const missed = log.since(0) ?? [];
    const outbox = new Outbox(pair.server, log, options);
    outbox.send({ type: 'response.delta', responseId: 'r1', text: 'new 0' });
    outbox.replay(missed);
    expect(pair.server.bufferedAmount).toBe(0); // on loopback the kernel takes it all at once: nothing corked
    outbox.send({ type: 'response.delta', responseId: 'r1', text: 'new 1' });
    await until(() => pair.received.length === 5);
    expect(pair.received.map((e) => e.text)).toEqual(['new 0', 'old 0', 'old 1', 'old 2', 'new 1']);
  });
});
