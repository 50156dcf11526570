// Limits shared by several gateway instances through a real redis-server: two RedisLinks in one process play
// "instance A" and "instance B". Waits poll Redis state or wait on link events, never on bare sleeps.
import { once } from 'node:events';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers.js';
import { InstancePresence, type InstancePresenceOptions } from '../../src/cluster/instance-presence.js';
import { RedisLink } from '../../src/cluster/redis-link.js';
import { SharedLimits, type SharedLimitsOptions } from '../../src/cluster/shared-limits.js';
import { RedisServer } from '../redis-server.js';

interface Instance {
  link: RedisLink;
  presence: InstancePresence;
  limits: SharedLimits;
}

type Limits = Omit<SharedLimitsOptions, 'instanceId'>;

const IP = '2001:db8::7';
const DEFAULT_LIMITS: Limits = {
  turnsPerMinute: 100,
  turnsPerMinutePerToken: 100,
  turnsPerMinutePerIp: 100,
  maxConnectionsPerIp: 100,
};

/** One gateway instance's cluster pieces; tracks everything it creates so afterEach can close it. */
function instanceFactory(server: () => RedisServer) {
  const opened: Instance[] = [];
  let prefix = '';
  let tests = 0;
  return {
    get prefix(): string {
      return prefix;
    },
    /** A fresh key prefix per test, so tests sharing a server do not see each other's keys. */
    nextTest(): void {
      tests += 1;
      prefix = `t${tests}:`;
    },
    async start(
      instanceId: string,
      limits: Partial<Limits> = {},
      presenceOptions: InstancePresenceOptions = {},
    ): Promise<Instance> {
      const link = new RedisLink(server().url, prefix, pino({ level: 'silent' }));
      await link.ready(5_000);
      const presence = new InstancePresence(link, instanceId, presenceOptions);
      const ttl = presenceOptions.ttlMs === undefined ? {} : { presenceTtlMs: presenceOptions.ttlMs };
      const sharedLimits = new SharedLimits(link, { instanceId, ...DEFAULT_LIMITS, ...ttl, ...limits });
      const instance = { link, presence, limits: sharedLimits };
      opened.push(instance);
      presence.start();
      await until(() => presence.isAlive(instanceId));
      return instance;
    },
    async closeAll(): Promise<void> {
      const all = opened.splice(0);
      await Promise.all(
        all.map(async ({ link, presence }) => {
          await presence.stop();
          await link.close();
        }),
      );
    },
  };
}

