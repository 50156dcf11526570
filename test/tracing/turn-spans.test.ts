// Issue #19: every turn as a trace. The real gateway and simulator, spans caught by the SDK's in-memory exporter:
// the span tree and attributes of a plain turn (joining the client's traceparent, sent on upstream, in the logs),
// a retried turn, a failed one, a tool turn (server and client tools with their wait) and a barge-in.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, VoiceClient, type Stack } from '../helpers.js';
import { clientTraceparent, hrMs, SpanRecorder, traceparentOf } from './span-rig.js';

const REPLY = 'The first sentence is here. The second sentence is a little longer than that. The third one ends it.';

let stack: Stack | undefined;
let spans: SpanRecorder;
const clients: VoiceClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
  await stack?.close();
  stack = undefined;
  await spans.close();
});

/** A stack whose gateway traces into `spans`; `logs` collects its pino lines. */
async function traced(options: { captureText?: boolean; env?: Record<string, string> } = {}) {
  spans = new SpanRecorder(options);
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as never);
      done();
    },
  });
  stack = await startStack({
    tracing: spans.tracing,
    logger: pino({ level: 'debug' }, sink),
    ...(options.env ? { env: options.env } : {}),
  });
  const client = await VoiceClient.connect(stack.voiceUrl);
  clients.push(client);
  return { stack, client, logs };
}

async function doneOf(client: VoiceClient, turn: Record<string, unknown>) {
  const from = client.events.length;
  client.send({ type: 'turn', ...turn });
  const created = await client.waitForType('response.created', from);
  const done = await client.waitFor((e) => e.type === 'response.done' && e.responseId === created.responseId, from);
  return done as Extract<typeof done, { type: 'response.done' }>;
}

