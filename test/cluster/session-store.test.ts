// The shared session store and the relay against a real redis-server, below the gateway: the ownership fence
// (an instance that lost a session can never write into it again), what is read back from Redis being checked
// like any external input, and a relay that re-sends a lost hand-off request and gives up on a silent owner.
import { pino } from 'pino';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers.js';
import { channelOf, ControlChannel, type ControlMessage } from '../../src/cluster/control-channel.js';
import { InstancePresence } from '../../src/cluster/instance-presence.js';
import { RedisLink } from '../../src/cluster/redis-link.js';
import { RemoteResume } from '../../src/cluster/remote-resume.js';
import { SessionStore, type SessionState } from '../../src/cluster/session-store.js';
import type { LoggedEvent } from '../../src/hosting/event-log.js';
import type { SessionSnapshot } from '../../src/session/snapshot.js';
import { createResumeToken, digestToken } from '../../src/hosting/session-registry.js';
import { RedisServer } from '../redis-server.js';

const TTL = 60_000;
const SNAPSHOT: SessionSnapshot = {
  v: 1,
  settings: { model: 'asi1-mini', instructions: '', temperature: null, maxOutputTokens: 256, tools: [] },
  turns: [
    [
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: 'Hi.' },
    ],
  ],
  responseCounter: 1,
};

let server: RedisServer;
let link: RedisLink;
let raw: Redis;
let store: SessionStore;
let prefix = '';
let tests = 0;

beforeAll(async () => {
  server = await RedisServer.start();
  raw = server.client();
});
afterAll(async () => {
  raw.disconnect();
  await server.kill();
});
afterEach(async () => {
  await link.close();
});

async function fresh(): Promise<void> {
  tests += 1;
  prefix = `st${tests}:`;
  link = new RedisLink(server.url, prefix, pino({ level: 'silent' }));
  await link.ready(5_000);
  store = new SessionStore(link, { maxEvents: 100 });
}

function events(first: number, count: number): LoggedEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    seq: first + i,
    json: JSON.stringify({ type: 'response.delta', seq: first + i, text: `w${first + i} ` }),
  }));
}

function state(seq: number, token = createResumeToken()): SessionState {
  return { digest: digestToken(token), snapshot: SNAPSHOT, seq, epoch: 1 };
}

async function streamSeqs(sessionId: string): Promise<number[]> {
  return (await store.readAll(sessionId)).flatMap((item) => ('events' in item ? item.events.map((e) => e.seq) : []));
}

