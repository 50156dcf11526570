// Issue #19 across instances: two gateways sharing a real redis-server, each tracing into its own in-memory
// exporter. A session resumed on the other instance continues the trace of the response in flight (relayed from a
// live owner, or lost with a dead one); with nothing in flight the resume is its own trace, linked to the last
// turn's; a turn sent during the hand-off runs on the new instance in the client's trace.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ServerEvent } from '../../src/protocol.js';
import { startSimulator, type Simulator } from '../../src/simulator/server.js';
import { startGatewayFor, until, VoiceClient, type GatewayUnderTest } from '../helpers.js';
import { RedisServer } from '../redis-server.js';
import { clientTraceparent, SpanRecorder } from './span-rig.js';

const REPLY = 'One two three four five six seven eight.';

let redis: RedisServer;
let simulator: Simulator;
let prefix = 0;
const gateways: GatewayUnderTest[] = [];
const recorders: SpanRecorder[] = [];
const clients: VoiceClient[] = [];

beforeAll(async () => {
  redis = await RedisServer.start();
});
afterAll(async () => {
  await redis.kill();
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
  for (const gateway of gateways.splice(0)) await gateway.close();
  for (const recorder of recorders.splice(0)) await recorder.close();
  await simulator.close();
});

/** Two instances, A and B, on one Redis and one simulator; each with its own spans. */
async function pair() {
  prefix += 1;
  simulator = await startSimulator({ port: 0, host: '127.0.0.1', defaults: { ttftMs: 0, interTokenMs: 0 } });
  const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: `trace${prefix}:` };
  const start = async () => {
    const spans = new SpanRecorder();
    const gateway = await startGatewayFor(simulator.url, { env, tracing: spans.tracing });
    gateways.push(gateway);
    recorders.push(spans);
    return { gateway, spans, instanceId: gateway.gateway.scaleOut?.instanceId };
  };
  return { a: await start(), b: await start() };
}

async function connect(gateway: GatewayUnderTest): Promise<VoiceClient> {
  const client = await VoiceClient.connect(gateway.voiceUrl);
  clients.push(client);
  return client;
}

/** Resumes `from`'s session on `gateway`; resolves at session.resumed. */
async function resumeOn(gateway: GatewayUnderTest, from: VoiceClient): Promise<VoiceClient> {
  const client = await connect(gateway);
  const ready = from.events[0] as Extract<ServerEvent, { type: 'session.ready' }>;
  client.send({
    type: 'session.resume',
    sessionId: ready.sessionId,
    resumeToken: ready.resumeToken ?? '',
    lastSeq: from.events.at(-1)?.seq ?? 0,
  });
  await client.waitForType('session.resumed');
  return client;
}

/** A turn on `client` (with `traceparent`) whose reply is held by gate `gate` after "One two ". */
async function heldTurn(client: VoiceClient, gate: string, traceparent: string): Promise<void> {
  simulator.enqueue({ reply: REPLY, gate: { name: gate, afterChunks: 2 } });
  client.send({ type: 'turn', text: 'Count', traceparent });
  await simulator.gate(gate).reached;
  await client.waitForType('response.delta');
}

describe('a session resumed on another instance', () => {
  it('continues the trace of the response in flight: the resume on B is a child of the turn on A', async () => {
    const { a, b } = await pair();
    const first = await connect(a.gateway);
    const parent = clientTraceparent();
    await heldTurn(first, 'mid', parent.traceparent);
    first.socket.terminate();
    const second = await resumeOn(b.gateway, first);
    simulator.gate('mid').release();
    await second.waitFor((e) => e.type === 'response.done' && e.status === 'completed');
    const [turn] = await a.spans.ended('turn');
    const [resume] = await b.spans.ended('session.resume');
    expect(turn!.spanContext().traceId).toBe(parent.traceId);
    expect(resume!.spanContext().traceId).toBe(parent.traceId);
    expect(resume!.parentSpanContext?.spanId).toBe(turn!.spanContext().spanId);
    expect(resume!.attributes).toMatchObject({
      'asi1_gateway.session.id': turn!.attributes['asi1_gateway.session.id'],
      'asi1_gateway.response.id': turn!.attributes['asi1_gateway.response.id'],
      'asi1_gateway.resume.path': 'relay',
      'asi1_gateway.resume.owner': a.instanceId,
      'asi1_gateway.resume.outcome': 'resumed',
      'asi1_gateway.resume.relayed': true,
    });
    // The owner's side of it: its turn says the client came back (elsewhere) while it ran.
    expect(turn!.events.map((e) => e.name)).toContain('session.resumed');
    expect(turn!.attributes['asi1_gateway.response.status']).toBe('completed');
    expect(b.spans.named('turn')).toEqual([]); // the reply itself ran on A only
  });

  it('records a response its dead owner never finished as lost, in that response trace', async () => {
    const { a, b } = await pair();
    const first = await connect(a.gateway);
    const parent = clientTraceparent();
    await heldTurn(first, 'crash', parent.traceparent);
    // A dies as far as the cluster can tell: its presence and its Redis connections are gone.
    await a.gateway.gateway.scaleOut?.close();
    first.socket.terminate();
    const second = await resumeOn(b.gateway, first);
    await second.waitFor((e) => e.type === 'response.done' && e.status === 'failed');
    const [resume] = await b.spans.ended('session.resume');
    expect(resume!.spanContext().traceId).toBe(parent.traceId);
    expect(resume!.attributes['asi1_gateway.resume.path']).toBe('take_over');
    const lost = resume!.events.find((e) => e.name === 'response.lost');
    expect(lost?.attributes).toMatchObject({ 'error.type': 'GW_INSTANCE_LOST' });
    simulator.gate('crash').release();
  });

  it('is a trace of its own, linked to the last turn, when nothing was in flight', async () => {
    const { a, b } = await pair();
    const first = await connect(a.gateway);
    simulator.enqueue({ reply: 'Paris.' });
    await first.turn('Capital of France?');
    const [turn] = await a.spans.ended('turn');
    await first.close();
    await resumeOn(b.gateway, first);
    const [resume] = await b.spans.ended('session.resume');
    expect(resume!.parentSpanContext).toBeUndefined();
    expect(resume!.spanContext().traceId).not.toBe(turn!.spanContext().traceId);
    expect(resume!.links.map((link) => link.context.spanId)).toEqual([turn!.spanContext().spanId]);
    // A is alive and still holds the session: it hands it over.
    expect(resume!.attributes['asi1_gateway.resume.path']).toBe('relay');
  });

  it('runs a turn sent during the hand-off on the new instance, in the trace its client gave it', async () => {
    const { a, b } = await pair();
    const first = await connect(a.gateway);
    await heldTurn(first, 'slow', clientTraceparent().traceparent);
    first.socket.terminate();
    const second = await resumeOn(b.gateway, first);
    const next = clientTraceparent();
    simulator.enqueue({ reply: 'Here.' });
    second.send({ type: 'turn', text: 'Are you there?', traceparent: next.traceparent });
    await second.waitFor((e) => e.type === 'response.done' && e.status === 'completed');
    simulator.gate('slow').release();
    const [turnOnB] = await b.spans.ended('turn');
    expect(turnOnB!.spanContext().traceId).toBe(next.traceId);
    expect(turnOnB!.parentSpanContext?.spanId).toBe(next.spanId);
    // On A, the reply the new turn cut short ends interrupted in its own trace.
    const [turnOnA] = await a.spans.ended('turn');
    expect(turnOnA!.attributes['asi1_gateway.response.status']).toBe('interrupted');
    await until(() => a.spans.named('response.interrupt').length === 1);
  });
});
