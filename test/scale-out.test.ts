// Scale-out with Redis: two gateway instances share one real redis-server. A client that drops can resume on
// either instance, between responses or in the middle of one (the rest of a response still streaming on the
// first instance is relayed to the second); limits hold across instances; Redis can die and come back.
import type { Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ServerEvent } from '../src/protocol.js';
import { startSimulator, type Simulator } from '../src/simulator/server.js';
import type { ChatMessage } from '../src/upstream/types.js';
import { startGatewayFor, until, VoiceClient, type GatewayUnderTest } from './helpers.js';
import { RedisServer } from './redis-server.js';

type Ready = Extract<ServerEvent, { type: 'session.ready' }>;
type Done = Extract<ServerEvent, { type: 'response.done' }>;

const REPLY = 'One two three four five six seven eight.';

let redis: RedisServer;
let simulator: Simulator;
let a: GatewayUnderTest;
let b: GatewayUnderTest;
let testNo = 0;
const clients: VoiceClient[] = [];

beforeAll(async () => {
  redis = await RedisServer.start();
});
afterAll(async () => {
  await redis.kill();
});

async function startPair(env: Record<string, string> = {}): Promise<void> {
  testNo += 1;
  simulator = await startSimulator({ port: 0, host: '127.0.0.1', defaults: { ttftMs: 0, interTokenMs: 0 } });
  const shared = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: `t${testNo}:`, ...env };
  a = await startGatewayFor(simulator.url, { env: shared });
  b = await startGatewayFor(simulator.url, { env: shared });
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
  await a.close();
  await b.close();
  await simulator.close();
});

async function connect(gateway: GatewayUnderTest): Promise<VoiceClient> {
  const client = await VoiceClient.connect(gateway.voiceUrl);
  clients.push(client);
  return client;
}

function ready(client: VoiceClient): Ready {
  return client.events[0] as Ready;
}

function lastSeq(client: VoiceClient): number {
  return client.events.at(-1)?.seq ?? 0;
}

/** Resumes `from`'s session on `gateway`; resolves at session.resumed or an error. */
async function resumeOn(gateway: GatewayUnderTest, from: VoiceClient, options: { lastSeq?: number; token?: string } = {}): Promise<VoiceClient> {
  const client = await connect(gateway);
  const { sessionId, resumeToken } = ready(from);
  client.send({ type: 'session.resume', sessionId, resumeToken: options.token ?? resumeToken ?? '', lastSeq: options.lastSeq ?? lastSeq(from) });
  await client.waitFor((e) => e.type === 'session.resumed' || e.type === 'error');
  return client;
}

/** Asks, on `client`, to resume the session `from` started, after `lastSeq`. */
function askResume(client: VoiceClient, from: VoiceClient, lastSeq: number, eventId?: string): void {
  const { sessionId, resumeToken } = ready(from);
  client.send({ type: 'session.resume', sessionId, resumeToken: resumeToken ?? '', lastSeq, ...(eventId === undefined ? {} : { eventId }) });
}

function deltaText(events: readonly ServerEvent[], responseId: string): string {
  return events.flatMap((e) => (e.type === 'response.delta' && e.responseId === responseId ? [e.text] : [])).join('');
}

/** The events of one session across its connections, each after its own session.ready (dropped). */
function sessionEvents(...connections: VoiceClient[]): ServerEvent[] {
  const [first, ...rest] = connections;
  return [...(first?.events ?? []), ...rest.flatMap((c) => c.events.slice(1))];
}

function expectGapless(events: readonly ServerEvent[]): void {
  const seqs = events.map((e) => e.seq);
  expect(seqs).toEqual(seqs.map((_, i) => i + 1));
}

function lastMessages(): ChatMessage[] {
  return (simulator.requests.at(-1)?.body as { messages: ChatMessage[] }).messages.slice(1);
}

/** The next turn on `client` completes with the reply to `asked` (REPLY, however it reached the client) in its history. */
async function expectNextTurnAfterReply(client: VoiceClient, asked: string, next: string): Promise<void> {
  simulator.enqueue({ reply: 'Next.' });
  expect((await client.turn(next)).status).toBe('completed');
  expect(lastMessages()).toEqual([
    { role: 'user', content: asked },
    { role: 'assistant', content: REPLY },
    { role: 'user', content: next },
  ]);
}

