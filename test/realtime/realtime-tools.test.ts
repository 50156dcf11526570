// Function calling over /v1/realtime as Realtime clients do it: a client tool call ENDS the response (as a
// completed function_call item); the client adds a function_call_output item and starts the next response.
// Server tools run inside the response and stay invisible. Real sockets, the real simulator, no sleeps.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/upstream/types.js';
import { startStack, type Stack } from '../helpers.js';
import { RealtimeTestClient, realtimeUrl } from '../realtime-client.js';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(async () => {
  await stack.close();
});

const WEATHER_TOOL = {
  type: 'function',
  name: 'get_weather',
  description: 'Gets the weather for a city.',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

function upstreamBody(index = -1): { messages: ChatMessage[] } & Record<string, unknown> {
  return stack.simulator.requests.at(index)?.body as { messages: ChatMessage[] } & Record<string, unknown>;
}

/** Connects and declares the client tool, as a GA client (or, with `beta`, as a beta client: no session.type). */
async function connect(beta = false): Promise<RealtimeTestClient> {
  const client = await RealtimeTestClient.connect(
    realtimeUrl(stack.voiceUrl),
    beta ? { headers: { 'OpenAI-Beta': 'realtime=v1' } } : { protocols: ['realtime'] },
  );
  const session = beta
    ? { modalities: ['text'], tools: [WEATHER_TOOL] }
    : { type: 'realtime', output_modalities: ['text'], tools: [WEATHER_TOOL] };
  client.send({ type: 'session.update', session });
  await client.waitForType('session.updated');
  return client;
}

describe('realtime function calling', () => {
  it("ends the response with the call, then answers from the client's function_call_output", async () => {
    const client = await connect();
    stack.simulator.enqueue({
      reply: 'Let me check.',
      toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}', id: 'call_abc' }],
    });
    await client.addUserText('What is the weather in Paris?');
    const from = client.events.length;
    const first = await client.respond();
    const types = client.typesFrom(from);
    const callStart = types.lastIndexOf('response.output_item.added');
    expect(types.slice(callStart)).toEqual([
      'response.output_item.added',
      'conversation.item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'conversation.item.done',
      'response.done',
    ]);
    const added = client.events[from + callStart];
    expect(added).toMatchObject({
      output_index: 1,
      item: { type: 'function_call', status: 'in_progress', name: 'get_weather', call_id: 'call_abc', arguments: '' },
    });
    const argsDone = client.events.find((e) => e.type === 'response.function_call_arguments.done');
    expect(argsDone).toMatchObject({
      call_id: 'call_abc',
      name: 'get_weather',
      arguments: '{"city":"Paris"}',
      output_index: 1,
      item_id: added?.item.id,
    });
    const argDeltas = client.events
      .filter((e) => e.type === 'response.function_call_arguments.delta')
      .map((e) => e.delta as string);
    expect(argDeltas.join('')).toBe('{"city":"Paris"}');
    expect(first.response).toMatchObject({
      status: 'completed',
      output: [
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Let me check.' }] },
        {
          type: 'function_call',
          status: 'completed',
          name: 'get_weather',
          call_id: 'call_abc',
          arguments: '{"city":"Paris"}',
        },
      ],
    });
    expect(stack.simulator.requests).toHaveLength(1);

    client.send({
      type: 'conversation.item.create',
      item: { type: 'function_call_output', call_id: 'call_abc', output: '{"temp":21}' },
    });
    const output = await client.waitFor(
      (e) => e.type === 'conversation.item.done' && e.item.type === 'function_call_output',
    );
    expect(output.item).toMatchObject({ call_id: 'call_abc', output: '{"temp":21}', status: 'completed' });
    expect(output.previous_item_id).toBe(added?.item.id);
    const second = await client.respond();
    expect(second.response.status).toBe('completed');
    expect(second.response.output[0].content[0].text).toContain('get_weather tool returned');
    expect(upstreamBody().messages.slice(1)).toEqual([
      { role: 'user', content: 'What is the weather in Paris?' },
      {
        role: 'assistant',
        content: 'Let me check.',
        tool_calls: [
          { id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_abc', content: '{"temp":21}' },
    ]);
    await client.close();
  });

  it('drops a call the client never answered from later prompts', async () => {
    const client = await connect();
    stack.simulator.enqueue({ toolCalls: [{ name: 'get_weather', arguments: '{"city":"Oslo"}', id: 'call_x' }] });
    await client.addUserText('Weather in Oslo?');
    const first = await client.respond();
    expect(first.response.output).toHaveLength(1);
    expect(first.response.output[0]).toMatchObject({ type: 'function_call', call_id: 'call_x' });
    await client.addUserText('Never mind.');
    await client.respond();
    expect(upstreamBody().messages.slice(1)).toEqual([
      { role: 'user', content: 'Weather in Oslo?' },
      { role: 'user', content: 'Never mind.' },
    ]);
    await client.close();
  });

  it('runs server tools inside the response and never shows them as function calls', async () => {
    const client = await connect();
    await client.addUserText('What time is it in Tokyo?');
    const done = await client.respond();
    expect(done.response.status).toBe('completed');
    expect(done.response.output).toHaveLength(1);
    expect(done.response.output[0]).toMatchObject({ type: 'message', role: 'assistant' });
    expect(client.events.filter((e) => e.type.startsWith('response.function_call'))).toEqual([]);
    expect(stack.simulator.requests).toHaveLength(2);
    expect(upstreamBody().messages.at(-1)).toMatchObject({ role: 'tool' });
    await client.close();
  });

  it('applies a named tool_choice to the first step: only that tool, required', async () => {
    const client = await connect();
    stack.simulator.enqueue({ toolCalls: [{ name: 'get_weather', arguments: '{"city":"Rome"}' }] });
    await client.addUserText('Rome?');
    await client.respond({ tool_choice: { type: 'function', name: 'get_weather' } });
    expect(upstreamBody()).toMatchObject({ tool_choice: 'required' });
    expect((upstreamBody().tools as { function: { name: string } }[]).map((t) => t.function.name)).toEqual([
      'get_weather',
    ]);
    client.send({
      type: 'response.create',
      event_id: 'tc',
      response: { tool_choice: { type: 'function', name: 'nope' } },
    });
    expect((await client.waitForType('error')).error).toMatchObject({ code: 'GW_INVALID_TOOLS', event_id: 'tc' });
    await client.close();
  });

  it('announces function calls to beta clients with conversation.item.created and empty arguments first', async () => {
    const client = await connect(true);
    stack.simulator.enqueue({ toolCalls: [{ name: 'get_weather', arguments: '{"city":"Lima"}', id: 'call_b' }] });
    await client.addUserText('Lima?');
    await client.respond();
    const created = client.events.filter((e) => e.type === 'conversation.item.created').at(-1);
    expect(created?.item).toMatchObject({ type: 'function_call', call_id: 'call_b', arguments: '' });
    const argsDone = client.events.find((e) => e.type === 'response.function_call_arguments.done');
    expect(argsDone).toMatchObject({ call_id: 'call_b', arguments: '{"city":"Lima"}' });
    expect(argsDone?.name).toBeUndefined();
    expect(client.events.map((e) => e.type)).not.toContain('conversation.item.done');
    await client.close();
  });
});
