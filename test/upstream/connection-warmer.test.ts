// Warm upstream connections against the real simulator over TLS, where a new connection costs 50 ms before its
// first answer: a session's first turn rides a connection opened when the session did, the warmer never opens more
// than UPSTREAM_CONNECTIONS, and idle warm connections are touched before their keep-alive runs out. Everything is
// counted (connections opened, the connection each request came on), never timed. UPSTREAM_HTTP=h1 throughout:
// with `auto`, the warmer opens one connection first to learn what the upstream speaks (the gateway's start-up
// warm-up does that before it listens; this rig has none), which upstream-http2.test.ts covers.
import { describe, expect, it } from 'vitest';
import { until } from '../helpers.js';
import { realtimeUrl, RealtimeTestClient } from '../realtime-client.js';
import { useTlsRig } from './tls-rig.js';

const H1 = { UPSTREAM_HTTP: 'h1' };
const rig = useTlsRig();

describe('the connection warmer', () => {
  it('gives the first turn of each new session a connection opened when the session did', async () => {
    const stack = await rig.start({ env: H1, simulator: { connectionCostMs: 50 } });
    const sessions = await rig.connect(3);
    const done = await Promise.all(sessions.map((client, i) => client.turn(`Hello number ${i}`)));
    expect(done.map((d) => d.status)).toEqual(['completed', 'completed', 'completed']);
    const requests = stack.chatRequests();
    expect(requests).toHaveLength(3);
    // Each turn's request came on a connection a warm-up had opened (and paid for) before it.
    expect(requests.map((r) => r.newConnection)).toEqual([false, false, false]);
  });

  it('does the same for a Realtime session', async () => {
    const stack = await rig.start({ env: H1, simulator: { connectionCostMs: 50 } });
    const client = await RealtimeTestClient.connect(realtimeUrl(stack.voiceUrl), { protocols: ['realtime'] });
    await client.addUserText('Hello from Realtime');
    const done = await client.respond();
    await client.close();
    expect(done.response).toMatchObject({ status: 'completed' });
    expect(stack.chatRequests().map((r) => r.newConnection)).toEqual([false]);
  });

  it('does so with UPSTREAM_HTTP=auto once the start-up warm-up has learnt that the upstream speaks HTTP/1.1', async () => {
    const stack = await rig.start({ warmAtStart: true, simulator: { connectionCostMs: 50 } });
    expect(stack.pool.protocol).toBe('h1');
    const sessions = await rig.connect(3);
    await Promise.all(sessions.map((client, i) => client.turn(`Hello number ${i}`)));
    const requests = stack.chatRequests();
    expect(requests.map((r) => r.newConnection)).toEqual([false, false, false]);
  });

  it('without it (UPSTREAM_WARM=off), that first turn opens its own connection', async () => {
    const stack = await rig.start({ env: { ...H1, UPSTREAM_WARM: 'off' }, simulator: { connectionCostMs: 50 } });
    const [client] = await rig.connect(1);
    await client!.turn('Hello');
    expect(stack.chatRequests().map((r) => r.newConnection)).toEqual([true]);
    expect(stack.simulator.connectionStats()).toMatchObject({ opened: 1, requests: 1 });
  });

  it('never opens more connections than UPSTREAM_CONNECTIONS, however many sessions open', async () => {
    // The pool may grow to UPSTREAM_MAX_CONCURRENCY (512) under load; warm-ups stop at UPSTREAM_CONNECTIONS.
    const stack = await rig.start({ env: { ...H1, UPSTREAM_CONNECTIONS: '2' }, simulator: { connectionCostMs: 50 } });
    const sessions = await rig.connect(5);
    for (const client of sessions) expect((await client.turn('Hello')).status).toBe('completed');
    expect(stack.chatRequests().map((r) => r.newConnection)).toEqual([false, false, false, false, false]);
    expect(stack.simulator.connectionStats()).toMatchObject({ opened: 2, peak: 2 });
  });

  it('touches idle warm connections before their keep-alive runs out, so none is reopened', async () => {
    // Idle connections are kept 1 s (the simulator's 5 s hint cannot lengthen that) and touched every 600 ms.
    const stack = await rig.start({ env: { ...H1, UPSTREAM_KEEPALIVE_MS: '1000' } });
    const [client] = await rig.connect(1);
    // The warm-ups for the session (its connection and a spare), then three rounds of refreshes of both.
    await until(() => stack.simulator.connectionStats().requests >= 2 + 3 * 2);
    const warmed = stack.simulator.connectionStats();
    expect(warmed.opened).toBe(2);
    expect(warmed.open).toBe(2);
    await client!.turn('Hello after a while');
    const [request] = stack.chatRequests();
    expect(request?.newConnection).toBe(false);
    expect(request?.connection).toBeLessThanOrEqual(2);
    expect(stack.simulator.connectionStats().opened).toBe(2);
  });
});