/** A client on A whose reply to "Count" is held by gate `gate` after "One two ": the response is mid-stream. */
async function countHeldOnA(gate: string): Promise<{ first: VoiceClient; created: Extract<ServerEvent, { type: 'response.created' }> }> {
  simulator.enqueue({ reply: REPLY, gate: { name: gate, afterChunks: 2 } });
  const first = await connect(a);
  first.send({ type: 'turn', text: 'Count' });
  const created = await first.waitForType('response.created');
  await simulator.gate(gate).reached;
  await first.waitFor(() => deltaText(first.events, created.responseId) === 'One two ');
  return { first, created };
}

describe('scale-out: resume on another instance', () => {
  it('resumes between responses on the other instance with history, settings and numbering intact', async () => {
    await startPair();
    simulator.enqueue({ reply: 'Paris.' });
    const first = await connect(a);
    first.send({ type: 'session.update', model: 'asi1' });
    await first.waitForType('session.updated');
    await first.turn('Capital of France?');
    await first.close();
    const second = await resumeOn(b, first);
    expect(second.events.at(-1)).toMatchObject({ type: 'session.resumed', sessionId: ready(first).sessionId, resumedFrom: lastSeq(first), replayed: 0, missedEvents: false });
    expectGapless(sessionEvents(first, second));
    await second.turn('And Germany?');
    expect(simulator.requests.at(-1)?.body).toMatchObject({ model: 'asi1' });
    expect(lastMessages()).toEqual([
      { role: 'user', content: 'Capital of France?' },
      { role: 'assistant', content: 'Paris.' },
      { role: 'user', content: 'And Germany?' },
    ]);
    expect(simulator.requests.at(-1)?.headers['x-session-id']).toBe(simulator.requests[0]?.headers['x-session-id']);
    // The session now lives on B: A no longer hosts it.
    expect(a.gateway.sessions.get(ready(first).sessionId)).toBeUndefined();
    // Redis holds the token's digest only, never the token itself.
    const probe = redis.client();
    const stored = JSON.stringify([await probe.hgetall(`t${testNo}:s:${ready(first).sessionId}`), await probe.xrange(`t${testNo}:s:${ready(first).sessionId}:ev`, '-', '+')]);
    await probe.quit();
    expect(stored).not.toContain(ready(first).resumeToken ?? 'no token');
  });

  it('relays the rest of a response still streaming on the first instance, then carries on there', async () => {
    await startPair();
    simulator.enqueue({ reply: REPLY, gate: { name: 'mid', afterChunks: 3 } });
    const ends: string[] = [];
    simulator.events.on('stream-end', (end: { reason: string }) => ends.push(end.reason));
    const first = await connect(a);
    first.send({ type: 'turn', text: 'Count to eight' });
    const created = await first.waitForType('response.created');
    await simulator.gate('mid').reached;
    await first.waitFor(() => deltaText(first.events, created.responseId) === 'One two three ');
    first.socket.terminate();
    await first.closed;
    const second = await resumeOn(b, first);
    simulator.gate('mid').release();
    const done = (await second.waitFor((e) => e.type === 'response.done')) as Done;
    expect(done).toMatchObject({ responseId: created.responseId, status: 'completed', text: REPLY });
    const all = sessionEvents(first, second);
    expect(deltaText(all, created.responseId)).toBe(REPLY);
    expectGapless(all);
    expect(ends).toEqual(['completed']);
    // The next turn runs on B, with the relayed reply in its history.
    await until(() => b.gateway.sessions.get(ready(first).sessionId) !== undefined);
    await expectNextTurnAfterReply(second, 'Count to eight', 'And then?');
    expectGapless(sessionEvents(first, second));
  });

  it('forwards a barge-in on the new instance to the response still running on the old one', async () => {
    await startPair();
    const { first, created } = await countHeldOnA('hold');
    first.socket.terminate();
    const second = await resumeOn(b, first);
    second.send({ type: 'response.cancel', responseId: created.responseId });
    const done = (await second.waitFor((e) => e.type === 'response.done')) as Done;
    expect(done).toMatchObject({ responseId: created.responseId, status: 'interrupted' });
    simulator.enqueue({ reply: 'Sure.' });
    await second.turn('Stop. Say sure.');
    expect(lastMessages()).toEqual([
      { role: 'user', content: 'Count' },
      { role: 'assistant', content: 'One two [interrupted by the user]' },
      { role: 'user', content: 'Stop. Say sure.' },
    ]);
    simulator.gate('hold').release();
  });

  it('holds a new turn sent during the hand-off until the session has moved, and loses none of it', async () => {
    await startPair();
    simulator.enqueue({ reply: REPLY, gate: { name: 'slow', afterChunks: 1 } });
    const first = await connect(a);
    first.send({ type: 'turn', text: 'Count' });
    await simulator.gate('slow').reached;
    await first.waitForType('response.delta');
    first.socket.terminate();
    const second = await resumeOn(b, first);
    simulator.enqueue({ reply: 'Here.' });
    second.send({ type: 'turn', text: 'Are you there?' });
    const done = await second.waitFor((e) => e.type === 'response.done' && e.status === 'completed');
    expect(done).toMatchObject({ text: 'Here.' });
    expect(lastMessages()).toEqual([
      { role: 'user', content: 'Count' },
      { role: 'assistant', content: 'One [interrupted by the user]' },
      { role: 'user', content: 'Are you there?' },
    ]);
    simulator.gate('slow').release();
    expectGapless(sessionEvents(first, second));
  });

  it('takes a session back when the client leaves the new instance before the hand-off completed', async () => {
    await startPair();
    const { first, created } = await countHeldOnA('back');
    first.socket.terminate();
    const second = await resumeOn(b, first);
    second.socket.terminate();
    await second.closed;
    const third = await resumeOn(a, first, { lastSeq: lastSeq(second) });
    expect(third.events.at(-1)).toMatchObject({ type: 'session.resumed', missedEvents: false });
    simulator.gate('back').release();
    expect(await third.waitFor((e) => e.type === 'response.done')).toMatchObject({ status: 'completed', text: REPLY });
    const all = sessionEvents(first, second, third);
    expectGapless(all);
    expect(deltaText(all, created.responseId)).toBe(REPLY);
    await expectNextTurnAfterReply(third, 'Count', 'Next');
  });

  it('resumes where the session went after a hand-off the client never saw completed', async () => {
    await startPair();
    const { first } = await countHeldOnA('gone');
    first.socket.terminate();
    // The client starts a resume on B and leaves it at once; A still hands the session to B when its reply ends.
    const second = await connect(b);
    askResume(second, first, lastSeq(first), 'resume-b');
    const bId = b.gateway.scaleOut?.instanceId;
    await until(() => a.gateway.sessions.get(ready(first).sessionId)?.handedTo === bId);
    second.socket.terminate();
    await second.closed;
    simulator.gate('gone').release();
    const probe = redis.client();
    await until(async () => (await probe.hget(`t${testNo}:s:${ready(first).sessionId}`, 'owner')) === bId && a.gateway.sessions.get(ready(first).sessionId) === undefined);
    await probe.quit();
    // B owns it without hosting it; resuming on A brings it back, announced once for this resume.
    const third = await connect(a);
    askResume(third, first, lastSeq(first), 'resume-a');
    const resumed = await third.waitFor((e) => e.type === 'session.resumed' && e.eventId === 'resume-a');
    expect(resumed).toMatchObject({ resumedFrom: lastSeq(first), missedEvents: false });
    // The replay holds the rest of the reply (and B's unanswered announcement, told apart by its eventId).
    expect(third.events.find((e) => e.type === 'response.done')).toMatchObject({ status: 'completed', text: REPLY });
    expect(third.events.filter((e) => e.type === 'session.resumed').map((e) => e.eventId)).toEqual(['resume-b', 'resume-a']);
    expectGapless(sessionEvents(first, third));
    await expectNextTurnAfterReply(third, 'Count', 'Go on');
  });

  it('keeps a first turn whose socket dropped while the shared rate limit was being checked', async () => {
    await startPair();
    const first = await connect(a);
    first.send({ type: 'turn', text: 'Said just before the drop' });
    first.socket.terminate();
    const second = await resumeOn(a, first, { lastSeq: 1 });
    expect(second.events.at(-1)?.type === 'session.resumed' || second.events.some((e) => e.type === 'session.resumed')).toBe(true);
    await second.waitFor((e) => e.type === 'response.done');
    simulator.enqueue({ reply: 'Yes.' });
    await second.turn('Did you hear me?');
    expect(lastMessages().filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['Said just before the drop', 'Did you hear me?']);
  });

  it('refuses a hand-off asked for by a resume the client abandoned, keeping the newer live connection', async () => {
    await startPair();
    const first = await connect(a);
    await first.turn('Hi');
    await first.close();
    const second = await resumeOn(a, first);
    const sessionId = ready(first).sessionId;
    const aId = a.gateway.scaleOut?.instanceId ?? '';
    const probe = redis.client();
    // As if B had read the session before `second` attached, then sent its request late (twice: a relay
    // re-sends until answered). The second copy arrives while the first is being checked: one verdict for both.
    const stale = JSON.stringify({ t: 'handoff', sessionId, to: b.gateway.scaleOut?.instanceId, lastSeq: 0, epoch: 1 });
    await probe.publish(`t${testNo}:ctl:${aId}`, stale);
    await probe.publish(`t${testNo}:ctl:${aId}`, stale);
    const markers = async () => (await probe.xrange(`t${testNo}:s:${sessionId}:ev`, '-', '+')).filter(([, fields]) => fields[0] === 'r');
    await until(async () => (await markers()).length > 0);
    expect(second.socket.readyState).toBe(second.socket.OPEN);
    expect(a.gateway.sessions.get(sessionId)?.handedTo).toBeNull();
    expect((await second.turn('Still mine?')).status).toBe('completed');
    // The turn's events were written after any second refusal would have been: there is none.
    await until(async () => JSON.stringify(await probe.xrange(`t${testNo}:s:${sessionId}:ev`, '-', '+')).includes('response.done'));
    expect((await markers()).map(([, fields]) => fields[1])).toEqual([aId]);
    await probe.quit();
  });

  it('moves a session back and forth between the instances', async () => {
    await startPair();
    let client = await connect(a);
    const origin = client;
    const connections = [client];
    for (const [i, target] of [b, a, b].entries()) {
      simulator.enqueue({ reply: `Reply ${i}.` });
      await client.turn(`Turn ${i}`);
      await client.close();
      client = await resumeOn(target, origin, { lastSeq: lastSeq(client) });
      expect(client.events.at(-1)?.type).toBe('session.resumed');
      connections.push(client);
    }
    simulator.enqueue({ reply: 'Last.' });
    await client.turn('Turn 3');
    expect(lastMessages().filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['Turn 0', 'Turn 1', 'Turn 2', 'Turn 3']);
    expectGapless(sessionEvents(...connections));
  });

  it('closes the stale connection on the old instance with 4003', async () => {
    await startPair();
    const first = await connect(a);
    await first.turn('Hi');
    const second = await resumeOn(b, first);
    expect((await first.closed).code).toBe(4003);
    expect((await second.turn('Still there?')).status).toBe('completed');
  });

  it('refuses a wrong token on the other instance and carries on as a fresh session', async () => {
    await startPair();
    const first = await connect(a);
    await first.turn('Remember this');
    await first.close();
    const second = await resumeOn(b, first, { token: 'not-the-token' });
    expect(second.events.at(-1)).toMatchObject({ type: 'error', code: 'GW_RESUME_FAILED', retryable: false });
    await second.turn('Hello again');
    expect(lastMessages()).toEqual([{ role: 'user', content: 'Hello again' }]);
    // The right token still works afterwards.
    expect((await resumeOn(b, first)).events.at(-1)?.type).toBe('session.resumed');
  });

  it('forgets a session everywhere once RESUME_TTL_MS has passed', async () => {
    await startPair({ RESUME_TTL_MS: '300' });
    const first = await connect(a);
    await first.turn('Short-lived');
    await first.close();
    const probe = redis.client();
    await until(async () => (await probe.exists(`t${testNo}:s:${ready(first).sessionId}`)) === 0);
    await probe.quit();
    expect((await resumeOn(b, first)).events.at(-1)).toMatchObject({ type: 'error', code: 'GW_RESUME_FAILED' });
    expect((await resumeOn(a, first)).events.at(-1)).toMatchObject({ type: 'error', code: 'GW_RESUME_FAILED' });
  });

  it('takes over from an instance that died mid-response: the user turn and what was said are kept', async () => {
    await startPair();
    const { first, created } = await countHeldOnA('crash');
    // A dies as far as the cluster can tell: its presence and its Redis connections are gone.
    await a.gateway.scaleOut?.close();
    first.socket.terminate();
    const second = await resumeOn(b, first);
    // Replay of what was missed, session.resumed, then the dead owner's response reported as failed.
    expect(second.events.map((e) => e.type).slice(1)).toEqual(['session.resumed', 'response.done']);
    expect(second.events.at(-1)).toMatchObject({ responseId: created.responseId, status: 'failed', text: 'One two ', error: { code: 'GW_INSTANCE_LOST', retryable: true } });
    expectGapless(sessionEvents(first, second));
    simulator.gate('crash').release();
    simulator.enqueue({ reply: 'Again.' });
    await second.turn('Try again');
    expect(lastMessages()).toEqual([
      { role: 'user', content: 'Count' },
      { role: 'assistant', content: 'One two [cut off by a connection error]' },
      { role: 'user', content: 'Try again' },
    ]);
  });

  it('leaves drained sessions to the other instance on shutdown', async () => {
    await startPair();
    const first = await connect(a);
    await first.turn('Before the deploy');
    await a.gateway.drain(0);
    expect((await first.closed).code).toBe(1001);
    const second = await resumeOn(b, first);
    expect(second.events.at(-1)).toMatchObject({ type: 'session.resumed', missedEvents: false });
    await second.turn('After the deploy');
    expect(lastMessages().filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['Before the deploy', 'After the deploy']);
  });
});