describe('session store: the ownership fence', () => {
  it('lets only the owner write; a loser is told and changes nothing', async () => {
    await fresh();
    expect(await store.write('s1', { owner: 'A', events: events(1, 2), state: state(2), ttlMs: TTL })).toBe('ok');
    expect(await store.takeOwnership('s1', 'A', 'B', TTL)).toBe(true);
    // A did not notice (its heartbeat stalled): its writes, rewrites, releases and deletes all bounce.
    expect(await store.write('s1', { owner: 'A', events: events(3, 1), state: state(3), ttlMs: TTL })).toBe('lost');
    expect(
      await store.write('s1', { owner: 'A', events: events(1, 3), state: state(3), ttlMs: TTL, replace: true }),
    ).toBe('lost');
    expect(
      await store.release('s1', { owner: 'A', events: events(3, 1), to: 'C', state: state(3), lastSeq: 3, ttlMs: TTL }),
    ).toBe('lost');
    await store.delete('s1', 'A');
    const stored = await store.load('s1');
    expect(stored).toMatchObject({ owner: 'B', seq: 2 });
    expect(await streamSeqs('s1')).toEqual([1, 2]);
    expect((await store.readAll('s1')).some((item) => 'releasedTo' in item)).toBe(false);
    // The owner still writes.
    expect(await store.write('s1', { owner: 'B', events: events(3, 1), state: null, ttlMs: TTL })).toBe('ok');
    expect(await streamSeqs('s1')).toEqual([1, 2, 3]);
    expect((await store.load('s1'))?.seq).toBe(3);
  });

  it('recreates an expired record only from a write that brings its whole state and stream', async () => {
    await fresh();
    expect(await store.write('s2', { owner: 'A', events: events(1, 1), state: state(1), ttlMs: TTL })).toBe('ok');
    await raw.del(`${prefix}s:s2`, `${prefix}s:s2:ev`);
    expect(await store.write('s2', { owner: 'A', events: events(2, 1), state: null, ttlMs: TTL })).toBe('missing');
    // Full state but only the newest events: the stream would start mid-session.
    expect(await store.write('s2', { owner: 'A', events: events(2, 1), state: state(2), ttlMs: TTL })).toBe('missing');
    expect(await raw.exists(`${prefix}s:s2`, `${prefix}s:s2:ev`)).toBe(0);
    expect(
      await store.write('s2', { owner: 'A', events: events(1, 2), state: state(2), ttlMs: TTL, replace: true }),
    ).toBe('ok');
    expect(await store.load('s2')).toMatchObject({ owner: 'A', seq: 2, epoch: 1 });
    expect(await streamSeqs('s2')).toEqual([1, 2]);
    expect(await raw.pttl(`${prefix}s:s2`)).toBeGreaterThan(0);
    expect(await raw.pttl(`${prefix}s:s2:ev`)).toBeGreaterThan(0);
  });

  it('releases atomically: last events, new owner, then the marker; a release to nobody leaves it free', async () => {
    await fresh();
    await store.write('s3', { owner: 'A', events: events(1, 1), state: state(1), ttlMs: TTL });
    expect(
      await store.release('s3', { owner: 'A', events: events(2, 1), to: 'B', state: state(2), lastSeq: 2, ttlMs: TTL }),
    ).toBe('ok');
    const items = await store.readAll('s3');
    expect(items.at(-1)).toMatchObject({ releasedTo: 'B', lastSeq: 2 });
    expect(await store.load('s3')).toMatchObject({ owner: 'B', seq: 2 });
    expect(await store.release('s3', { owner: 'B', events: [], to: '', state: null, lastSeq: 2, ttlMs: TTL })).toBe(
      'ok',
    );
    expect(await store.takeOwnership('s3', '', 'C', TTL)).toBe(true);
    await store.delete('s3', 'C');
    expect(await store.load('s3')).toBeNull();
  });

  it('keeps the stored seq on a write that carries state but no events', async () => {
    await fresh();
    expect(await store.write('s6', { owner: 'A', events: events(1, 5), state: state(5), ttlMs: TTL })).toBe('ok');
    expect(await store.write('s6', { owner: 'A', events: [], state: { ...state(5), epoch: 2 }, ttlMs: TTL })).toBe(
      'ok',
    );
    expect(await store.load('s6')).toMatchObject({ seq: 5, epoch: 2 });
  });

  it('lets only the owner refuse, and never creates a stream that is gone (it would have no TTL)', async () => {
    await fresh();
    await store.refuse('s4', 'A', 'B');
    expect(await raw.exists(`${prefix}s:s4:ev`)).toBe(0);
    await store.write('s4', { owner: 'A', events: events(1, 1), state: state(1), ttlMs: TTL });
    await store.refuse('s4', 'B', 'C');
    expect((await store.readAll('s4')).some((item) => 'releasedTo' in item)).toBe(false);
    await store.refuse('s4', 'A', 'B');
    expect((await store.readAll('s4')).at(-1)).toMatchObject({ releasedTo: 'A', lastSeq: 0, refused: 'B' });
  });

  it('fails a write that meets a Redis without its script instead of replaying it out of order, then works again', async () => {
    await fresh();
    expect(await store.write('s7', { owner: 'A', events: events(1, 1), state: state(1), ttlMs: TTL })).toBe('ok');
    await raw.script('FLUSH');
    await expect(store.write('s7', { owner: 'A', events: events(2, 1), state: null, ttlMs: TTL })).rejects.toThrow(
      /NOSCRIPT/,
    );
    // The failed call loaded the script again, in order, for the calls after it.
    expect(await store.write('s7', { owner: 'A', events: events(2, 1), state: null, ttlMs: TTL })).toBe('ok');
    expect(await streamSeqs('s7')).toEqual([1, 2]);
  });
});

