// Resilience on the real gateway: the server side drops the socket (the test terminates it), and the client
// reconnects, resumes from its last seq and finishes the reply; or, when resume is impossible, carries on in a
// new session with its settings applied again; and it stops for good on a final close code.
import { afterEach, describe, expect, it } from 'vitest';
import { VoiceClient } from '../../../test/helpers.js';
import type { ChatMessage } from '../../../src/upstream/types.js';
import type { ConnectionState, Reply, ServerEvent, SessionEvents, VoiceSession } from '../src/index.js';
import { connect } from '../src/node.js';
import { collect, nextState, startStack, type Stack } from './support.js';

let stack: Stack;
afterEach(async () => {
  await stack.close();
});

const REPLY = 'One two three four five six seven eight.';

/** Reads the reply's deltas until they spell `text` (the stream holds at a simulator gate right after). */
async function readUntil(reply: Reply, text: string): Promise<void> {
  let seen = '';
  for await (const delta of reply.deltas) {
    seen += delta;
    if (seen === text) return;
  }
  throw new Error(`the reply ended at "${seen}"`);
}

/** The gateway's end of the session's socket, and the gateway's session. */
function serverSide(session: VoiceSession) {
  const hosted = stack.gateway.sessions.get(session.id);
  if (hosted?.socket === null || hosted?.socket === undefined) throw new Error('session not connected on the gateway');
  return { socket: hosted.socket, session: hosted.session };
}

function once<K extends 'resumed' | 'reset'>(session: VoiceSession, type: K): Promise<Parameters<SessionEvents[K]>[0]> {
  return new Promise((resolve) => {
    const off = session.on(type, ((info: Parameters<SessionEvents[K]>[0]) => {
      off();
      resolve(info);
    }) as SessionEvents[K]);
  });
}

describe('reconnect and resume', () => {
  it('resumes after the server drops the socket mid-reply; the reply finishes with every delta once', async () => {
    stack = await startStack();
    stack.simulator.enqueue({ reply: REPLY, gate: { name: 'mid', afterChunks: 3 } });
    const states: ConnectionState[] = [];
    const events: ServerEvent[] = [];
    const session = await connect({
      url: stack.voiceUrl,
      reconnect: { minDelayMs: 5, maxDelayMs: 20 },
      on: { state: (s) => states.push(s), event: (e) => events.push(e) },
    });
    const sessionId = session.id;
    const reply = session.turn('Count to eight');
    await readUntil(reply, 'One two three ');
    const reconnecting = nextState(session, 'reconnecting');
    const resumed = once(session, 'resumed');
    serverSide(session).socket.terminate();
    expect(await reconnecting).toMatchObject({ attempt: 1, closeCode: 1006 });
    expect(await resumed).toEqual({ sessionId, replayed: 0, missedEvents: false });
    stack.simulator.gate('mid').release();
    expect(await reply.done).toMatchObject({ status: 'completed', text: REPLY });
    const deltas = collect(reply.deltas);
    await deltas.finished;
    expect(deltas.items.join('')).toBe(REPLY);
    expect(events.filter((e) => e.type === 'response.delta')).toHaveLength(deltas.items.length);
    expect(events.find((e) => e.type === 'session.resumed')).toMatchObject({ sessionId, resumedFrom: 5, replayed: 0 });
    // Every event once, in order, with no gap: seq continues across the resume.
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(session.id).toBe(sessionId);
    // The conversation carries on in the same session, history intact; one upstream request served the reply.
    await session.turn('Again?').done;
    expect((stack.simulator.requests[1]?.body as { messages: ChatMessage[] }).messages.slice(1, 3)).toEqual([
      { role: 'user', content: 'Count to eight' },
      { role: 'assistant', content: REPLY },
    ]);
    await session.close();
    expect(states).toEqual(['connecting', 'open', 'reconnecting', 'open', 'closed']);
  });

  it('replays what it missed: a reply that completed while the client was away finishes from the replay', async () => {
    stack = await startStack();
    stack.simulator.enqueue({ reply: REPLY, gate: { name: 'away', afterChunks: 2 } });
    // A long backoff, skipped with reconnectNow() once the gateway has finished the reply.
    const session = await connect({ url: stack.voiceUrl, reconnect: { minDelayMs: 60_000, maxDelayMs: 60_000 } });
    const reply = session.turn('Count');
    await readUntil(reply, 'One two ');
    const server = serverSide(session);
    const reconnecting = nextState(session, 'reconnecting');
    server.socket.terminate();
    await reconnecting;
    expect(session.state).toBe('reconnecting');
    stack.simulator.gate('away').release();
    await server.session.whenIdle();
    const resumed = once(session, 'resumed');
    session.reconnectNow();
    const info = await resumed;
    expect(info.replayed).toBeGreaterThan(2);
    expect(info.missedEvents).toBe(false);
    expect(await reply.done).toMatchObject({ status: 'completed', text: REPLY });
    const deltas = collect(reply.deltas);
    await deltas.finished;
    expect(deltas.items.join('')).toBe(REPLY);
    await session.close();
  });

  it('carries on in a new session when resume is off: the reply in flight fails, settings are applied again', async () => {
    stack = await startStack({ env: { RESUME_TTL_MS: '0' } });
    stack.simulator.enqueue({ reply: REPLY, gate: { name: 'lost', afterChunks: 1 } });
    const session = await connect({
      url: stack.voiceUrl,
      settings: { instructions: 'Talk like a pirate.' },
      reconnect: { minDelayMs: 5 },
    });
    const firstId = session.id;
    const reply = session.turn('Count');
    await readUntil(reply, 'One ');
    const reset = once(session, 'reset');
    serverSide(session).socket.terminate();
    const info = await reset;
    expect(info).toMatchObject({
      previousSessionId: firstId,
      sessionId: session.id,
      reason: { code: 'CLIENT_SESSION_LOST' },
    });
    expect(session.id).not.toBe(firstId);
    await expect(reply.done).rejects.toMatchObject({
      name: 'VoiceGatewayError',
      code: 'CLIENT_SESSION_LOST',
      retryable: true,
    });
    stack.simulator.gate('lost').release();
    expect((await session.turn('Who are you?').done).status).toBe('completed');
    const messages = (stack.simulator.requests.at(-1)?.body as { messages: ChatMessage[] }).messages;
    expect(messages).toEqual([
      { role: 'system', content: 'Talk like a pirate.' },
      { role: 'user', content: 'Who are you?' },
    ]);
    await session.close();
  });

  it('stops for good, without reconnecting, when another connection takes the session over (close code 4003)', async () => {
    stack = await startStack();
    const states: ConnectionState[] = [];
    const session = await connect({
      url: stack.voiceUrl,
      reconnect: { minDelayMs: 5 },
      on: { state: (s) => states.push(s) },
    });
    await session.turn('Hi').done;
    const closed = nextState(session, 'closed');
    const other = await VoiceClient.connect(stack.voiceUrl);
    other.send({ type: 'session.resume', sessionId: session.id, resumeToken: session.ready.resumeToken, lastSeq: 0 });
    const detail = await closed;
    expect(detail.error).toMatchObject({ name: 'VoiceGatewayError', code: 'CLIENT_CONNECTION_LOST', closeCode: 4003 });
    expect(states).toEqual(['connecting', 'open', 'closed']);
    expect(() => session.turn('Still there?')).toThrow(expect.objectContaining({ code: 'CLIENT_CONNECTION_LOST' }));
    await other.close();
  });
});