describe('a traced turn', () => {
  it('is one trace under the client traceparent: the turn, its model call and its first speech', async () => {
    const { stack, client, logs } = await traced();
    stack.simulator.enqueue({ reply: REPLY });
    const parent = clientTraceparent();
    const done = await doneOf(client, { text: 'Tell me three things.', turnId: 't1', traceparent: parent.traceparent });
    const [turn] = await spans.ended('turn');
    expect(spans.tree(turn!)).toEqual(['turn', '  chat asi1-mini', '  speech.first_segment']);
    // The root continues the client's trace, as a child of its span.
    expect(turn!.spanContext().traceId).toBe(parent.traceId);
    expect(turn!.parentSpanContext?.spanId).toBe(parent.spanId);
    expect(turn!.kind).toBe(SpanKind.SERVER);
    expect(turn!.attributes).toMatchObject({
      'asi1_gateway.session.id': client.events[0]?.type === 'session.ready' ? client.events[0].sessionId : '',
      'asi1_gateway.response.id': done.responseId,
      'asi1_gateway.turn.id': 't1',
      'asi1_gateway.endpoint': 'voice',
      'asi1_gateway.model': 'asi1-mini',
      'asi1_gateway.models': ['asi1-mini'],
      'asi1_gateway.response.status': 'completed',
      'asi1_gateway.speculative': false,
      'asi1_gateway.tool_steps': 0,
      'asi1_gateway.reply.chars': REPLY.length,
    });
    expect(turn!.attributes['asi1_gateway.turn.text']).toBeUndefined(); // TRACE_USER_TEXT is off
    expect(turn!.status.code).toBe(SpanStatusCode.UNSET);

    const chat = spans.one('chat asi1-mini');
    expect(chat.kind).toBe(SpanKind.CLIENT);
    expect(chat.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'asi_one',
      'gen_ai.conversation.id': turn!.attributes['asi1_gateway.session.id'],
      'gen_ai.request.model': 'asi1-mini',
      'gen_ai.request.max_tokens': 400,
      'gen_ai.response.model': 'asi1-mini',
      'gen_ai.response.finish_reasons': ['stop'],
      'server.address': '127.0.0.1',
      'server.port': stack.simulator.port,
      'http.response.status_code': 200,
      'asi1_gateway.upstream.attempts': 1,
      'asi1_gateway.upstream.kind': 'simulator',
      'asi1_gateway.step': 0,
    });
    expect(chat.attributes['gen_ai.response.id']).toMatch(/^[0-9a-f]{32}$/);
    expect(chat.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    expect(chat.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    for (const timing of ['time_to_headers_ms', 'time_to_first_token_ms', 'wait_ms'])
      expect(chat.attributes[`asi1_gateway.upstream.${timing}`], timing).toBeTypeOf('number');

    // The upstream request carried the model call's context: a tracing-aware upstream joins the trace there.
    expect(stack.simulator.requests[0]?.headers.traceparent).toBe(traceparentOf(chat));
    // The first speech segment: from the first token to the segment, under the turn.
    const speech = spans.one('speech.first_segment');
    expect(speech.attributes['asi1_gateway.speech.chars']).toBeGreaterThan(0);
    expect(hrMs(speech.startTime)).toBeGreaterThanOrEqual(hrMs(chat.startTime));
    // The response's log lines carry its trace and the root's span id.
    const responseDone = logs.find((line) => line.msg === 'response done');
    expect(responseDone).toMatchObject({ trace_id: parent.traceId, span_id: turn!.spanContext().spanId });
    expect(logs.find((line) => line.msg === 'response started')).toMatchObject({ trace_id: parent.traceId });
    // So do the session's lines about the turn.
    expect(logs.find((line) => line.msg === 'turn committed')).toMatchObject({ trace_id: parent.traceId });
  });

  it('starts a trace of its own without a client traceparent, and records the words only when allowed', async () => {
    const { stack, client } = await traced({ captureText: true });
    stack.simulator.enqueue({ reply: 'Yes.' });
    await doneOf(client, { text: 'Is it raining?' });
    const [turn] = await spans.ended('turn');
    expect(turn!.parentSpanContext).toBeUndefined();
    expect(turn!.attributes['asi1_gateway.turn.id']).toBe('turn_1');
    expect(turn!.attributes['asi1_gateway.turn.text']).toBe('Is it raining?');
    expect(stack.simulator.requests[0]?.headers.traceparent).toBe(traceparentOf(spans.one('chat asi1-mini')));
  });

  it("names the session's experiment arm and the arm's model", async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'trace-exp-')), 'experiment.json');
    const arms = [
      { name: 'mini', weight: 1, model: 'asi1-mini' },
      { name: 'deep', weight: 1, model: 'asi1' },
    ];
    writeFileSync(file, JSON.stringify({ name: 'mini-vs-asi1', arms }));
    const { stack, client } = await traced({ env: { EXPERIMENTS_FILE: file } });
    const ready = client.events[0] as Extract<(typeof client.events)[number], { type: 'session.ready' }>;
    const arm = arms.find((a) => a.name === ready.experiment?.arm);
    stack.simulator.enqueue({ reply: 'Hello.' });
    await doneOf(client, { text: 'Hi.' });
    const [turn] = await spans.ended('turn');
    expect(turn!.attributes).toMatchObject({
      'asi1_gateway.experiment.name': 'mini-vs-asi1',
      'asi1_gateway.experiment.arm': arm?.name,
      'asi1_gateway.experiment.counted': true,
      'asi1_gateway.model': arm?.model,
    });
    expect(spans.named(`chat ${arm?.model}`)).toHaveLength(1);
  });

  it('shows a retried model call: both attempts, the reason of the retry, one traceparent upstream', async () => {
    const { stack, client } = await traced();
    stack.simulator.enqueue({ status: 503 }, { reply: 'Back again.' });
    expect((await doneOf(client, { text: 'Hello?' })).status).toBe('completed');
    const [turn] = await spans.ended('turn');
    expect(spans.tree(turn!)).toEqual(['turn', '  chat asi1-mini', '  speech.first_segment']);
    const chat = spans.one('chat asi1-mini');
    expect(chat.attributes).toMatchObject({
      'asi1_gateway.upstream.attempts': 2,
      'asi1_gateway.upstream.retry_reasons': ['GW_UPSTREAM_UNAVAILABLE'],
      'http.response.status_code': 200,
    });
    expect(chat.status.code).toBe(SpanStatusCode.UNSET);
    expect(chat.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        'retry',
        {
          'asi1_gateway.upstream.attempt': 1,
          'error.type': 'GW_UPSTREAM_UNAVAILABLE',
          'http.response.status_code': 503,
          'asi1_gateway.upstream.retry_delay_ms': expect.any(Number),
        },
      ],
    ]);
    const sent = stack.simulator.requests.map((r) => r.headers.traceparent);
    expect(sent).toEqual([traceparentOf(chat), traceparentOf(chat)]);
  });

  it('records a failed turn with its GW_* code on the turn and the model call, never the upstream words', async () => {
    const { stack, client } = await traced();
    stack.simulator.enqueue({ status: 401 });
    const done = await doneOf(client, { text: 'Hello?' });
    expect(done.error?.code).toBe('GW_UPSTREAM_AUTH');
    const [turn] = await spans.ended('turn');
    const chat = spans.one('chat asi1-mini');
    for (const span of [turn!, chat]) {
      expect(span.attributes['error.type']).toBe('GW_UPSTREAM_AUTH');
      expect(span.status).toEqual({
        code: SpanStatusCode.ERROR,
        message: 'GW_UPSTREAM_AUTH: The model service rejected the gateway credentials.',
      });
      expect(span.events.find((e) => e.name === 'exception')?.attributes).toEqual({
        'exception.type': 'GW_UPSTREAM_AUTH',
        'exception.message': 'The model service rejected the gateway credentials.',
      });
    }
    expect(JSON.stringify(spans.spans.map((s) => [s.attributes, s.events, s.status]))).not.toContain(
      'failed to authenticate user', // the simulator's own words
    );
    expect(turn!.attributes['asi1_gateway.response.status']).toBe('failed');
  });
});

