// The OpenAI Realtime text subset on /v1/realtime, end to end: real sockets, the real simulator, the same Session
// core as /v1/voice. Items and responses are separate requests; gates hold streams, so nothing here sleeps.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/upstream/types.js';
import { startStack, type Stack } from '../helpers.js';
import { RealtimeTestClient, realtimeUrl, type RtEvent } from '../realtime-client.js';

let stack: Stack;
let client: RealtimeTestClient;
beforeEach(async () => {
  stack = await startStack({ env: { BUILTIN_TOOLS: 'off' } });
  client = await RealtimeTestClient.connect(realtimeUrl(stack.voiceUrl), { protocols: ['realtime'] });
});
afterEach(async () => {
  await client.close();
  await stack.close();
});

const WEATHER = {
  type: 'function',
  name: 'get_weather',
  parameters: { type: 'object', properties: { city: { type: 'string' } } },
};
const REPLY = 'The first sentence is here. The second sentence is a little longer than that. The third one ends it.';

function upstreamBody(index = -1): { messages: ChatMessage[] } & Record<string, unknown> {
  return stack.simulator.requests.at(index)?.body as { messages: ChatMessage[] } & Record<string, unknown>;
}

function deltasOf(responseId: string): string {
  return client.events
    .filter((e) => e.type === 'response.output_text.delta' && e.response_id === responseId)
    .map((e) => e.delta as string)
    .join('');
}

/** Starts a response whose stream holds after `afterChunks` chunks; resolves once those deltas reached the client. */
async function heldResponse(
  gateName: string,
  afterChunks: number,
): Promise<{ responseId: string; gate: { release(): void } }> {
  stack.simulator.enqueue({ reply: REPLY, gate: { name: gateName, afterChunks } });
  const gate = stack.simulator.gate(gateName);
  await client.addUserText('Tell me three things.');
  const from = client.events.length;
  client.send({ type: 'response.create' });
  const created = await client.waitForType('response.created', from);
  await gate.reached;
  const expected = REPLY.split(/(?<=\s)/)
    .slice(0, afterChunks)
    .join('');
  await client.waitFor(() => deltasOf(created.response.id) === expected, from);
  return { responseId: created.response.id, gate };
}

