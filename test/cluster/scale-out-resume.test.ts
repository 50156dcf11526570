// Scale-out with Redis: a client that drops resumes on either instance, between responses or mid-response (the
// rest of a response still streaming on the first instance is relayed), and sessions move back and forth.
import { describe, expect, it } from 'vitest';
import { until } from '../helpers.js';
import type { Done } from './scale-out-rig.js';
import {
  a,
  askResume,
  b,
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
    expect(second.events.at(-1)).toMatchObject({
      type: 'session.resumed',
      sessionId: ready(first).sessionId,
      resumedFrom: lastSeq(first),
      replayed: 0,
      missedEvents: false,
    });
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
    const stored = JSON.stringify([
      await probe.hgetall(`t${testNo}:s:${ready(first).sessionId}`),
      await probe.xrange(`t${testNo}:s:${ready(first).sessionId}:ev`, '-', '+'),
    ]);
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
    await until(
      async () =>
        (await probe.hget(`t${testNo}:s:${ready(first).sessionId}`, 'owner')) === bId &&
        a.gateway.sessions.get(ready(first).sessionId) === undefined,
    );
    await probe.quit();
    // B owns it without hosting it; resuming on A brings it back, announced once for this resume.
    const third = await connect(a);
    askResume(third, first, lastSeq(first), 'resume-a');
    const resumed = await third.waitFor((e) => e.type === 'session.resumed' && e.eventId === 'resume-a');
    expect(resumed).toMatchObject({ resumedFrom: lastSeq(first), missedEvents: false });
    // The replay holds the rest of the reply (and B's unanswered announcement, told apart by its eventId).
    expect(third.events.find((e) => e.type === 'response.done')).toMatchObject({ status: 'completed', text: REPLY });
    expect(third.events.filter((e) => e.type === 'session.resumed').map((e) => e.eventId)).toEqual([
      'resume-b',
      'resume-a',
    ]);
    expectGapless(sessionEvents(first, third));
    await expectNextTurnAfterReply(third, 'Count', 'Go on');
  });

  it('keeps a first turn whose socket dropped while the shared rate limit was being checked', async () => {
    await startPair();
    const first = await connect(a);
    first.send({ type: 'turn', text: 'Said just before the drop' });
    first.socket.terminate();
    const second = await resumeOn(a, first, { lastSeq: 1 });
    expect(
      second.events.at(-1)?.type === 'session.resumed' || second.events.some((e) => e.type === 'session.resumed'),
    ).toBe(true);
    await second.waitFor((e) => e.type === 'response.done');
    simulator.enqueue({ reply: 'Yes.' });
    await second.turn('Did you hear me?');
    expect(
      lastMessages()
        .filter((m) => m.role === 'user')
        .map((m) => m.content),
    ).toEqual(['Said just before the drop', 'Did you hear me?']);
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
    const markers = async () =>
      (await probe.xrange(`t${testNo}:s:${sessionId}:ev`, '-', '+')).filter(([, fields]) => fields[0] === 'r');
    await until(async () => (await markers()).length > 0);
    expect(second.socket.readyState).toBe(second.socket.OPEN);
    expect(a.gateway.sessions.get(sessionId)?.handedTo).toBeNull();
    expect((await second.turn('Still mine?')).status).toBe('completed');
    // The turn's events were written after any second refusal would have been: there is none.
    await until(async () =>
      JSON.stringify(await probe.xrange(`t${testNo}:s:${sessionId}:ev`, '-', '+')).includes('response.done'),
    );
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
    expect(
      lastMessages()
        .filter((m) => m.role === 'user')
        .map((m) => m.content),
    ).toEqual(['Turn 0', 'Turn 1', 'Turn 2', 'Turn 3']);
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
    expect(second.events.at(-1)).toMatchObject({
      responseId: created.responseId,
      status: 'failed',
      text: 'One two ',
      error: { code: 'GW_INSTANCE_LOST', retryable: true },
    });
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
    expect(
      lastMessages()
        .filter((m) => m.role === 'user')
        .map((m) => m.content),
    ).toEqual(['Before the deploy', 'After the deploy']);
  });
});