describe('a traced tool turn', () => {
  it('has a span per model call and per tool call, in order', async () => {
    const { stack, client } = await traced();
    stack.simulator.enqueue(
      { reply: 'Let me check.', toolCalls: [{ name: 'calculate', arguments: '{"expression":"12 * 7"}' }] },
      { reply: '12 times 7 is 84.' },
    );
    await doneOf(client, { text: 'What is 12 times 7?' });
    const [turn] = await spans.ended('turn');
    expect(spans.tree(turn!)).toEqual([
      'turn',
      '  chat asi1-mini',
      '  speech.first_segment',
      '  execute_tool calculate',
      '  chat asi1-mini',
    ]);
    const tool = spans.one('execute_tool calculate');
    expect(tool.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'calculate',
      'gen_ai.tool.type': 'extension',
      'asi1_gateway.tool.runs_on': 'server',
    });
    expect(tool.attributes['gen_ai.tool.call.arguments']).toBeUndefined(); // TRACE_USER_TEXT is off
    expect(spans.named('chat asi1-mini').map((c) => c.attributes['asi1_gateway.step'])).toEqual([0, 1]);
    expect(spans.named('chat asi1-mini').map((c) => c.attributes['gen_ai.response.finish_reasons'])).toEqual([
      ['tool_calls'],
      ['stop'],
    ]);
    expect(turn!.attributes['asi1_gateway.tool_steps']).toBe(1);
  });

  it("spans a client tool call from its announcement to the client's tool.result", async () => {
    const { stack, client } = await traced();
    client.send({ type: 'session.update', tools: [{ name: 'look_up', description: 'Looks it up.' }] });
    await client.waitForType('session.updated');
    stack.simulator.enqueue(
      { reply: '', toolCalls: [{ name: 'look_up', arguments: '{"q":"x"}', id: 'call_1' }] },
      { reply: 'Found it.' },
    );
    client.send({ type: 'turn', text: 'Look it up.' });
    await client.waitForType('response.tool_call');
    const answeredAt = Date.now();
    client.send({ type: 'tool.result', callId: 'call_1', output: { found: true } });
    await client.waitForType('response.done');
    const [turn] = await spans.ended('turn');
    const tool = spans.one('execute_tool look_up');
    expect(tool.parentSpanContext?.spanId).toBe(turn!.spanContext().spanId);
    expect(tool.attributes).toMatchObject({
      'gen_ai.tool.type': 'function',
      'gen_ai.tool.call.id': 'call_1',
      'asi1_gateway.tool.runs_on': 'client',
    });
    // Its wait is the client's: it ends only after the result was sent.
    expect(hrMs(tool.endTime)).toBeGreaterThanOrEqual(answeredAt - 1);
  });
});