describe('scale-out: ownership and hand-off edge cases', () => {
  it('drops its copy when another instance took the session over while its heartbeat stalled', async () => {
    await startPair();
    const first = await connect(a);
    await first.turn('Before the stall');
    const sessionId = ready(first).sessionId;
    // A's heartbeat stops (a long pause, a partition from Redis's point of view), but A itself carries on.
    await a.gateway.scaleOut?.presence.stop();
    const second = await resumeOn(b, first);
    expect(second.events.at(-1)).toMatchObject({ type: 'session.resumed', sessionId });
    // A never noticed and still has the old socket. The next thing it writes bounces off the ownership fence:
    // it drops its copy and closes that socket as stale, instead of splitting the conversation in two.
    simulator.enqueue({ reply: 'Split brain.' });
    first.send({ type: 'turn', text: 'Said on the stale copy' });
    expect((await first.closed).code).toBe(4003);
    await until(() => a.gateway.sessions.get(sessionId) === undefined);
    const probe = redis.client();
    expect(await probe.hget(`t${testNo}:s:${sessionId}`, 'owner')).toBe(b.gateway.scaleOut?.instanceId);
    const stream = JSON.stringify(await probe.xrange(`t${testNo}:s:${sessionId}:ev`, '-', '+'));
    await probe.quit();
    expect(stream).not.toContain('Split brain');
    simulator.enqueue({ reply: 'Still here.' });
    await second.turn('After the stall');
    expect(lastMessages().filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['Before the stall', 'After the stall']);
  });

  it('follows a session handed to a third instance instead of failing, when the client resumes mid-hand-off', async () => {
    await startPair();
    const c = await startGatewayFor(simulator.url, { env: { REDIS_URL: redis.url, REDIS_KEY_PREFIX: `t${testNo}:` } });
    try {
      const { first, created } = await countHeldOnA('three');
      first.socket.terminate();
      // B asks A for the session; the client leaves B before A's reply ends, and resumes on C.
      const second = await resumeOn(b, first);
      const bId = b.gateway.scaleOut?.instanceId;
      expect(a.gateway.sessions.get(ready(first).sessionId)?.handedTo).toBe(bId);
      second.socket.terminate();
      await second.closed;
      const third = await connect(c);
      clients.push(third);
      askResume(third, first, lastSeq(second), 'on-c');
      simulator.gate('three').release();
      // A hands it to B (the request it heard first); C follows it there and gets it from B.
      const resumed = await third.waitFor((e) => e.type === 'session.resumed' && e.eventId === 'on-c');
      expect(resumed).toMatchObject({ resumedFrom: lastSeq(second), missedEvents: false });
      const all = sessionEvents(first, second, third).filter((e) => e !== resumed);
      expect(deltaText(all, created.responseId)).toBe(REPLY);
      expect(all.find((e) => e.type === 'response.done')).toMatchObject({ status: 'completed', text: REPLY });
      expectGapless([...all, resumed].sort((x, y) => x.seq - y.seq));
      expect(third.socket.readyState).toBe(third.socket.OPEN);
      await expectNextTurnAfterReply(third, 'Count', 'And then?');
    } finally {
      await c.close();
    }
  });

  it('releases a session once when its old owner drains in the middle of the hand-off', async () => {
    await startPair();
    const { first, created } = await countHeldOnA('drain');
    first.socket.terminate();
    const second = await resumeOn(b, first);
    await a.gateway.drain(0);
    const done = (await second.waitFor((e) => e.type === 'response.done')) as Done;
    expect(done).toMatchObject({ responseId: created.responseId, status: 'interrupted' });
    const bId = b.gateway.scaleOut?.instanceId;
    await until(() => b.gateway.sessions.get(ready(first).sessionId) !== undefined);
    const probe = redis.client();
    const markers = (await probe.xrange(`t${testNo}:s:${ready(first).sessionId}:ev`, '-', '+')).filter(([, fields]) => fields[0] === 'r');
    await probe.quit();
    expect(markers.map(([, fields]) => fields[1])).toEqual([bId]);
    simulator.gate('drain').release();
    simulator.enqueue({ reply: 'Back.' });
    await second.turn('Are you back?');
    expect(lastMessages().filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['Count', 'Are you back?']);
    expectGapless(sessionEvents(first, second));
  });

  it('disconnects a client that stops reading during a relay, like any slow consumer', async () => {
    await startPair({ SEND_BUFFER_SOFT_BYTES: '4096', SEND_BUFFER_HARD_BYTES: '262144', MAX_OUTPUT_TOKENS: '32768' });
    // ~15 MB of events, relayed from A through Redis: more than the loopback socket buffers absorb.
    simulator.enqueue({ reply: `${'x'.repeat(150)} `.repeat(32_768), gate: { name: 'big', afterChunks: 2 } });
    const first = await connect(a);
    first.send({ type: 'turn', text: 'Say a lot' });
    await simulator.gate('big').reached;
    await first.waitForType('response.delta');
    first.socket.terminate();
    const second = await connect(b);
    const raw = (second.socket as unknown as { _socket: Socket })._socket;
    askResume(second, first, lastSeq(first));
    raw.pause();
    simulator.gate('big').release();
    const slow = /asi1_gateway_rejected_connections_total\{reason="slow_consumer"\} 1/;
    await until(async () => slow.test(await (await fetch(`${b.httpUrl}/metrics`)).text()));
    raw.resume();
    expect((await second.closed).code).toBe(4001);
  });

  it('brings a session whose Redis record vanished back whole when its instance drains', async () => {
    await startPair();
    const first = await connect(a);
    await first.turn('Before the eviction');
    const key = `t${testNo}:s:${ready(first).sessionId}`;
    const probe = redis.client();
    await probe.del(key, `${key}:ev`);
    await probe.quit();
    await a.gateway.drain(0);
    const second = await resumeOn(b, first);
    expect(second.events.at(-1)).toMatchObject({ type: 'session.resumed', missedEvents: false });
    await second.turn('After the deploy');
    expect(lastMessages().filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['Before the eviction', 'After the deploy']);
  });

  it('answers a second resume on the same new instance during a hand-off, so its barge-in reaches the owner', async () => {
    await startPair();
    const { first, created } = await countHeldOnA('again');
    first.socket.terminate();
    // The first relay to B is abandoned after A answered it; the client resumes on B once more.
    const second = await resumeOn(b, first);
    second.socket.terminate();
    await second.closed;
    const third = await connect(b);
    askResume(third, first, lastSeq(second), 'again');
    await third.waitFor((e) => e.type === 'session.resumed' && e.eventId === 'again');
    // The reply is still held upstream: only a barge-in that reaches A ends it.
    third.send({ type: 'response.cancel', responseId: created.responseId });
    expect(await third.waitFor((e) => e.type === 'response.done')).toMatchObject({ responseId: created.responseId, status: 'interrupted' });
    simulator.gate('again').release();
    simulator.enqueue({ reply: 'Yes.' });
    expect((await third.turn('Still there?')).status).toBe('completed');
    expect(lastMessages()).toEqual([
      { role: 'user', content: 'Count' },
      { role: 'assistant', content: 'One two [interrupted by the user]' },
      { role: 'user', content: 'Still there?' },
    ]);
  });

  it('lets only one of two connections resuming one session on the same instance at once have it', async () => {
    await startPair();
    const { first, created } = await countHeldOnA('twins');
    first.socket.terminate();
    const twins = [await connect(b), await connect(b)];
    // One event behind, so each relay sends it at once: then both relays are under way before the reply ends.
    for (const twin of twins) askResume(twin, first, lastSeq(first) - 1);
    await until(() => twins.every((twin) => twin.events.length > 1));
    simulator.gate('twins').release();
    // Both relayed the rest of the reply; one gets the session, the other is told it was resumed elsewhere.
    const loser = await Promise.race(twins.map((twin) => twin.closed.then(() => twin)));
    expect((await loser.closed).code).toBe(4003);
    const winner = twins.find((twin) => twin !== loser) as VoiceClient;
    expect(await winner.waitFor((e) => e.type === 'response.done')).toMatchObject({ responseId: created.responseId, status: 'completed', text: REPLY });
    await until(() => (b.gateway.sessions.get(ready(first).sessionId)?.socket ?? null) !== null);
    await expectNextTurnAfterReply(winner, 'Count', 'Who has it?');
  });

  it('rewrites a session whose writes Redis refused while it stayed up, a moment later', async () => {
    await startPair();
    const first = await connect(a);
    await first.turn('Before');
    const key = `t${testNo}:s:${ready(first).sessionId}`;
    const writeErrors = async () => {
      const text = await (await fetch(`${a.httpUrl}/metrics`)).text();
      return Number(text.match(/asi1_gateway_redis_errors_total\{operation="write"\} (\d+)/)?.[1] ?? 0);
    };
    const before = await writeErrors();
    const probe = redis.client();
    try {
      // Out of memory with no eviction: Redis stays up (no reconnect, no catch-up) but refuses every write.
      await probe.config('SET', 'maxmemory-policy', 'noeviction');
      await probe.config('SET', 'maxmemory', '1');
      first.send({ type: 'session.update', instructions: 'Set while Redis refused writes' });
      await first.waitForType('session.updated');
      await until(async () => (await writeErrors()) > before);
    } finally {
      await probe.config('SET', 'maxmemory', '0');
    }
    // Nothing else happens in the session: only the retry can bring Redis up to date.
    await until(async () => (await probe.hget(key, 'snap'))?.includes('Set while Redis refused writes') === true);
    await probe.quit();
  });

  it('keeps an attached session in Redis through the longest client-tool wait, and rewrites a record that expired', async () => {
    await startPair({ CLIENT_TOOL_TIMEOUT_MS: '600000', IDLE_TIMEOUT_MS: '1000' });
    const first = await connect(a);
    await first.turn('Remember this');
    const sessionId = ready(first).sessionId;
    const key = `t${testNo}:s:${sessionId}`;
    const probe = redis.client();
    expect(await probe.pttl(key)).toBeGreaterThan(600_000);
    // The record vanishes (evicted, or expired during a pause); the next write puts the whole session back.
    await probe.del(key, `${key}:ev`);
    await first.turn('And this');
    await until(async () => (await probe.hget(key, 'snap'))?.includes('And this') === true);
    expect(await probe.hget(key, 'owner')).toBe(a.gateway.scaleOut?.instanceId);
    // The stream came back whole too, from the session's first event (a take-over replays from it).
    await until(async () => (await probe.hget(key, 'seq')) === String(lastSeq(first)));
    const seqs = (await probe.xrange(`${key}:ev`, '-', '+')).flatMap(([, fields]) => {
      const first = Number(fields[1]);
      return (fields[3] ?? '').split('\n').map((_, i) => first + i);
    });
    expect([...new Set(seqs)].sort((x, y) => x - y)).toEqual(Array.from({ length: lastSeq(first) }, (_, i) => i + 1));
    await probe.quit();
    await first.close();
    const second = await resumeOn(b, first);
    expect(second.events.at(-1)).toMatchObject({ type: 'session.resumed', missedEvents: false });
    await second.turn('What did I say?');
    expect(lastMessages().filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['Remember this', 'And this', 'What did I say?']);
  });
});

