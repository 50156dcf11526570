// Issue #19, the edges: a speculation's trace (adopted: it becomes the turn; discarded: it ends marked so), a
// Realtime response joining its client's trace, traceparents refused at the edge with a clear typed error, and
// a client's "not sampled" decision honoured (nothing recorded, the decision passed on upstream).
import { SpanStatusCode } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, until, VoiceClient, type Stack } from '../helpers.js';
import { RealtimeTestClient } from '../realtime-client.js';
import { clientTraceparent, SpanRecorder, traceparentOf } from './span-rig.js';

let stack: Stack | undefined;
let spans: SpanRecorder;
const sockets: { socket: { terminate(): void } }[] = [];

afterEach(async () => {
  for (const client of sockets.splice(0)) client.socket.terminate();
  await stack?.close();
  stack = undefined;
  await spans.close();
});

async function traced(env: Record<string, string> = {}): Promise<Stack> {
  spans = new SpanRecorder();
  stack = await startStack({ tracing: spans.tracing, env });
  return stack;
}

async function voiceClient(s: Stack): Promise<VoiceClient> {
  const client = await VoiceClient.connect(s.voiceUrl);
  sockets.push(client);
  return client;
}

describe('the trace of a speculation', () => {
  it('becomes the turn when its words are adopted: one trace, one model call, marked speculative', async () => {
    const s = await traced({ SPECULATION_STABLE_MS: '0' });
    s.simulator.enqueue({ reply: 'It is noon.', gate: { name: 'held', afterChunks: 2 } });
    const client = await voiceClient(s);
    const utterance = clientTraceparent();
    client.send({ type: 'turn.interim', text: 'what time is it', turnId: 'u1', traceparent: utterance.traceparent });
    await s.simulator.gate('held').reached;
    client.send({ type: 'turn', text: 'What time is it?', turnId: 'u1', traceparent: utterance.traceparent });
    await client.waitForType('response.created');
    s.simulator.gate('held').release();
    await client.waitForType('response.done');
    const [turn] = await spans.ended('turn');
    expect(spans.named('speculation')).toEqual([]);
    expect(spans.tree(turn!)).toEqual(['turn', '  chat asi1-mini', '  speech.first_segment']);
    expect(turn!.spanContext().traceId).toBe(utterance.traceId);
    expect(turn!.attributes).toMatchObject({
      'asi1_gateway.speculative': true,
      'asi1_gateway.speculation.outcome': 'adopted',
      'asi1_gateway.turn.id': 'u1',
    });
    expect(turn!.events.map((e) => e.name)).toContain('adopted');
    expect(turn!.links).toEqual([]); // the final's traceparent was the interim's: nothing to link
  });

  it('ends marked discarded when other words commit, beside the turn that answers them in the same trace', async () => {
    const s = await traced({ SPECULATION_STABLE_MS: '0' });
    s.simulator.enqueue({ reply: 'It is noon.', gate: { name: 'spec', afterChunks: 1 } }, { reply: 'Sunny.' });
    const client = await voiceClient(s);
    const utterance = clientTraceparent();
    client.send({ type: 'turn.interim', text: 'what time is it', traceparent: utterance.traceparent });
    await s.simulator.gate('spec').reached;
    client.send({ type: 'turn', text: 'what is the weather', traceparent: utterance.traceparent });
    await client.waitForType('response.done');
    s.simulator.gate('spec').release();
    const [speculation] = await spans.ended('speculation');
    const [turn] = await spans.ended('turn');
    expect(speculation!.attributes).toMatchObject({
      'asi1_gateway.speculative': true,
      'asi1_gateway.speculation.outcome': 'discarded',
      'asi1_gateway.speculation.discard_reason': 'mismatch',
    });
    // The aborted upstream request is in the trace (it cost a request); its parent is the discarded root.
    await until(() => spans.named('chat asi1-mini').length === 2);
    expect(spans.tree(speculation!)).toEqual(['speculation', '  chat asi1-mini']);
    expect(speculation!.spanContext().traceId).toBe(utterance.traceId);
    expect(turn!.spanContext().traceId).toBe(utterance.traceId);
    expect(turn!.attributes['asi1_gateway.speculative']).toBe(false);
  });
});

