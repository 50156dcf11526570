// HTTP/2 to the upstream, against the real simulator over TLS: with UPSTREAM_HTTP=auto (ALPN decides) concurrent
// replies share one connection; a cancel resets only its own stream (the connection carries the next turn); h2
// refuses an upstream that offers only HTTP/1.1, and h1 never speaks HTTP/2. Connections are counted, never timed.
import { describe, expect, it } from 'vitest';
import type { ServerEvent } from '../../src/protocol.js';
import type { VoiceClient } from '../helpers.js';
import { until } from '../helpers.js';
import { nextStreamEnd, useTlsRig } from './tls-rig.js';

const rig = useTlsRig();

/** Sends a turn and resolves with its response.created. */
async function startTurn(
  client: VoiceClient,
  text: string,
): Promise<Extract<ServerEvent, { type: 'response.created' }>> {
  const from = client.events.length;
  client.send({ type: 'turn', text });
  return client.waitForType('response.created', from);
}

describe('HTTP/2 to the upstream', () => {
  it('carries concurrent replies as streams of one connection when ALPN picks h2 (UPSTREAM_HTTP=auto)', async () => {
    const stack = await rig.start({ simulator: { http2: true } });
    const sessions = await rig.connect(3);
    const gate = stack.simulator.gate('all-three');
    stack.simulator.setDefaults({ reply: 'One. Two. Three.', gate: { name: 'all-three', afterChunks: 1 } });
    const created = await Promise.all(sessions.map((client, i) => startTurn(client, `Count for me, ${i}`)));
    // Three replies in flight at once (each held after its first chunk), on one connection.
    await until(() => stack.simulator.activeStreams() === 3);
    expect(stack.pool.h2Connections).toBe(1);
    gate.release();
    const done = await Promise.all(
      sessions.map((client, i) =>
        client.waitFor((e) => e.type === 'response.done' && e.responseId === created[i]!.responseId),
      ),
    );
    expect(done.map((d) => (d as { status: string }).status)).toEqual(['completed', 'completed', 'completed']);
    expect(new Set(stack.chatRequests().map((r) => r.connection)).size).toBe(1);
    expect(stack.simulator.connectionStats().opened).toBe(1);
  });

  it('cancels a reply by resetting its stream at once; the connection carries the next turn', async () => {
    const stack = await rig.start({ env: { UPSTREAM_HTTP: 'h2' }, simulator: { http2: true } });
    const [client] = await rig.connect(1);
    stack.simulator.enqueue({ reply: 'This reply is cut off. It never ends.', gate: { name: 'held', afterChunks: 1 } });
    const created = await startTurn(client!, 'Say something long');
    await stack.simulator.gate('held').reached;
    const closed = nextStreamEnd(stack.simulator, 'client-closed');
    client!.send({ type: 'response.cancel', responseId: created.responseId });
    // The simulator sees the stream closed by the client while it was still held: before it could finish.
    expect((await closed).id).toBe(stack.chatRequests()[0]?.id);
    const done = await client!.waitFor((e) => e.type === 'response.done' && e.responseId === created.responseId);
    expect(done).toMatchObject({ status: 'interrupted' });
    stack.simulator.gate('held').release();
    expect((await client!.turn('And now?')).status).toBe('completed');
    const [cancelled, next] = stack.chatRequests();
    expect(next?.connection).toBe(cancelled?.connection);
    expect(stack.simulator.connectionStats().opened).toBe(1);
  });

  it('with UPSTREAM_HTTP=h2, refuses an upstream that offers only HTTP/1.1 with a typed error', async () => {
    const stack = await rig.start({ env: { UPSTREAM_HTTP: 'h2', UPSTREAM_WARM: 'off' } });
    const [client] = await rig.connect(1);
    const done = await client!.turn('Hello');
    expect(done).toMatchObject({ status: 'failed', error: { code: 'GW_UPSTREAM_CONNECT', retryable: false } });
    expect(done.error?.message).toContain('HTTP/2 not offered');
    expect(stack.chatRequests()).toHaveLength(0);
  });

  it('with UPSTREAM_HTTP=h1, speaks HTTP/1.1 even to an upstream that offers HTTP/2', async () => {
    const stack = await rig.start({ env: { UPSTREAM_HTTP: 'h1' }, simulator: { http2: true } });
    const [client] = await rig.connect(1);
    expect((await client!.turn('Hello')).status).toBe('completed');
    expect(stack.chatRequests()[0]?.headers[':method']).toBeUndefined(); // no HTTP/2 pseudo-headers
    expect(stack.pool.h2Connections).toBe(0);
  });
});