describe('scale-out: limits across instances', () => {
  it('counts connections per client address over both instances', async () => {
    await startPair({ MAX_CONNECTIONS_PER_IP: '2' });
    await connect(a);
    await connect(b);
    await expect(VoiceClient.connect(a.voiceUrl)).rejects.toThrow(/429/);
    await expect(VoiceClient.connect(b.voiceUrl)).rejects.toThrow(/429/);
  });

  it('does not count plain requests on a keep-alive connection as WebSocket connections', async () => {
    await startPair({ MAX_CONNECTIONS_PER_IP: '2' });
    // Two plain GETs on one keep-alive connection (which stays open afterwards) hold no count.
    for (let i = 0; i < 2; i += 1) {
      const response = await fetch(`${a.httpUrl}/v1/voice`);
      await response.arrayBuffer();
      expect(response.status).toBe(404);
      expect(response.headers.get('connection')).toBe('keep-alive');
    }
    await connect(a);
    await connect(b);
    await expect(VoiceClient.connect(a.voiceUrl)).rejects.toThrow(/429/);
  });

  it('keeps counting a session\'s turns after it moved to the other instance', async () => {
    await startPair({ TURNS_PER_MINUTE: '2' });
    const first = await connect(a);
    await first.turn('one');
    await first.turn('two');
    await first.close();
    const second = await resumeOn(b, first);
    second.send({ type: 'turn', text: 'three', eventId: 't3' });
    expect(await second.waitForType('error')).toMatchObject({ code: 'GW_RATE_LIMITED', eventId: 't3' });
  });
});