describe('shared limits across instances', () => {
  let server: RedisServer;
  const instances = instanceFactory(() => server);
  const raw = () => server.client();

  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterEach(() => instances.closeAll());
  afterAll(() => server.kill());

  /** Reads a key with a plain client, outside the code under test. */
  async function inspect<T>(read: (redis: ReturnType<typeof raw>) => Promise<T>): Promise<T> {
    const redis = raw();
    try {
      return await read(redis);
    } finally {
      redis.disconnect();
    }
  }

  it('shares the per-IP connection limit between two instances', async () => {
    instances.nextTest();
    const a = await instances.start('A', { maxConnectionsPerIp: 3 });
    const b = await instances.start('B', { maxConnectionsPerIp: 3 });
    expect(await a.limits.acquireConnection(IP)).toBe('ok');
    expect(await a.limits.acquireConnection(IP)).toBe('ok');
    expect(await b.limits.acquireConnection(IP)).toBe('ok');
    expect(await b.limits.acquireConnection(IP)).toBe('over_limit');
    expect(await a.limits.acquireConnection(IP)).toBe('over_limit');
    expect(await a.limits.acquireConnection('198.51.100.1')).toBe('ok');
    expect(await inspect((redis) => redis.hgetall(`${instances.prefix}conn:${IP}`))).toEqual({ A: '2', B: '1' });
  });

  it('frees a slot for any instance when a connection is released, and forgets an IP at zero', async () => {
    instances.nextTest();
    const a = await instances.start('A', { maxConnectionsPerIp: 2 });
    const b = await instances.start('B', { maxConnectionsPerIp: 2 });
    const key = `${instances.prefix}conn:${IP}`;
    expect(await a.limits.acquireConnection(IP)).toBe('ok');
    expect(await a.limits.acquireConnection(IP)).toBe('ok');
    expect(await b.limits.acquireConnection(IP)).toBe('over_limit');

    a.limits.releaseConnection(IP);
    await until(async () => (await inspect((redis) => redis.hget(key, 'A'))) === '1');
    expect(await b.limits.acquireConnection(IP)).toBe('ok');

    a.limits.releaseConnection(IP);
    b.limits.releaseConnection(IP);
    await until(async () => (await inspect((redis) => redis.exists(key))) === 0);
  });

  it("ignores a crashed instance's connections once its presence expires", async () => {
    instances.nextTest();
    const presence = { intervalMs: 50, ttlMs: 300 };
    const a = await instances.start('A', { maxConnectionsPerIp: 3 }, presence);
    const b = await instances.start('B', { maxConnectionsPerIp: 3 }, presence);
    expect(await b.limits.acquireConnection(IP)).toBe('ok');
    expect(await b.limits.acquireConnection(IP)).toBe('ok');
    expect(await a.limits.acquireConnection(IP)).toBe('ok');
    expect(await a.limits.acquireConnection(IP)).toBe('over_limit');

    // A crash: B's connection goes away without removing its presence or its counts.
    await b.link.close();
    await until(async () => !(await a.presence.isAlive('B')));
    await until(async () => (await a.limits.acquireConnection(IP)) === 'ok');
    expect(await a.limits.acquireConnection(IP)).toBe('ok');
    expect(await a.limits.acquireConnection(IP)).toBe('over_limit');
    // Left for the key's expiry: B might only be slow to re-register.
    expect(await inspect((redis) => redis.hget(`${instances.prefix}conn:${IP}`, 'B'))).toBe('2');
  });

  it("resync rewrites this instance's counts from local truth and leaves other instances' alone", async () => {
    instances.nextTest();
    const a = await instances.start('A');
    const b = await instances.start('B');
    const key = (ip: string) => `${instances.prefix}conn:${ip}`;
    expect(await a.limits.acquireConnection(IP)).toBe('ok');
    expect(await a.limits.acquireConnection('198.51.100.1')).toBe('ok');
    expect(await b.limits.acquireConnection(IP)).toBe('ok');

    await a.limits.resyncConnections(
      new Map([
        [IP, 4],
        ['198.51.100.2', 1],
      ]),
    );
    expect(await inspect((redis) => redis.hgetall(key(IP)))).toEqual({ A: '4', B: '1' });
    expect(await inspect((redis) => redis.exists(key('198.51.100.1')))).toBe(0);
    expect(await inspect((redis) => redis.hgetall(key('198.51.100.2')))).toEqual({ A: '1' });
  });

  it('resyncs by default from the connections this instance admitted and has not released', async () => {
    instances.nextTest();
    const a = await instances.start('A');
    const key = `${instances.prefix}conn:${IP}`;
    expect(await a.limits.acquireConnection(IP)).toBe('ok');
    expect(await a.limits.acquireConnection(IP)).toBe('ok');
    expect(await a.limits.acquireConnection('198.51.100.9')).toBe('ok');
    a.limits.releaseConnection(IP);
    a.limits.releaseConnection('198.51.100.9');
    await until(async () => (await inspect((redis) => redis.hget(key, 'A'))) === '1');
    // Redis loses everything (a restart without persistence): the resync puts back exactly what is held.
    await inspect((redis) => redis.flushall());
    await a.limits.resyncConnections();
    expect(await inspect((redis) => redis.hgetall(key))).toEqual({ A: '1' });
    expect(await inspect((redis) => redis.exists(`${instances.prefix}conn:198.51.100.9`))).toBe(0);
  });

  it('shares the turn window of a session across instances', async () => {
    instances.nextTest();
    const a = await instances.start('A', { turnsPerMinute: 3 });
    const b = await instances.start('B', { turnsPerMinute: 3 });
    expect(await a.limits.takeTurn({ sessionId: 's1', ip: '127.0.0.1', tokenId: null })).toBe(0);
    expect(await a.limits.takeTurn({ sessionId: 's1', ip: '127.0.0.1', tokenId: null })).toBe(0);
    expect(await b.limits.takeTurn({ sessionId: 's1', ip: '127.0.0.1', tokenId: null })).toBe(0);
    const retryAfterMs = await b.limits.takeTurn({ sessionId: 's1', ip: '127.0.0.1', tokenId: null });
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(await a.limits.takeTurn({ sessionId: 's1', ip: '127.0.0.1', tokenId: null })).toBeGreaterThan(0);
    expect(await a.limits.takeTurn({ sessionId: 's2', ip: '127.0.0.1', tokenId: null })).toBe(0);
    expect(await inspect((redis) => redis.zcard(`${instances.prefix}turns:s:s1`))).toBe(3);
  });

  it('shares the turn window of a token across its sessions and instances, recording nothing when refused', async () => {
    instances.nextTest();
    const a = await instances.start('A', { turnsPerMinutePerToken: 2 });
    const b = await instances.start('B', { turnsPerMinutePerToken: 2 });
    expect(await a.limits.takeTurn({ sessionId: 's1', ip: '127.0.0.1', tokenId: 'tok' })).toBe(0);
    expect(await b.limits.takeTurn({ sessionId: 's2', ip: '127.0.0.1', tokenId: 'tok' })).toBe(0);
    const retryAfterMs = await a.limits.takeTurn({ sessionId: 's3', ip: '127.0.0.1', tokenId: 'tok' });
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(60_000);
    // The refused turn used up nothing: not the token's allowance, not the new session's.
    expect(await inspect((redis) => redis.zcard(`${instances.prefix}turns:t:tok`))).toBe(2);
    expect(await inspect((redis) => redis.exists(`${instances.prefix}turns:s:s3`))).toBe(0);
    expect(await b.limits.takeTurn({ sessionId: 's3', ip: '127.0.0.1', tokenId: 'other-token' })).toBe(0);
  });

  it("does not use up the token's allowance when the session's window refuses a turn", async () => {
    instances.nextTest();
    const a = await instances.start('A', { turnsPerMinute: 1, turnsPerMinutePerToken: 10 });
    expect(await a.limits.takeTurn({ sessionId: 's1', ip: '127.0.0.1', tokenId: 'tok' })).toBe(0);
    expect(await a.limits.takeTurn({ sessionId: 's1', ip: '127.0.0.1', tokenId: 'tok' })).toBeGreaterThan(0);
    expect(await inspect((redis) => redis.zcard(`${instances.prefix}turns:t:tok`))).toBe(1);
  });

  it('slides: the wait is until the oldest turn leaves the window, and turns older than a minute do not count', async () => {
    instances.nextTest();
    const a = await instances.start('A', { turnsPerMinute: 2 });
    const key = `${instances.prefix}turns:s:s1`;
    // Seed turns in Redis's own clock: one long gone, one 50 s old.
    await inspect(async (redis) => {
      const [seconds, micros] = await redis.time();
      const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      await redis.zadd(key, String(nowMs - 61_000), 'gone', String(nowMs - 50_000), 'old');
    });
    expect(await a.limits.takeTurn({ sessionId: 's1', ip: '127.0.0.1', tokenId: null })).toBe(0);
    const retryAfterMs = await a.limits.takeTurn({ sessionId: 's1', ip: '127.0.0.1', tokenId: null });
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(10_000);
    expect(await inspect((redis) => redis.zrange(key, '0', '-1'))).not.toContain('gone');
  });

  it('reports an instance alive while it beats and dead once stopped', async () => {
    instances.nextTest();
    const a = await instances.start('A');
    const b = await instances.start('B');
    expect(await b.presence.isAlive('A')).toBe(true);
    expect(await b.presence.isAlive('nobody')).toBe(false);
    await a.presence.stop();
    expect(await b.presence.isAlive('A')).toBe(false);
    expect(await inspect((redis) => redis.zscore(`${instances.prefix}instances`, 'A'))).toBeNull();
    expect(await b.presence.isAlive('B')).toBe(true);
  });
});

