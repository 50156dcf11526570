// The connection warmer's decisions against a pool gauge the test sets: how many warm-ups it starts, within which
// cap, who may wait for one, how it backs off, and what keep-alive it learns. The network behaviour (real
// connections, the simulator's record of them) is in connection-warmer.test.ts.
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ConnectionWarmer,
  ENSURE_CONNECTIONS_PER_MS,
  ENSURE_INTERVAL_MS,
  ENSURE_MAX_INTERVAL_MS,
  STALE_IDLE_MS,
  type PoolGauge,
  type TouchResult,
} from '../../src/upstream/connection-warmer.js';
import { deferred } from './client-rig.js';

interface FakePool extends PoolGauge {
  stats: { connected: number; free: number; pending: number; queued: number };
  protocol?: 'h1' | 'h2' | 'pending';
  hasFree?: () => boolean;
  openConnections?: number;
  freshFree?: (since: number) => number;
}

let warmer: ConnectionWarmer | undefined;
afterEach(() => warmer?.close());

/** A warmer whose touches wait until the test settles them. */
function rig(
  options: {
    maxConnections?: number;
    protocol?: 'h1' | 'h2' | 'pending';
    opensWhileFree?: boolean;
    /** The pool knows which connections took a request since a time (set before the warmer starts, as it is). */
    freshFree?: (since: number) => number;
  } = {},
) {
  const pool: FakePool = { stats: { connected: 0, free: 0, pending: 0, queued: 0 }, protocol: options.protocol };
  if (options.freshFree !== undefined) pool.freshFree = (since) => options.freshFree!(since);
  const touches: {
    opens: boolean;
    staleBefore: number | undefined;
    settle: (result: TouchResult) => Promise<void>;
  }[] = [];
  warmer = new ConnectionWarmer({
    pool,
    maxConnections: options.maxConnections ?? 10,
    keepAliveMs: 30_000,
    keepAliveThresholdMs: 1_000,
    ...(options.opensWhileFree === undefined ? {} : { opensWhileFree: options.opensWhileFree }),
    touch: (opens, staleBefore) => {
      const done = deferred<TouchResult>();
      touches.push({
        opens,
        staleBefore,
        settle: async (result) => {
          done.resolve(result);
          await new Promise((resolve) => setImmediate(resolve));
        },
      });
      return done.promise;
    },
  });
  return { pool, touches, warmer };
}

const signal = (): AbortSignal => new AbortController().signal;

