// Scale-out with Redis: limits that hold across instances, and Redis outages (served from memory, degraded
// readiness, caught up when Redis returns).
import { describe, expect, it } from 'vitest';
import { until, VoiceClient } from '../helpers.js';
import {
  a,
  b,
  connect,
  lastMessages,
  ready,
  redis,
  resumeOn,
  simulator,
  startPair,
  testNo,
  useScaleOutRig,
} from './scale-out-rig.js';

useScaleOutRig();

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

  it("keeps counting a session's turns after it moved to the other instance", async () => {
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
      await until(
        async () => ((await (await fetch(`${a.httpUrl}/readyz`)).json()) as { status: string }).status === 'degraded',
      );
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
    await until(
      async () => ((await (await fetch(`${a.httpUrl}/readyz`)).json()) as { status: string }).status === 'ready',
    );
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
    expect(
      lastMessages()
        .filter((m) => m.role === 'user')
        .map((m) => m.content),
    ).toEqual(['Before the outage', 'Still here', 'After the outage']);
  });
});