describe('session store: what Redis hands back is checked', () => {
  it('treats a damaged record as no record', async () => {
    await fresh();
    const good = { digest: 'ab'.repeat(32), snap: JSON.stringify(SNAPSHOT), owner: 'A', seq: '4', epoch: '2' };
    await raw.hset(`${prefix}s:ok`, good);
    expect(await store.load('ok')).toMatchObject({ owner: 'A', seq: 4, epoch: 2 });
    const damaged: Record<string, string>[] = [
      { ...good, seq: 'NaN' },
      { ...good, seq: '-1' },
      { ...good, epoch: '1.5' },
      { ...good, owner: 'x'.repeat(200) },
      { ...good, owner: 'has space' },
      { ...good, digest: 'zz' },
      { ...good, snap: '{"v":2}' },
    ];
    for (const [i, fields] of damaged.entries()) {
      await raw.hset(`${prefix}s:bad${i}`, fields);
      expect(await store.load(`bad${i}`)).toBeNull();
    }
  });

  it('skips damaged stream entries and markers', async () => {
    await fresh();
    const key = `${prefix}s:s5:ev`;
    await raw.xadd(key, '*', 'f', '1', 'e', '{"a":1}');
    await raw.xadd(key, '*', 'f', 'x', 'e', '{"a":2}');
    await raw.xadd(key, '*', 'r', 'B', 's', 'NaN');
    await raw.xadd(key, '*', 'r', 'B', 's', '-3');
    await raw.xadd(key, '*', 'r', 'bad owner', 's', '3');
    await raw.xadd(key, '*', 'r', 'B', 's', '3');
    const items = await store.readAll('s5');
    expect(items).toHaveLength(2);
    expect(items[0]).toMatchObject({ events: [{ seq: 1, json: '{"a":1}' }] });
    expect(items[1]).toMatchObject({ releasedTo: 'B', lastSeq: 3 });
  });
});