describe('the connection warmer (decisions)', () => {
  it('touches a free connection that sat idle before a session opens: the upstream may have closed it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const { pool, touches, warmer } = rig({ protocol: 'h2' });
      pool.stats = { connected: 1, free: 1, pending: 0, queued: 0 };
      warmer.prepare(); // just made: the connection is fresh
      expect(touches).toHaveLength(0);
      vi.setSystemTime(Date.now() + STALE_IDLE_MS + 1);
      warmer.prepare();
      warmer.prepare(); // one touch at a time
      expect(touches).toHaveLength(1);
      expect(touches[0]?.opens).toBe(false); // it refreshes that connection: no new one
      await touches[0]?.settle({ ok: true });
      warmer.prepare(); // touched just now
      expect(touches).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('opens a connection for each opened session and one spare', () => {
    const { touches, warmer } = rig();
    warmer.prepare();
    expect(touches).toHaveLength(2);
    warmer.prepare();
    warmer.prepare();
    expect(touches).toHaveLength(4);
    // Each asks the pool for a connection of its own: riding a free one would add none.
    expect(touches.map((t) => t.opens)).toEqual([true, true, true, true]);
  });

  it('with a pool that cannot open while a connection is free (undici chooses), opens only once none is', () => {
    const { pool, touches, warmer } = rig({ opensWhileFree: false });
    pool.stats = { connected: 1, free: 1, pending: 0, queued: 0 };
    warmer.prepare();
    warmer.prepare(); // wants 3 free, has 1: a touch now would ride that one and open nothing
    expect(touches).toHaveLength(0);
    pool.stats = { connected: 1, free: 0, pending: 0, queued: 0 };
    warmer.ensure(); // none free: every touch opens one
    expect(touches).toHaveLength(3);
  });

  it('counts free connections and stays within the cap', () => {
    const { pool, touches, warmer } = rig({ maxConnections: 3 });
    pool.stats = { connected: 2, free: 2, pending: 0, queued: 0 };
    warmer.prepare(); // wants 2 free: has them
    expect(touches).toHaveLength(0);
    warmer.prepare(); // wants 3
    expect(touches).toHaveLength(1);
    warmer.prepare(); // wants 4, but 2 open + 1 opening is the cap
    warmer.prepare();
    expect(touches).toHaveLength(1);
  });

  it('opens nothing while requests queue for the connections the pool has', () => {
    const { pool, touches, warmer } = rig();
    pool.stats = { connected: 1, free: 0, pending: 0, queued: 3 };
    warmer.prepare();
    expect(touches).toHaveLength(0);
  });

  it('over HTTP/2, or while the protocol is not known yet, keeps one connection and lets every request wait for it', () => {
    for (const protocol of ['h2', 'pending'] as const) {
      const { touches, warmer } = rig({ protocol });
      warmer.prepare();
      warmer.prepare();
      expect(touches).toHaveLength(1);
      expect(warmer.ready(signal())).toBeInstanceOf(Promise);
      expect(warmer.ready(signal())).toBeInstanceOf(Promise);
      warmer.close();
    }
  });

  it('over HTTP/1.1, lets one request wait for each warm-up, and none when a connection is free', async () => {
    const { pool, touches, warmer } = rig();
    warmer.prepare(); // two warm-ups
    const first = warmer.ready(signal());
    const second = warmer.ready(signal());
    expect(first).toBeInstanceOf(Promise);
    expect(second).toBeInstanceOf(Promise);
    expect(warmer.ready(signal())).toBeUndefined();
    let resolved = false;
    void first?.then(() => (resolved = true));
    await touches[0]?.settle({ ok: true });
    expect(resolved).toBe(true);
    pool.stats = { connected: 1, free: 1, pending: 0, queued: 0 };
    expect(warmer.ready(signal())).toBeUndefined();
  });

  it('stops waiting when the request is aborted', async () => {
    const { warmer } = rig();
    warmer.prepare();
    const controller = new AbortController();
    const waiting = warmer.ready(controller.signal);
    controller.abort();
    await expect(waiting).resolves.toBeUndefined();
  });

  it('opens nothing more for a while after a warm-up failed', async () => {
    const { touches, warmer } = rig();
    warmer.prepare();
    await touches[0]?.settle({ ok: false });
    await touches[1]?.settle({ ok: false });
    warmer.prepare();
    expect(touches).toHaveLength(2);
  });

  it("refreshes a little before the keep-alive undici keeps, learnt from the upstream's Keep-Alive hint", async () => {
    const { touches, warmer } = rig();
    expect(warmer.refreshMs).toBe(18_000); // 60% of 30 s
    warmer.prepare();
    await touches[0]?.settle({ ok: true, keepAlive: 'timeout=5' });
    expect(warmer.refreshMs).toBe(2_400); // 60% of (5 s - the 1 s threshold)
    await touches[1]?.settle({ ok: true, keepAlive: 'timeout=600' });
    expect(warmer.refreshMs).toBe(18_000); // a hint never lengthens it
  });

  it('keeps a spare for the recent peak of concurrent requests', () => {
    const { pool, touches, warmer } = rig();
    for (let i = 0; i < 3; i += 1) warmer.streamStarted();
    for (let i = 0; i < 3; i += 1) warmer.streamEnded();
    pool.stats = { connected: 1, free: 1, pending: 0, queued: 0 };
    warmer.ensure(); // wants 1 + the way back to a peak of 3: 4 free
    expect(touches).toHaveLength(3);
  });

  it('asks the pool only whether a connection is free on a turn, and counts it at most once per interval after dispatches', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const { pool, touches, warmer } = rig();
      let counted = 0;
      let free = true;
      const stats = { connected: 1, free: 1, pending: 0, queued: 0 };
      Object.defineProperty(pool, 'stats', {
        get: () => {
          counted += 1;
          return stats;
        },
      });
      pool.hasFree = () => free;
      expect(warmer.ready(signal())).toBeUndefined(); // a free connection: dispatch now, nothing counted
      expect(counted).toBe(0);
      stats.free = 0; // the request took it
      warmer.dispatched(); // the first dispatch counts at once: a spare is wanted beside the one taken
      expect(counted).toBe(1);
      expect(touches).toHaveLength(1);
      free = false;
      expect(warmer.ready(signal())).toBeInstanceOf(Promise); // none free, but a warm-up is opening one
      warmer.dispatched();
      warmer.dispatched();
      expect(counted).toBe(1); // within the interval: one count is due at its end
      vi.advanceTimersByTime(ENSURE_INTERVAL_MS);
      expect(counted).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('counts a large pool less often after dispatches, in proportion to its connections, up to a cap', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const { pool, warmer } = rig({ maxConnections: 4_000 });
      let counted = 0;
      const stats = { connected: 990, free: 0, pending: 10, queued: 0 };
      Object.defineProperty(pool, 'stats', {
        get: () => {
          counted += 1;
          return stats;
        },
      });
      warmer.dispatched(); // the first count: 1,000 connections
      expect(counted).toBe(1);
      const interval = 1_000 / ENSURE_CONNECTIONS_PER_MS;
      expect(interval).toBeGreaterThan(ENSURE_INTERVAL_MS);
      vi.advanceTimersByTime(ENSURE_INTERVAL_MS);
      warmer.dispatched();
      expect(counted).toBe(1); // 20 ms is too soon for a pool this large: a count is due at the interval's end
      vi.advanceTimersByTime(interval - ENSURE_INTERVAL_MS - 1);
      expect(counted).toBe(1);
      vi.advanceTimersByTime(1);
      expect(counted).toBe(2);
      stats.connected = 99_990; // a huge pool: never longer than the cap
      vi.advanceTimersByTime(interval);
      warmer.dispatched(); // counts 100,000 connections
      warmer.dispatched();
      vi.advanceTimersByTime(ENSURE_MAX_INTERVAL_MS - 1);
      expect(counted).toBe(3);
      vi.advanceTimersByTime(1);
      expect(counted).toBe(4);
      stats.connected = 5; // a small pool again: after its next count, back to the short interval
      stats.pending = 0;
      vi.advanceTimersByTime(ENSURE_MAX_INTERVAL_MS);
      warmer.dispatched();
      expect(counted).toBe(5);
      vi.advanceTimersByTime(ENSURE_INTERVAL_MS);
      warmer.dispatched();
      expect(counted).toBe(6);
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not read every connection when the open ones already reach the cap: there is nothing to open', () => {
    const { pool, touches, warmer } = rig({ maxConnections: 4 });
    let counted = 0;
    Object.defineProperty(pool, 'stats', {
      get: () => {
        counted += 1;
        return { connected: 4, free: 1, pending: 0, queued: 0 };
      },
    });
    pool.openConnections = 4;
    warmer.ensure();
    warmer.prepare();
    expect(counted).toBe(0);
    expect(touches).toHaveLength(0);
    pool.openConnections = 3; // below the cap: counted (4 open by the count: still no room)
    warmer.ensure();
    expect(counted).toBe(1);
    pool.openConnections = 2;
    Object.defineProperty(pool, 'stats', { value: { connected: 2, free: 0, pending: 0, queued: 0 } });
    warmer.prepare();
    expect(touches.map((t) => t.opens)).toEqual([true, true]); // 2 open + 2 opening: the cap
    warmer.prepare();
    expect(touches).toHaveLength(2);
  });

  it('refreshes only the idle connections no request took since the last round, within the cap', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const asked: number[] = [];
      const { pool, touches, warmer } = rig({ maxConnections: 10, freshFree: (since) => (asked.push(since), 1) });
      for (let i = 0; i < 3; i += 1) warmer.streamStarted();
      for (let i = 0; i < 3; i += 1) warmer.streamEnded(); // 4 spares wanted: 1 + the way back to a peak of 3
      pool.stats = { connected: 6, free: 4, pending: 0, queued: 0 };
      vi.advanceTimersByTime(warmer.refreshMs / 2); // a round: half of 18 s
      // Of the 4 free, 1 took a request within the round (and a tenth of one more): it is left alone.
      expect(asked).toEqual([Date.now() - 9_900]);
      expect(touches.map((t) => [t.opens, t.staleBefore])).toEqual(Array(3).fill([false, Date.now() - 9_900]));
      for (const touch of touches.splice(0)) void touch.settle({ ok: true });
      // The spares kept beside the busy connections stay within the cap: 2 busy + 3 kept = 5.
      warmer.close();
      const capped = rig({ maxConnections: 5, freshFree: () => 1 });
      for (let i = 0; i < 3; i += 1) capped.warmer.streamStarted();
      for (let i = 0; i < 3; i += 1) capped.warmer.streamEnded();
      capped.pool.stats = { connected: 6, free: 4, pending: 0, queued: 0 };
      vi.advanceTimersByTime(capped.warmer.refreshMs / 2);
      expect(capped.touches).toHaveLength(2);
      // Without the pool's freshness (another dispatcher), every free connection wanted is touched.
      capped.warmer.close();
      const plain = rig();
      plain.pool.stats = { connected: 6, free: 4, pending: 0, queued: 0 };
      for (let i = 0; i < 3; i += 1) plain.warmer.streamStarted();
      for (let i = 0; i < 3; i += 1) plain.warmer.streamEnded();
      vi.advanceTimersByTime(plain.warmer.refreshMs / 2);
      expect(plain.touches).toHaveLength(0); // it cannot tell the fresh ones: one round per refreshMs, as before
      vi.advanceTimersByTime(plain.warmer.refreshMs / 2);
      expect(plain.touches).toHaveLength(4);
    } finally {
      vi.useRealTimers();
    }
  });

  it('touches each wanted idle connection before it has sat refreshMs idle (and a tenth more), once per refreshMs', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      // Three free connections and when each last took a request, as the pool keeps it; 3 spares wanted: 1 + the
      // way back to a peak of 2 (below).
      const usedAt = [Date.now(), Date.now(), Date.now()];
      const { pool, touches, warmer } = rig({ freshFree: (since) => usedAt.filter((at) => at >= since).length });
      pool.stats = { connected: 3, free: 3, pending: 0, queued: 0 };
      let longestIdle = 0;
      let touched = 0;
      for (let round = 0; round < 20; round += 1) {
        // Two requests now and then keep the peak (it decays after a minute) without touching these connections.
        for (let i = 0; i < 2; i += 1) warmer.streamStarted();
        for (let i = 0; i < 2; i += 1) warmer.streamEnded();
        vi.advanceTimersByTime(warmer.refreshMs / 2);
        for (const touch of touches.splice(0)) {
          // The pool gives a refresh the connection that took a request before staleBefore.
          const stale = usedAt.findIndex((at) => at < (touch.staleBefore ?? Infinity));
          expect(stale).toBeGreaterThanOrEqual(0);
          longestIdle = Math.max(longestIdle, Date.now() - usedAt[stale]!);
          usedAt[stale] = Date.now();
          touched += 1;
          await touch.settle({ ok: true });
        }
      }
      expect(longestIdle).toBeLessThanOrEqual(warmer.refreshMs * 1.1);
      expect(touched).toBe(30); // 20 rounds are 10 × refreshMs: each connection touched every other round
    } finally {
      vi.useRealTimers();
    }
  });
});