describe('scale-out: Redis outages', () => {
  it('serves from memory while Redis is down, reports degraded, and catches up when it returns', async () => {
    await startPair();
    const before = await connect(a);
    await before.turn('Before the outage');
    await redis.kill();
    try {
      await until(async () => ((await (await fetch(`${a.httpUrl}/readyz`)).json()) as { status: string }).status === 'degraded');
      const readyz = await fetch(`${a.httpUrl}/readyz`);
      expect(readyz.status).toBe(200);
      expect(await readyz.json()).toMatchObject({ status: 'degraded', redis: 'down' });
      expect(await (await fetch(`${a.httpUrl}/metrics`)).text()).toMatch(/^asi1_gateway_redis_up 0$/m);
      // New conversations and local resumes keep working.
      const during = await connect(a);
      expect((await during.turn('During the outage')).status).toBe('completed');
      await during.close();
      const resumedLocally = await resumeOn(a, during);
      expect(resumedLocally.events.at(-1)?.type).toBe('session.resumed');
      expect((await before.turn('Still here')).status).toBe('completed');
      // Another instance cannot reach the session meanwhile: a clear error, and a fresh session.
      await resumedLocally.close();
      const elsewhere = await resumeOn(b, during);
      expect(elsewhere.events.at(-1)).toMatchObject({ type: 'error', code: 'GW_RESUME_FAILED' });
    } finally {
      await redis.restart();
    }
    await until(async () => ((await (await fetch(`${a.httpUrl}/readyz`)).json()) as { status: string }).status === 'ready');
    expect(await (await fetch(`${a.httpUrl}/metrics`)).text()).toMatch(/^asi1_gateway_redis_up 1$/m);
    // Redis restarted empty; the sessions A kept in memory were written again and resume on B.
    const sessionId = ready(before).sessionId;
    const probe = redis.client();
    await until(async () => (await probe.exists(`t${testNo}:s:${sessionId}`)) === 1);
    await probe.quit();
    await before.close();
    const moved = await resumeOn(b, before);
    expect(moved.events.at(-1)).toMatchObject({ type: 'session.resumed', missedEvents: false });
    simulator.enqueue({ reply: 'Welcome back.' });
    await moved.turn('After the outage');
    expect(lastMessages().filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['Before the outage', 'Still here', 'After the outage']);
  });
});