describe('a traced Realtime response', () => {
  const realtimeUrl = (s: Stack) => s.voiceUrl.replace('/v1/voice', '/v1/realtime');

  it.each([
    ['traceparent on response.create', (tp: string) => ({ traceparent: tp })],
    ['response.metadata.traceparent', (tp: string) => ({ response: { metadata: { traceparent: tp } } })],
  ])('joins the client trace given as %s', async (_how, field) => {
    const s = await traced();
    s.simulator.enqueue({ reply: 'Hello there.' });
    const client = await RealtimeTestClient.connect(realtimeUrl(s));
    sockets.push(client);
    await client.addUserText('Hi');
    const parent = clientTraceparent();
    client.send({ type: 'response.create', ...field(parent.traceparent) });
    await client.waitForType('response.done');
    const [turn] = await spans.ended('turn');
    expect(turn!.spanContext().traceId).toBe(parent.traceId);
    expect(turn!.parentSpanContext?.spanId).toBe(parent.spanId);
    expect(turn!.attributes['asi1_gateway.endpoint']).toBe('realtime');
    expect(s.simulator.requests[0]?.headers.traceparent).toBe(traceparentOf(spans.one('chat asi1-mini')));
  });

  it('records a client function call that ends the response as a deferred tool span', async () => {
    const s = await traced();
    const client = await RealtimeTestClient.connect(realtimeUrl(s));
    sockets.push(client);
    const tool = { type: 'function', name: 'get_weather', parameters: { type: 'object', properties: {} } };
    client.send({ type: 'session.update', session: { type: 'realtime', output_modalities: ['text'], tools: [tool] } });
    await client.waitForType('session.updated');
    s.simulator.enqueue({ reply: '', toolCalls: [{ name: 'get_weather', arguments: '{}', id: 'call_w' }] });
    await client.addUserText('Weather?');
    client.send({ type: 'response.create' });
    await client.waitForType('response.done');
    const [turn] = await spans.ended('turn');
    expect(spans.tree(turn!)).toEqual(['turn', '  chat asi1-mini', '  execute_tool get_weather']);
    expect(spans.one('execute_tool get_weather').attributes).toMatchObject({
      'asi1_gateway.tool.runs_on': 'client',
      'asi1_gateway.tool.deferred': true,
      'gen_ai.tool.call.id': 'call_w',
    });
  });

  it('refuses a malformed traceparent on response.create with invalid_value naming it, and starts nothing', async () => {
    const s = await traced();
    const client = await RealtimeTestClient.connect(realtimeUrl(s));
    sockets.push(client);
    client.send({ type: 'response.create', event_id: 'e1', traceparent: '00-abc-def-01' });
    const error = await client.waitForType('error');
    expect(error.error).toMatchObject({ code: 'invalid_value', param: 'traceparent', event_id: 'e1' });
    expect(error.error.message).toContain('W3C traceparent');
    expect(s.simulator.requests).toHaveLength(0);
  });

  it("leaves a metadata value that is not a traceparent alone (metadata is the client's own): a trace of its own", async () => {
    const s = await traced();
    s.simulator.enqueue({ reply: 'Hello there.' });
    const client = await RealtimeTestClient.connect(realtimeUrl(s));
    sockets.push(client);
    await client.addUserText('Hi');
    client.send({ type: 'response.create', response: { metadata: { traceparent: 'not one' } } });
    await client.waitForType('response.done');
    const [turn] = await spans.ended('turn');
    expect(turn!.parentSpanContext).toBeUndefined();
    expect(s.simulator.requests[0]?.headers.traceparent).toBe(traceparentOf(spans.one('chat asi1-mini')));
  });
});

describe('a traceparent at the native edge', () => {
  it.each([
    ['not hex', '00-zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-00f067aa0ba902b7-01'],
    ['an all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['an all-zero parent id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['upper case', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01'],
    ['another version', '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
  ])('refuses %s with GW_INVALID_EVENT naming the field, on turn and turn.interim', async (_what, traceparent) => {
    const s = await traced();
    const client = await voiceClient(s);
    for (const type of ['turn', 'turn.interim']) {
      const from = client.events.length;
      client.send({ type, text: 'Hello there.', eventId: type, traceparent });
      const error = await client.waitForType('error', from);
      expect(error).toMatchObject({ code: 'GW_INVALID_EVENT', eventId: type, retryable: false });
      expect(error.message).toContain('/traceparent: must be a W3C traceparent');
    }
    expect(s.simulator.requests).toHaveLength(0);
  });

  it('honours a client that did not sample: nothing recorded, the decision passed upstream', async () => {
    const s = await traced();
    s.simulator.enqueue({ reply: 'Fine.' });
    const client = await voiceClient(s);
    const parent = clientTraceparent();
    await client.turn('How are you?'); // sampled, for contrast
    const unsampled = parent.traceparent.replace(/-01$/, '-00');
    const from = client.events.length;
    client.send({ type: 'turn', text: 'And now?', traceparent: unsampled });
    await client.waitForType('response.done', from);
    await spans.tracing.forceFlush();
    expect(spans.named('turn')).toHaveLength(1);
    expect(spans.spans.every((span) => span.spanContext().traceId !== parent.traceId)).toBe(true);
    expect(s.simulator.requests[1]?.headers.traceparent).toMatch(new RegExp(`^00-${parent.traceId}-[0-9a-f]{16}-00$`));
    expect(spans.spans.every((span) => span.status.code !== SpanStatusCode.ERROR)).toBe(true);
  });
});
