// Scale-out with Redis: ownership and hand-off edge cases (stalled heartbeats, a third instance, drains during a
// hand-off, slow readers during a relay, vanished or refused Redis records, two resumes at once).
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { VoiceClient } from '../helpers.js';
import { until, startGatewayFor } from '../helpers.js';
import type { Done } from './scale-out-rig.js';
import {
  a,
  askResume,
  b,
  clients,
  connect,
  countHeldOnA,
  deltaText,
  expectGapless,
  expectNextTurnAfterReply,
  lastMessages,
  lastSeq,
  ready,
  redis,
  REPLY,
  resumeOn,
  sessionEvents,
  simulator,
  startPair,
  testNo,
  useScaleOutRig,
} from './scale-out-rig.js';

useScaleOutRig();

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
    expect(
      lastMessages()
        .filter((m) => m.role === 'user')
        .map((m) => m.content),
    ).toEqual(['Before the stall', 'After the stall']);
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
    const markers = (await probe.xrange(`t${testNo}:s:${ready(first).sessionId}:ev`, '-', '+')).filter(
      ([, fields]) => fields[0] === 'r',
    );
    await probe.quit();
    expect(markers.map(([, fields]) => fields[1])).toEqual([bId]);
    simulator.gate('drain').release();
    simulator.enqueue({ reply: 'Back.' });
    await second.turn('Are you back?');
    expect(
      lastMessages()
        .filter((m) => m.role === 'user')
        .map((m) => m.content),
    ).toEqual(['Count', 'Are you back?']);
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
    expect(
      lastMessages()
        .filter((m) => m.role === 'user')
        .map((m) => m.content),
    ).toEqual(['Before the eviction', 'After the deploy']);
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
    expect(await third.waitFor((e) => e.type === 'response.done')).toMatchObject({
      responseId: created.responseId,
      status: 'interrupted',
    });
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
    expect(await winner.waitFor((e) => e.type === 'response.done')).toMatchObject({
      responseId: created.responseId,
      status: 'completed',
      text: REPLY,
    });
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
    expect(
      lastMessages()
        .filter((m) => m.role === 'user')
        .map((m) => m.content),
    ).toEqual(['Remember this', 'And this', 'What did I say?']);
  });
});
