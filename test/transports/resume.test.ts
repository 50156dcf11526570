// Session resume (protocol 1.1): a dropped connection's session, history and running response survive; a client
// that reconnects with its resume token and last seq gets exactly what it missed, then carries on.
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerEvent } from '../../src/protocol.js';
import type { ChatMessage } from '../../src/upstream/types.js';
import { startStack, until, VoiceClient, type Stack } from '../helpers.js';

let stack: Stack;
afterEach(async () => {
  await stack.close();
});

type Ready = Extract<ServerEvent, { type: 'session.ready' }>;

function ready(client: VoiceClient): Ready {
  return client.events[0] as Ready;
}

function lastSeq(client: VoiceClient): number {
  return client.events.at(-1)?.seq ?? 0;
}

async function resume(from: VoiceClient): Promise<VoiceClient> {
  const client = await VoiceClient.connect(stack.voiceUrl);
  const { sessionId, resumeToken } = ready(from);
  client.send({ type: 'session.resume', sessionId, resumeToken, lastSeq: lastSeq(from) });
  await client.waitFor((e) => e.type === 'session.resumed' || e.type === 'error');
  return client;
}

function deltaText(events: readonly ServerEvent[], responseId: string): string {
  return events.flatMap((e) => (e.type === 'response.delta' && e.responseId === responseId ? [e.text] : [])).join('');
}

const REPLY = 'One two three four five six seven eight.';