describe('shared limits while Redis is down', () => {
  let server: RedisServer;
  const instances = instanceFactory(() => server);

  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterEach(() => instances.closeAll());
  afterAll(() => server.kill());

  it('answers unavailable at once instead of hanging, then works again and resyncs after Redis returns empty', async () => {
    instances.nextTest();
    const a = await instances.start('A', { maxConnectionsPerIp: 3 });
    const b = await instances.start('B', { maxConnectionsPerIp: 3 });
    expect(await a.limits.acquireConnection(IP)).toBe('ok');
    expect(await a.limits.acquireConnection(IP)).toBe('ok');
    expect(await b.limits.acquireConnection(IP)).toBe('ok');

    // Issued just as Redis dies: settles either way (done or timed out), never hangs.
    const inFlight = a.limits.takeTurn({ sessionId: 's1', ip: '127.0.0.1', tokenId: 'tok' });
    const down = Promise.all([once(a.link, 'down'), once(b.link, 'down')]);
    await server.kill();
    expect([0, null]).toContain(await inFlight);
    await down;

    expect(await a.limits.acquireConnection(IP)).toBe('unavailable');
    expect(await b.limits.takeTurn({ sessionId: 's1', ip: '127.0.0.1', tokenId: 'tok' })).toBeNull();
    b.limits.releaseConnection(IP);
    await expect(a.presence.isAlive('B')).rejects.toThrow();

    const up = Promise.all([once(a.link, 'up'), once(b.link, 'up')]);
    await server.restart();
    await up;
    // Local truth: B's connection closed while Redis was down, so its release was lost.
    await Promise.all([a.limits.resyncConnections(new Map([[IP, 2]])), b.limits.resyncConnections(new Map())]);
    await until(() => a.presence.isAlive('B'));

    expect(await b.limits.acquireConnection(IP)).toBe('ok');
    expect(await a.limits.acquireConnection(IP)).toBe('over_limit');
    expect(await b.limits.takeTurn({ sessionId: 's1', ip: '127.0.0.1', tokenId: 'tok' })).toBe(0);
  });

  it('gives up on a command Redis is too busy to answer, and the late acquire is balanced by its release', async () => {
    instances.nextTest();
    const a = await instances.start('A');
    const blocker = server.client();
    // A script that keeps Redis busy for 2 s: the connection stays open, but nothing is answered meanwhile.
    let busy = true;
    const spin = blocker
      .eval(
        "local t0 = redis.call('TIME') while true do local t = redis.call('TIME') if (t[1] - t0[1]) * 1000000 + (t[2] - t0[2]) > 2000000 then return 1 end end",
        0,
      )
      .finally(() => (busy = false));
    await until(async () => (await a.limits.takeTurn({ sessionId: 's1', ip: '127.0.0.1', tokenId: null })) === null);
    expect(await a.limits.acquireConnection(IP)).toBe('unavailable');
    expect(busy).toBe(true);

    await spin;
    blocker.disconnect();
    const key = `${instances.prefix}conn:${IP}`;
    // The acquire reached Redis after all: the caller releases every connection it accepted.
    await until(async () => (await a.limits.takeTurn({ sessionId: 's2', ip: '127.0.0.1', tokenId: null })) === 0);
    expect(await a.link.commands.hget(key, 'A')).toBe('1');
    a.limits.releaseConnection(IP);
    await until(async () => (await a.link.commands.exists(key)) === 0);
  });

  it('never throws from release or resync while Redis is down', async () => {
    instances.nextTest();
    const a = await instances.start('A');
    expect(await a.limits.acquireConnection(IP)).toBe('ok');
    const down = once(a.link, 'down');
    await server.kill();
    await down;
    a.limits.releaseConnection(IP);
    await expect(a.limits.resyncConnections(new Map([[IP, 1]]))).resolves.toBeUndefined();
    await expect(a.presence.stop()).resolves.toBeUndefined();
    await server.restart();
  });
});