describe('a traced barge-in', () => {
  it('ends the model call aborted (not failed) and records the cancel with what was heard', async () => {
    const { stack, client } = await traced();
    stack.simulator.enqueue({ reply: REPLY, gate: { name: 'hold', afterChunks: 16 } });
    client.send({ type: 'turn', text: 'Tell me three things.' });
    const created = await client.waitForType('response.created');
    await stack.simulator.gate('hold').reached;
    const speech = await client.waitForType('response.speech');
    client.send({ type: 'response.cancel', responseId: created.responseId, heardChars: speech.text.length });
    await client.waitForType('response.done');
    stack.simulator.gate('hold').release();
    const [turn] = await spans.ended('turn');
    expect(spans.tree(turn!)).toEqual(['turn', '  chat asi1-mini', '  speech.first_segment', '  response.interrupt']);
    expect(turn!.attributes['asi1_gateway.response.status']).toBe('interrupted');
    expect(turn!.status.code).toBe(SpanStatusCode.UNSET);
    const chat = spans.one('chat asi1-mini');
    expect(chat.attributes['asi1_gateway.upstream.aborted']).toBe(true);
    expect(chat.status.code).toBe(SpanStatusCode.UNSET);
    const cancel = spans.one('response.interrupt');
    expect(cancel.attributes).toMatchObject({
      'asi1_gateway.interrupt.cause': 'client_cancel',
      'asi1_gateway.heard.chars': speech.text.length,
      'asi1_gateway.heard.display_chars': 'The first sentence is here.'.length,
    });
    expect(cancel.attributes['asi1_gateway.sent.chars']).toBeGreaterThan(speech.text.length);
  });

  it('records a new turn as the interruption of the reply before it', async () => {
    const { stack, client } = await traced();
    stack.simulator.enqueue({ reply: REPLY, gate: { name: 'hold', afterChunks: 3 } }, { reply: 'Sure.' });
    client.send({ type: 'turn', text: 'Tell me three things.' });
    await stack.simulator.gate('hold').reached;
    await doneOf(client, { text: 'Actually, stop.' });
    stack.simulator.gate('hold').release();
    await spans.ended('turn', 2);
    expect(spans.one('response.interrupt').attributes['asi1_gateway.interrupt.cause']).toBe('new_turn');
  });

  it("cuts a completed reply the client was still speaking in that reply's trace (a heard-commit)", async () => {
    const { stack, client } = await traced();
    stack.simulator.enqueue({ reply: REPLY });
    const done = await doneOf(client, { text: 'Tell me three things.' });
    client.send({ type: 'response.cancel', responseId: done.responseId, heardChars: 10 });
    const [commit] = await spans.ended('response.heard_commit');
    const turn = spans.one('turn');
    expect(commit!.parentSpanContext?.spanId).toBe(turn.spanContext().spanId);
    expect(commit!.attributes).toMatchObject({
      'asi1_gateway.heard.chars': 10,
      'asi1_gateway.sent.chars': REPLY.length,
    });
    expect(stack.simulator.requests).toHaveLength(1);
  });
});