describe('session resume', () => {
  it('session.end closes the socket and ends the session at once: it cannot be resumed', async () => {
    stack = await startStack();
    stack.simulator.enqueue({ reply: REPLY });
    const first = await VoiceClient.connect(stack.voiceUrl);
    first.send({ type: 'turn', text: 'Hello' });
    await first.waitForType('response.done');
    first.send({ type: 'session.end' });
    expect((await first.closed).code).toBe(1000);
    const { sessionId } = ready(first);
    await until(() => stack.gateway.sessions.get(sessionId) === undefined);
    const second = await resume(first);
    expect(second.events.at(-1)).toMatchObject({ type: 'error', code: 'GW_RESUME_FAILED' });
    await second.close();
  });

  it('announces protocol 1.3 with a resume token and its time to live', async () => {
    stack = await startStack();
    const client = await VoiceClient.connect(stack.voiceUrl);
    expect(ready(client)).toMatchObject({
      protocol: 1,
      minor: 4,
      resumeToken: expect.stringMatching(/^[\w-]{43}$/),
      limits: { resumeTtlMs: 120_000 },
    });
    await client.close();
  });

  it('resumes between responses with history and settings intact', async () => {
    stack = await startStack();
    stack.simulator.enqueue({ reply: 'Paris.' });
    const first = await VoiceClient.connect(stack.voiceUrl);
    first.send({ type: 'session.update', model: 'asi1' });
    await first.waitForType('session.updated');
    await first.turn('Capital of France?');
    await first.close();
    const second = await resume(first);
    expect(second.events.at(-1)).toMatchObject({
      type: 'session.resumed',
      sessionId: ready(first).sessionId,
      resumedFrom: lastSeq(first),
      replayed: 0,
      missedEvents: false,
    });
    // Numbering continues where the old connection stopped.
    expect(second.events.at(-1)?.seq).toBe(lastSeq(first) + 1);
    await second.turn('And Germany?');
    const [r1, r2] = stack.simulator.requests;
    expect(r2?.body).toMatchObject({ model: 'asi1' });
    expect((r2?.body as { messages: ChatMessage[] }).messages.slice(1)).toEqual([
      { role: 'user', content: 'Capital of France?' },
      { role: 'assistant', content: 'Paris.' },
      { role: 'user', content: 'And Germany?' },
    ]);
    expect(r2?.headers['x-session-id']).toBe(r1?.headers['x-session-id']);
    await second.close();
  });

  it('keeps a response streaming while the socket is gone and delivers the rest after resume', async () => {
    stack = await startStack();
    stack.simulator.enqueue({ reply: REPLY, gate: { name: 'mid', afterChunks: 3 } });
    const aborted: string[] = [];
    stack.simulator.events.on('stream-end', (end: { reason: string }) => aborted.push(end.reason));
    const first = await VoiceClient.connect(stack.voiceUrl);
    first.send({ type: 'turn', text: 'Count to eight' });
    const created = await first.waitForType('response.created');
    await stack.simulator.gate('mid').reached;
    await first.waitFor(() => deltaText(first.events, created.responseId) === 'One two three ');
    first.socket.terminate();
    await first.closed;
    const second = await resume(first);
    stack.simulator.gate('mid').release();
    const done = await second.waitFor((e) => e.type === 'response.done');
    expect(done).toMatchObject({ responseId: created.responseId, status: 'completed', text: REPLY });
    // Old deltas + new deltas = the whole reply, with no duplicate and no gap in seq.
    const all = [...first.events, ...second.events.slice(1)];
    expect(deltaText(all, created.responseId)).toBe(REPLY);
    const seqs = all.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(aborted).not.toContain('client-closed');
    expect(stack.simulator.requests).toHaveLength(1);
    await second.close();
  });

  it('replays a response that completed while the client was away', async () => {
    stack = await startStack();
    stack.simulator.enqueue({ reply: REPLY, gate: { name: 'away', afterChunks: 2 } });
    const completed = new Promise<void>((resolve) =>
      stack.simulator.events.on('stream-end', (end: { reason: string }) => end.reason === 'completed' && resolve()),
    );
    const first = await VoiceClient.connect(stack.voiceUrl);
    first.send({ type: 'turn', text: 'Count' });
    await stack.simulator.gate('away').reached;
    await first.waitForType('response.delta');
    await first.close();
    stack.simulator.gate('away').release();
    await completed;
    const second = await resume(first);
    const resumed = second.events.at(-1) as Extract<ServerEvent, { type: 'session.resumed' }>;
    expect(resumed.replayed).toBeGreaterThan(0);
    const replayedDone = second.events.find((e) => e.type === 'response.done');
    expect(replayedDone).toMatchObject({ status: 'completed', text: REPLY });
    await second.close();
  });

  it('refuses a wrong token with GW_RESUME_FAILED and carries on as a fresh session', async () => {
    stack = await startStack();
    const first = await VoiceClient.connect(stack.voiceUrl);
    await first.turn('Remember this');
    await first.close();
    const second = await VoiceClient.connect(stack.voiceUrl);
    second.send({
      type: 'session.resume',
      sessionId: ready(first).sessionId,
      resumeToken: 'not-the-token',
      lastSeq: 0,
      eventId: 'r1',
    });
    expect(await second.waitForType('error')).toMatchObject({
      code: 'GW_RESUME_FAILED',
      eventId: 'r1',
      retryable: false,
    });
    await second.turn('Hello again');
    const messages = (stack.simulator.requests.at(-1)?.body as { messages: ChatMessage[] }).messages;
    expect(messages.slice(1)).toEqual([{ role: 'user', content: 'Hello again' }]);
    // The real owner can still resume it.
    const third = await resume(first);
    expect(third.events.at(-1)?.type).toBe('session.resumed');
    await second.close();
    await third.close();
  });

  it('expires a dropped session after RESUME_TTL_MS, interrupting its response', async () => {
    stack = await startStack({ env: { RESUME_TTL_MS: '100' } });
    stack.simulator.enqueue({ reply: REPLY, gate: { name: 'ttl', afterChunks: 1 } });
    const upstreamClosed = new Promise<void>((resolve) =>
      stack.simulator.events.on('stream-end', (end: { reason: string }) => end.reason === 'client-closed' && resolve()),
    );
    const first = await VoiceClient.connect(stack.voiceUrl);
    first.send({ type: 'turn', text: 'Count' });
    await stack.simulator.gate('ttl').reached;
    await first.close();
    await upstreamClosed;
    const second = await resume(first);
    expect(second.events.at(-1)).toMatchObject({ type: 'error', code: 'GW_RESUME_FAILED' });
    stack.simulator.gate('ttl').release();
    await second.close();
  });

  it('takes a session over from a stale connection, which is closed with 4003', async () => {
    stack = await startStack();
    const first = await VoiceClient.connect(stack.voiceUrl);
    await first.turn('Hi');
    const second = await resume(first);
    expect((await first.closed).code).toBe(4003);
    expect((await second.turn('Still there?')).status).toBe('completed');
    await second.close();
  });

  it('says so when the replay buffer no longer holds everything that was missed', async () => {
    stack = await startStack({ env: { REPLAY_BUFFER_EVENTS: '5' } });
    const first = await VoiceClient.connect(stack.voiceUrl);
    await first.turn('Talk a while');
    const seen = first.events.slice(0, 2);
    await first.close();
    const second = await VoiceClient.connect(stack.voiceUrl);
    second.send({
      type: 'session.resume',
      sessionId: ready(first).sessionId,
      resumeToken: ready(first).resumeToken,
      lastSeq: seen.at(-1)?.seq ?? 0,
    });
    const resumed = await second.waitForType('session.resumed');
    expect(resumed).toMatchObject({ missedEvents: true, replayed: 5 });
    await second.close();
  });

  it('keeps no session waiting that holds nothing, and caps how many wait', async () => {
    stack = await startStack({ env: { MAX_CONNECTIONS: '2' } });
    await (await VoiceClient.connect(stack.voiceUrl)).close();
    expect(stack.gateway.sessions.detachedCount).toBe(0);
    const dropped: VoiceClient[] = [];
    for (let i = 0; i < 3; i += 1) {
      const client = await VoiceClient.connect(stack.voiceUrl);
      await client.turn(`turn ${i}`);
      await client.close();
      dropped.push(client);
    }
    // Closing is asynchronous on the server side; wait for the registry to reflect all three drops.
    while (stack.gateway.sessions.size > 0) await new Promise((resolve) => setImmediate(resolve));
    expect(stack.gateway.sessions.detachedCount).toBe(2);
    // The oldest was evicted; the newest two can still be resumed.
    expect((await resume(dropped[0] as VoiceClient)).events.at(-1)).toMatchObject({
      type: 'error',
      code: 'GW_RESUME_FAILED',
    });
    expect((await resume(dropped[2] as VoiceClient)).events.at(-1)).toMatchObject({ type: 'session.resumed' });
  });

  it('offers no resume when RESUME_TTL_MS=0', async () => {
    stack = await startStack({ env: { RESUME_TTL_MS: '0' } });
    const client = await VoiceClient.connect(stack.voiceUrl);
    expect(ready(client).resumeToken).toBeUndefined();
    expect(ready(client).limits.resumeTtlMs).toBe(0);
    await client.close();
  });
});