describe('relay: an owner that does not answer', () => {
  async function relayTo(owner: string, answerMs: number, stallMs = 60_000) {
    const token = createResumeToken();
    await store.write('r1', { owner, events: events(1, 3), state: state(3, token), ttlMs: TTL });
    // The owner is alive (it beats) but its subscriber never hears the request.
    const ownerPresence = new InstancePresence(link, owner);
    ownerPresence.start();
    const presence = new InstancePresence(link, 'B');
    const relayed: LoggedEvent[] = [];
    const resume = new RemoteResume({
      store,
      link,
      presence,
      control: new ControlChannel(link, 'B'),
      instanceId: 'B',
      ttlMs: TTL,
      answerMs,
      stallMs,
      request: { type: 'session.resume', sessionId: 'r1', resumeToken: token, lastSeq: 1 },
      target: { write: (event) => relayed.push(event) },
      logger: pino({ level: 'silent' }),
    });
    return { resume, relayed, stop: () => ownerPresence.stop() };
  }

  /** Subscribes like owner `id` would, collecting what arrives on its channel. */
  async function listenAs(
    id: string,
  ): Promise<{ messages: ControlMessage[]; next: () => Promise<ControlMessage>; close: () => void }> {
    const listener = server.client();
    const messages: ControlMessage[] = [];
    const waiters: ((m: ControlMessage) => void)[] = [];
    await listener.subscribe(channelOf(link, id));
    listener.on('message', (_channel: string, raw: string) => {
      const message = JSON.parse(raw) as ControlMessage;
      messages.push(message);
      waiters.shift()?.(message);
    });
    return {
      messages,
      next: () => new Promise((resolve) => waiters.push(resolve)),
      close: () => listener.disconnect(),
    };
  }

  /** The owner's answer to the relay's request, as its handOff writes it into the stream. */
  async function announce(seq: number): Promise<void> {
    const resumed = JSON.stringify({
      type: 'session.resumed',
      sessionId: 'r1',
      resumedFrom: 1,
      replayed: 2,
      missedEvents: false,
      seq,
    });
    await raw.xadd(`${prefix}s:r1:ev`, '*', 'f', String(seq), 'e', resumed);
  }

  it('holds forwarded frames until the owner answered, sends at most a bounded number, then gives up on a stalled owner', async () => {
    await fresh();
    const owner = await listenAs('A');
    const { resume, stop } = await relayTo('A', 30_000, 1_500);
    expect(await owner.next()).toMatchObject({ t: 'handoff' });
    for (let i = 0; i < 40; i += 1) resume.forward({ type: 'tool.result', callId: `c${i}`, output: 'x' });
    resume.forward({ type: 'response.cancel' });
    expect(owner.messages.filter((m) => m.t === 'frame')).toHaveLength(0);
    await announce(4);
    const outcome = await resume.done;
    await stop();
    // A last message on the relay's own connection: everything it published before has arrived once this has.
    await new ControlChannel(link, 'B').send('A', { t: 'frame', sessionId: 'end', frame: '{}' });
    await until(() => owner.messages.some((m) => m.t === 'frame' && m.sessionId === 'end'));
    owner.close();
    const frames = owner.messages.filter((m) => m.t === 'frame' && m.sessionId === 'r1');
    expect(frames).toHaveLength(32);
    expect(frames[0]).toMatchObject({ frame: JSON.stringify({ type: 'tool.result', callId: 'c0', output: 'x' }) });
    // Answered, then silent for longer than stallMs: the client is told to resume again.
    expect(outcome).toEqual({ ok: false, reason: 'timeout', relayed: true });
  });

  it('re-sends the hand-off request until the owner answers, then gives up with a timeout', async () => {
    await fresh();
    const listener = server.client();
    const requests: ControlMessage[] = [];
    await listener.subscribe(channelOf(link, 'A'));
    listener.on('message', (_channel: string, message: string) => requests.push(JSON.parse(message) as ControlMessage));
    const { resume, relayed, stop } = await relayTo('A', 2_500);
    const outcome = await resume.done;
    await stop();
    listener.disconnect();
    expect(outcome).toEqual({ ok: false, reason: 'timeout', relayed: true });
    // What the client missed was relayed from the stream at once; the request went out again every round.
    expect(relayed.map((e) => e.seq)).toEqual([2, 3]);
    expect(requests.length).toBeGreaterThanOrEqual(2);
    expect(requests.every((m) => m.t === 'handoff' && m.sessionId === 'r1' && m.to === 'B' && m.lastSeq === 1)).toBe(
      true,
    );
    // The session is still the owner's: nothing was taken.
    expect((await store.load('r1'))?.owner).toBe('A');
  });

  it('relays in seq order across a gap (a failed write the owner rewrites later), and ignores a refusal meant for another instance', async () => {
    await fresh();
    const owner = await listenAs('A');
    const { resume, relayed, stop } = await relayTo('A', 30_000);
    expect(await owner.next()).toMatchObject({ t: 'handoff' });
    await announce(4);
    // The write carrying 5 failed; 6 and 7 landed after it. Then another relay's stale request is refused.
    await store.write('r1', { owner: 'A', events: events(6, 2), state: null, ttlMs: TTL });
    await raw.xadd(`${prefix}s:r1:ev`, '*', 'r', 'A', 's', '0', 'q', 'C');
    await until(() => relayed.length === 3);
    await store.write('r1', {
      owner: 'A',
      events: [...events(1, 3), { seq: 4, json: '{"type":"session.resumed"}' }, ...events(5, 3)],
      state: state(7),
      ttlMs: TTL,
      replace: true,
    });
    await until(() => relayed.length === 6);
    expect(await store.release('r1', { owner: 'A', events: [], to: 'B', state: null, lastSeq: 7, ttlMs: TTL })).toBe(
      'ok',
    );
    const outcome = await resume.done;
    await stop();
    owner.close();
    expect(relayed.map((e) => e.seq)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(outcome.ok).toBe(true);
  });

  it('completes once a re-sent request reaches the owner', async () => {
    await fresh();
    const { resume, stop } = await relayTo('A', 30_000);
    // The owner starts listening late (its subscriber was reconnecting when the first request went out).
    const listener = server.client();
    await listener.subscribe(channelOf(link, 'A'));
    const heard = new Promise<ControlMessage>((resolve) =>
      listener.once('message', (_c: string, m: string) => resolve(JSON.parse(m) as ControlMessage)),
    );
    const request = await heard;
    expect(request).toMatchObject({ t: 'handoff', to: 'B' });
    expect(await store.release('r1', { owner: 'A', events: [], to: 'B', state: null, lastSeq: 3, ttlMs: TTL })).toBe(
      'ok',
    );
    const outcome = await resume.done;
    await stop();
    listener.disconnect();
    expect(outcome.ok).toBe(true);
    if (outcome.ok)
      expect(outcome.restored).toMatchObject({
        sessionId: 'r1',
        lastSeq: 3,
        announce: { resumedFrom: 1, replayed: 2 },
      });
  });
});