describe('realtime text turns', () => {
  it('streams a turn as the full Realtime event sequence, in order, and the texts agree', async () => {
    stack.simulator.enqueue({ reply: 'Hello there! The sky is blue. Anything else?' });
    const from = client.events.length;
    const user = await client.addUserText('Why is the sky blue?');
    expect(user).toMatchObject({
      object: 'realtime.item',
      type: 'message',
      role: 'user',
      status: 'completed',
      content: [{ type: 'input_text', text: 'Why is the sky blue?' }],
    });
    const done = await client.respond();
    const types = client.typesFrom(from);
    const deltas = types.filter((t) => t === 'response.output_text.delta').length;
    expect(deltas).toBeGreaterThan(3);
    expect(types).toEqual([
      'conversation.item.added',
      'conversation.item.done',
      'response.created',
      'rate_limits.updated',
      'response.output_item.added',
      'conversation.item.added',
      'response.content_part.added',
      ...Array<string>(deltas).fill('response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'conversation.item.done',
      'response.done',
    ]);
    const responseId = done.response.id as string;
    const textDone = client.events.find((e) => e.type === 'response.output_text.done');
    expect(deltasOf(responseId)).toBe('Hello there! The sky is blue. Anything else?');
    expect(textDone?.text).toBe(deltasOf(responseId));
    expect(done.response).toMatchObject({
      object: 'realtime.response',
      status: 'completed',
      status_details: null,
      output_modalities: ['text'],
      output: [
        {
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text: deltasOf(responseId) }],
        },
      ],
    });
    expect(done.response.usage.output_tokens).toBeGreaterThan(0);
    expect(done.response.usage.total_tokens).toBe(done.response.usage.input_tokens + done.response.usage.output_tokens);
    // The assistant item follows the user item in the conversation.
    const assistantAdded = client.events.filter((e) => e.type === 'conversation.item.added')[1];
    expect(assistantAdded?.previous_item_id).toBe(user.id);
    expect(upstreamBody().messages.slice(1)).toEqual([{ role: 'user', content: 'Why is the sky blue?' }]);
  });

  it('refuses an item the current turn cannot hold with GW_HISTORY_FULL, and a user message starts a new turn', async () => {
    await client.close();
    await stack.close();
    stack = await startStack({ env: { BUILTIN_TOOLS: 'off', HISTORY_TOKEN_BUDGET: '1000' } });
    client = await RealtimeTestClient.connect(realtimeUrl(stack.voiceUrl), { protocols: ['realtime'] });
    const assistantItem = (text: string, eventId: string): Record<string, unknown> => ({
      type: 'conversation.item.create',
      event_id: eventId,
      item: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] },
    });
    await client.addUserText('Remember these.');
    let from = client.events.length;
    client.send(assistantItem('a'.repeat(2_000), 'evt_first'));
    await client.waitForType('conversation.item.done', from);
    from = client.events.length;
    client.send(assistantItem('b'.repeat(2_000), 'evt_second'));
    const error = await client.waitForType('error', from);
    expect(error.error).toMatchObject({ code: 'GW_HISTORY_FULL', event_id: 'evt_second' });
    await client.addUserText('A new question.');
    stack.simulator.enqueue({ reply: 'Fine.' });
    from = client.events.length;
    client.send({ type: 'response.create' });
    await client.waitForType('response.done', from);
    const sent = upstreamBody().messages.map((m) => m.content);
    expect(sent.at(-1)).toBe('A new question.');
    expect(sent.join('')).not.toContain('b'.repeat(100));
  });

  it('puts a unique event_id on every server event', async () => {
    await client.addUserText('Hi');
    await client.respond();
    client.send('not json');
    await client.waitForType('error');
    const ids = client.events.map((e) => e.event_id);
    expect(ids.every((id) => typeof id === 'string' && id.startsWith('event_'))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('does not start a response when an item is added, and keeps the conversation across responses', async () => {
    stack.simulator.enqueue({ reply: 'Paris is the capital.' });
    await client.addUserText('What is the capital of France?');
    expect(stack.simulator.requests).toHaveLength(0);
    await client.respond();
    await client.addUserText('And its population?');
    await client.respond();
    expect(upstreamBody().messages.slice(1)).toEqual([
      { role: 'user', content: 'What is the capital of France?' },
      { role: 'assistant', content: 'Paris is the capital.' },
      { role: 'user', content: 'And its population?' },
    ]);
  });

  it('applies session.update (text) and answers with the full effective session', async () => {
    client.send({
      type: 'session.update',
      session: {
        type: 'realtime',
        output_modalities: ['text'],
        instructions: 'Be terse.',
        max_output_tokens: 50,
        audio: { input: { turn_detection: { type: 'semantic_vad' } } },
      },
    });
    const updated = await client.waitForType('session.updated');
    expect(updated.session).toMatchObject({
      type: 'realtime',
      object: 'realtime.session',
      output_modalities: ['text'],
      instructions: 'Be terse.',
      max_output_tokens: 50,
      tools: [],
      tool_choice: 'auto',
    });
    await client.addUserText('Hi');
    await client.respond();
    expect(upstreamBody()).toMatchObject({ max_tokens: 50 });
    expect(upstreamBody().messages[0]).toEqual({ role: 'system', content: 'Be terse.' });
  });

  it('refuses audio output with a clear error: session.update keeps its other fields, response.create is refused', async () => {
    client.send({
      type: 'session.update',
      event_id: 'su-1',
      session: { type: 'realtime', output_modalities: ['audio'], instructions: 'Still applied.' },
    });
    const error = await client.waitForType('error');
    expect(error.error).toEqual({
      type: 'invalid_request_error',
      code: 'unsupported_modality',
      message: expect.stringContaining('text-only'),
      param: 'session.output_modalities',
      event_id: 'su-1',
    });
    expect((await client.waitForType('session.updated')).session).toMatchObject({
      output_modalities: ['text'],
      instructions: 'Still applied.',
    });
    await client.addUserText('Hi');
    const refused = await client.respond({ modalities: ['text', 'audio'] }, { event_id: 'rc-1' });
    expect(refused.error).toMatchObject({
      code: 'unsupported_modality',
      param: 'response.modalities',
      event_id: 'rc-1',
    });
    expect(stack.simulator.requests).toHaveLength(0);
    const done = await client.respond();
    expect(done.response.status).toBe('completed');
    expect(upstreamBody().messages[0]).toEqual({ role: 'system', content: 'Still applied.' });
  });

  it('applies no part of a session.update that fails validation', async () => {
    client.send({
      type: 'session.update',
      event_id: 'su-2',
      session: { type: 'realtime', instructions: 'Never applied.', tools: [WEATHER, WEATHER] },
    });
    expect((await client.waitForType('error')).error).toMatchObject({ code: 'GW_INVALID_TOOLS', event_id: 'su-2' });
    expect(client.events.map((e) => e.type)).not.toContain('session.updated');
    await client.addUserText('Hi');
    await client.respond();
    expect(upstreamBody().messages[0]).toEqual({ role: 'system', content: stack.config.systemPrompt });
  });

  it('applies per-response overrides to that response only', async () => {
    await client.addUserText('Hi');
    const done = await client.respond({
      instructions: 'Answer in French.',
      max_output_tokens: 42,
      metadata: { topic: 'greeting' },
      tools: [
        {
          type: 'function',
          name: 'lookup',
          description: 'Looks things up.',
          parameters: { type: 'object', properties: { q: { type: 'string' } } },
        },
      ],
      tool_choice: 'required',
    });
    expect(done.response).toMatchObject({ max_output_tokens: 42, metadata: { topic: 'greeting' } });
    expect(upstreamBody()).toMatchObject({
      max_tokens: 42,
      tool_choice: 'required',
      tools: [{ type: 'function', function: { name: 'lookup', description: 'Looks things up.' } }],
    });
    expect(upstreamBody().messages[0]).toEqual({ role: 'system', content: 'Answer in French.' });
    await client.addUserText('Again');
    await client.respond();
    expect(upstreamBody()).toMatchObject({ max_tokens: stack.config.maxOutputTokens });
    // Only the built-in escalation tool is left once the response's own tools are gone.
    const tools = upstreamBody().tools as { function: { name: string } }[] | undefined;
    expect(tools?.map((t) => t.function.name)).toEqual(['consult_deeper_model']);
    expect(upstreamBody().messages[0]).toEqual({ role: 'system', content: stack.config.systemPrompt });
  });

  it('reports a reply cut by max_output_tokens as incomplete', async () => {
    stack.simulator.enqueue({ reply: 'One two three four five six seven eight.' });
    await client.addUserText('Count');
    const done = await client.respond({ max_output_tokens: 3 });
    expect(done.response).toMatchObject({
      status: 'incomplete',
      status_details: { type: 'incomplete', reason: 'max_output_tokens' },
    });
    expect(done.response.output[0]).toMatchObject({
      status: 'incomplete',
      content: [{ type: 'output_text', text: 'One two three ' }],
    });
  });

  it('reports an upstream failure as a failed response and keeps the session usable', async () => {
    stack.simulator.enqueue({ status: 401, errorBody: 'message' });
    await client.addUserText('Hi');
    const failed = await client.respond();
    expect(failed.response).toMatchObject({
      status: 'failed',
      status_details: { type: 'failed', error: { type: 'server_error', code: 'GW_UPSTREAM_AUTH' } },
      output: [],
    });
    expect((await client.respond()).response.status).toBe('completed');
  });

  it('keeps an out-of-band response (conversation "none") out of the conversation', async () => {
    stack.simulator.enqueue({ reply: 'A side answer.' }, { reply: 'The real answer.' });
    await client.addUserText('Hi');
    const from = client.events.length;
    const side = await client.respond({ conversation: 'none' });
    expect(side.response).toMatchObject({ status: 'completed', conversation_id: null });
    expect(client.typesFrom(from)).not.toContain('conversation.item.added');
    await client.respond();
    expect(upstreamBody().messages.slice(1)).toEqual([{ role: 'user', content: 'Hi' }]);
  });
});

describe('realtime cancellation and concurrency', () => {
  it('cancels mid-stream: response.done cancelled, item incomplete, upstream closed, history marked', async () => {
    const { responseId, gate } = await heldResponse('g1', 3);
    const upstreamClosed = new Promise<void>((resolve) =>
      stack.simulator.events.on('stream-end', (end: { reason: string }) => end.reason === 'client-closed' && resolve()),
    );
    client.send({ type: 'response.cancel' });
    const done = await client.waitFor((e) => e.type === 'response.done' && e.response.id === responseId);
    expect(done.response).toMatchObject({
      status: 'cancelled',
      status_details: { type: 'cancelled', reason: 'client_cancelled' },
    });
    expect(done.response.output[0]).toMatchObject({
      status: 'incomplete',
      content: [{ type: 'output_text', text: 'The first sentence ' }],
    });
    await upstreamClosed;
    gate.release();
    const after = client.events.indexOf(done);
    expect(client.events.slice(after + 1).filter((e) => e.response_id === responseId)).toEqual([]);
    await client.addUserText('Go on');
    await client.respond();
    expect(upstreamBody().messages.slice(1, 3)).toEqual([
      { role: 'user', content: 'Tell me three things.' },
      { role: 'assistant', content: 'The first sentence [interrupted by the user]' },
    ]);
  });

  it('answers response.cancel with nothing active with response_cancel_not_active', async () => {
    client.send({ type: 'response.cancel', event_id: 'c-1' });
    expect((await client.waitForType('error')).error).toMatchObject({
      code: 'response_cancel_not_active',
      event_id: 'c-1',
    });
  });

  it('refuses a second response.create while one is active, and the first one completes', async () => {
    const { responseId, gate } = await heldResponse('g2', 1);
    const from = client.events.length;
    client.send({ type: 'response.create', event_id: 'second' });
    const error = await client.waitForType('error', from);
    expect(error.error).toMatchObject({
      type: 'invalid_request_error',
      code: 'conversation_already_has_active_response',
      event_id: 'second',
    });
    expect(client.events.slice(from).filter((e) => e.type === 'response.created')).toEqual([]);
    gate.release();
    const done = await client.waitFor((e) => e.type === 'response.done' && e.response.id === responseId);
    expect(done.response.status).toBe('completed');
    expect(stack.simulator.requests).toHaveLength(1);
  });

  it("refuses to edit the active response's item, or to cancel another response", async () => {
    const { responseId, gate } = await heldResponse('g4', 1);
    const itemId = client.events.find((e) => e.type === 'response.output_item.added')?.item.id as string;
    client.send({ type: 'conversation.item.delete', event_id: 'del', item_id: itemId });
    expect((await client.waitForType('error')).error).toMatchObject({
      code: 'invalid_value',
      param: 'item_id',
      event_id: 'del',
    });
    client.send({ type: 'response.cancel', event_id: 'other', response_id: 'resp_other' });
    expect((await client.waitFor((e) => e.error?.event_id === 'other')).error.code).toBe('response_cancel_not_active');
    gate.release();
    await client.waitFor((e) => e.type === 'response.done' && e.response.id === responseId);
    client.send({ type: 'conversation.item.delete', item_id: itemId });
    expect(await client.waitForType('conversation.item.deleted')).toMatchObject({ item_id: itemId });
  });

  it("places an item added during a response after that response's reply", async () => {
    const { responseId, gate } = await heldResponse('g3', 2);
    await client.addUserText('Meanwhile, this.');
    gate.release();
    await client.waitFor((e) => e.type === 'response.done' && e.response.id === responseId);
    await client.respond();
    expect(
      upstreamBody()
        .messages.slice(1)
        .map((m) => m.role),
    ).toEqual(['user', 'assistant', 'user']);
    expect(upstreamBody().messages.at(-1)).toEqual({ role: 'user', content: 'Meanwhile, this.' });
  });
});

describe('realtime item editing', () => {
  async function exchange(reply: string): Promise<{ user: RtEvent['item']; assistantId: string }> {
    stack.simulator.enqueue({ reply });
    const user = await client.addUserText('Tell me a story.');
    const done = await client.respond();
    return { user, assistantId: done.response.output[0].id as string };
  }

  it('truncates an assistant item to a number of characters (audio_end_ms counts characters for text)', async () => {
    const { assistantId } = await exchange('Once upon a time there was a gateway.');
    client.send({ type: 'conversation.item.truncate', item_id: assistantId, content_index: 0, audio_end_ms: 16 });
    expect(await client.waitForType('conversation.item.truncated')).toMatchObject({
      item_id: assistantId,
      content_index: 0,
      audio_end_ms: 16,
    });
    client.send({ type: 'conversation.item.retrieve', item_id: assistantId });
    const retrieved = await client.waitForType('conversation.item.retrieved');
    expect(retrieved.item).toMatchObject({
      id: assistantId,
      role: 'assistant',
      status: 'incomplete',
      content: [{ type: 'output_text', text: 'Once upon a time' }],
    });
    await client.addUserText('Go on.');
    await client.respond();
    expect(upstreamBody().messages[2]).toEqual({
      role: 'assistant',
      content: 'Once upon a time [interrupted by the user]',
    });
  });

  it('refuses to truncate unknown or non-assistant items', async () => {
    const { user } = await exchange('Fine.');
    client.send({
      type: 'conversation.item.truncate',
      event_id: 't-1',
      item_id: 'item_nope',
      content_index: 0,
      audio_end_ms: 3,
    });
    expect((await client.waitForType('error')).error).toMatchObject({
      code: 'item_not_found',
      event_id: 't-1',
      param: 'item_id',
    });
    const from = client.events.length;
    client.send({
      type: 'conversation.item.truncate',
      event_id: 't-2',
      item_id: user.id,
      content_index: 0,
      audio_end_ms: 3,
    });
    expect((await client.waitForType('error', from)).error).toMatchObject({ code: 'invalid_value', event_id: 't-2' });
  });

  it('deletes items from the conversation the model sees', async () => {
    const { user, assistantId } = await exchange('A short story.');
    client.send({ type: 'conversation.item.delete', item_id: assistantId });
    expect(await client.waitForType('conversation.item.deleted')).toMatchObject({ item_id: assistantId });
    client.send({ type: 'conversation.item.delete', event_id: 'd-2', item_id: assistantId });
    expect((await client.waitForType('error')).error).toMatchObject({ code: 'item_not_found', event_id: 'd-2' });
    await client.addUserText('Another one.');
    await client.respond();
    expect(upstreamBody().messages.slice(1)).toEqual([
      { role: 'user', content: 'Tell me a story.' },
      { role: 'user', content: 'Another one.' },
    ]);
    client.send({ type: 'conversation.item.retrieve', item_id: user.id });
    expect((await client.waitForType('conversation.item.retrieved')).item).toMatchObject({
      id: user.id,
      type: 'message',
      role: 'user',
    });
  });

  it('keeps client item ids, refuses duplicates, and takes system and assistant items', async () => {
    await client.addUserText('Hello');
    client.send({
      type: 'conversation.item.create',
      item: {
        id: 'sys_1',
        type: 'message',
        role: 'system',
        content: [{ type: 'input_text', text: 'Speak like a pirate.' }],
      },
    });
    await client.waitFor((e) => e.type === 'conversation.item.done' && e.item.id === 'sys_1');
    client.send({
      type: 'conversation.item.create',
      item: { id: 'asst_1', type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Arr.' }] },
    });
    await client.waitFor((e) => e.type === 'conversation.item.done' && e.item.id === 'asst_1');
    client.send({
      type: 'conversation.item.create',
      event_id: 'dup',
      item: { id: 'sys_1', type: 'message', role: 'user', content: [{ type: 'input_text', text: 'x' }] },
    });
    expect((await client.waitForType('error')).error).toMatchObject({ code: 'item_already_exists', event_id: 'dup' });
    await client.respond();
    expect(upstreamBody().messages.slice(1)).toEqual([
      { role: 'user', content: 'Hello' },
      { role: 'system', content: 'Speak like a pirate.' },
      { role: 'assistant', content: 'Arr.' },
    ]);
  });
});

describe('realtime bad input', () => {
  it('answers audio-only events with unsupported_event, echoing the client event_id', async () => {
    client.send({ type: 'input_audio_buffer.append', event_id: 'audio-1', audio: 'AAAA' });
    const error = await client.waitForType('error');
    expect(error.error).toEqual({
      type: 'invalid_request_error',
      code: 'unsupported_event',
      message: expect.stringContaining('text-only'),
      param: 'type',
      event_id: 'audio-1',
    });
    client.send({ type: 'input_audio_buffer.commit' });
    await client.waitFor((e) => e.type === 'error' && e.error.event_id === null);
  });

  it('answers malformed frames with errors and the connection stays usable', async () => {
    const cases: [unknown, string, string | null][] = [
      ['{ nope', 'invalid_json', null],
      [[1, 2], 'invalid_event', null],
      [{ event_id: 'e1' }, 'invalid_event', 'e1'],
      [{ type: 'no.such.event', event_id: 'e2' }, 'invalid_value', 'e2'],
      [{ type: 'conversation.item.create', event_id: 'e3' }, 'missing_required_parameter', 'e3'],
      [
        {
          type: 'conversation.item.create',
          event_id: 'e4',
          item: { type: 'message', role: 'user', content: [{ type: 'input_audio', audio: 'AA' }] },
        },
        'unsupported_feature',
        'e4',
      ],
      [
        {
          type: 'conversation.item.create',
          event_id: 'e5',
          item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: '   ' }] },
        },
        'GW_EMPTY_TURN',
        'e5',
      ],
      [
        {
          type: 'conversation.item.create',
          event_id: 'e6',
          item: { type: 'function_call_output', call_id: 'call_unknown', output: '{}' },
        },
        'invalid_value',
        'e6',
      ],
      [
        { type: 'session.update', event_id: 'e7', session: { tools: [{ type: 'function', name: 'bad name!' }] } },
        'invalid_value',
        'e7',
      ],
      [{ type: 'session.update', event_id: 'e8', session: { type: 'transcription' } }, 'unsupported_feature', 'e8'],
      [{ type: 'response.create', event_id: 'e9', response: { input: [] } }, 'unsupported_feature', 'e9'],
    ];
    for (const [frame, code, eventId] of cases) {
      const from = client.events.length;
      client.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
      const error = await client.waitForType('error', from);
      expect(error.error, JSON.stringify(frame)).toMatchObject({ code, event_id: eventId });
    }
    const tools = client.events.find((e) => e.error?.event_id === 'e7');
    expect(tools?.error.param).toBe('session.tools[0].name');
    client.socket.send(Buffer.from([1, 2, 3]));
    expect((await client.waitFor((e) => e.error?.code === 'GW_BINARY_FRAME')).type).toBe('error');
    await client.addUserText('Still here?');
    expect((await client.respond()).response.status).toBe('completed');
  });
});
