// Tool calling through the gateway: server and client tools, streamed and parallel calls, timeouts, errors,
// barge-in during a tool, the step cap, and the asi1 upstream quirks. One response per turn, always.
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerEvent } from '../../src/protocol.js';
import { FILLER_TEXT } from '../../src/session/response-run.js';
import { defineTool } from '../../src/tools/types.js';
import type { ChatMessage } from '../../src/upstream/types.js';
import { Type } from '@sinclair/typebox';
import { startStack, VoiceClient, type Stack } from '../helpers.js';

let stack: Stack;
afterEach(async () => {
  await stack.close();
});

type Done = Extract<ServerEvent, { type: 'response.done' }>;
type ToolCallEvent = Extract<ServerEvent, { type: 'response.tool_call' }>;

function requestBody(index: number) {
  return stack.simulator.requests[index]?.body as {
    messages: ChatMessage[];
    tools?: { function: { name: string } }[];
    tool_choice?: string;
  };
}

function toolMessages(index: number) {
  return requestBody(index).messages.filter((m): m is Extract<ChatMessage, { role: 'tool' }> => m.role === 'tool');
}

function expectOneResponse(client: VoiceClient, done: Done) {
  const ofIt = client.ofResponse(done.responseId);
  expect(ofIt.filter((e) => e.type === 'response.created')).toHaveLength(1);
  expect(ofIt.filter((e) => e.type === 'response.done')).toHaveLength(1);
  expect(ofIt.at(-1)).toBe(done);
  expect(client.events.filter((e) => e.type === 'response.created')).toHaveLength(1);
}

function toolCalls(client: VoiceClient): ToolCallEvent[] {
  return client.events.filter((e): e is ToolCallEvent => e.type === 'response.tool_call');
}

const slowSignals: AbortSignal[] = [];
const slowTool = defineTool({
  name: 'slow_lookup',
  description: 'Waits until aborted.',
  parameters: Type.Object({}),
  execute: (_args, { signal }) =>
    new Promise((_resolve, reject) => {
      slowSignals.push(signal);
      signal.addEventListener('abort', () => reject(new Error('aborted')));
    }),
});
const explodingTool = defineTool({
  name: 'explode',
  description: 'Always throws.',
  parameters: Type.Object({}),
  execute: () => {
    throw new Error('kaboom');
  },
});

describe('tool calling', () => {
  it('declares the built-in tools upstream and runs a server tool, then continues the same response', async () => {
    stack = await startStack();
    stack.simulator.enqueue(
      { reply: 'Let me work that out. ', toolCalls: [{ name: 'calculate', arguments: '{"expression":"12 * 7"}' }] },
      { reply: 'It is 84.' },
    );
    const client = await VoiceClient.connect(stack.voiceUrl);
    const done = await client.turn('What is 12 times 7?');
    expect(done).toMatchObject({ status: 'completed', text: 'Let me work that out. It is 84.' });
    expectOneResponse(client, done);
    expect(requestBody(0).tools?.map((t) => t.function.name)).toEqual(
      expect.arrayContaining(['calculate', 'get_current_time']),
    );
    const [call] = toolCalls(client);
    expect(call).toMatchObject({ name: 'calculate', runsOn: 'server', arguments: '{"expression":"12 * 7"}' });
    const second = requestBody(1).messages;
    const assistant = second.at(-2) as Extract<ChatMessage, { role: 'assistant' }>;
    expect(assistant.tool_calls?.[0]).toMatchObject({ id: call?.callId, function: { name: 'calculate' } });
    expect(second.at(-1)).toMatchObject({ role: 'tool', tool_call_id: call?.callId });
    expect(JSON.parse((second.at(-1) as { content: string }).content)).toMatchObject({ result: 84 });
    // The preamble was spoken before the tool ran.
    const kinds = client.ofResponse(done.responseId).map((e) => e.type);
    expect(kinds.indexOf('response.speech')).toBeLessThan(kinds.indexOf('response.tool_call'));
    // The next turn sees the whole exchange in order.
    await client.turn('Thanks');
    expect(
      requestBody(2)
        .messages.slice(1)
        .map((m) => m.role),
    ).toEqual(['user', 'assistant', 'tool', 'assistant', 'user']);
    await client.close();
  });

  it('keeps the steps of one reply apart with a space, in the deltas and the final text', async () => {
    stack = await startStack();
    stack.simulator.enqueue(
      { reply: 'Let me check.', toolCalls: [{ name: 'calculate', arguments: '{"expression":"1+1"}' }] },
      { reply: 'It is 2.' },
    );
    const client = await VoiceClient.connect(stack.voiceUrl);
    const done = await client.turn('One plus one?');
    expect(done.text).toBe('Let me check. It is 2.');
    const deltas = client.ofResponse(done.responseId).flatMap((e) => (e.type === 'response.delta' ? [e.text] : []));
    expect(deltas.join('')).toBe(done.text);
    await client.close();
  });

  it('runs two parallel calls with fragmented arguments and answers each by id', async () => {
    stack = await startStack();
    stack.simulator.enqueue(
      {
        toolCalls: [
          { name: 'calculate', arguments: '{"expression":"2 + 2"}' },
          { name: 'get_current_time', arguments: '{"timeZone":"Asia/Tokyo"}' },
        ],
      },
      { reply: 'Four, and it is late in Tokyo.' },
    );
    const client = await VoiceClient.connect(stack.voiceUrl);
    const done = await client.turn('What is 2 plus 2 and the time in Tokyo?');
    expect(done.status).toBe('completed');
    expectOneResponse(client, done);
    const calls = toolCalls(client);
    expect(calls.map((c) => c.name).sort()).toEqual(['calculate', 'get_current_time']);
    const results = toolMessages(1);
    expect(results.map((m) => m.tool_call_id).sort()).toEqual(calls.map((c) => c.callId).sort());
    const byId = new Map(results.map((m) => [m.tool_call_id, JSON.parse(m.content) as Record<string, unknown>]));
    expect(byId.get(calls.find((c) => c.name === 'calculate')?.callId ?? '')).toMatchObject({ result: 4 });
    expect(byId.get(calls.find((c) => c.name === 'get_current_time')?.callId ?? '')).toMatchObject({
      timeZone: 'Asia/Tokyo',
    });
    await client.close();
  });

  it('round-trips a client tool declared in session.update', async () => {
    stack = await startStack();
    stack.simulator.enqueue(
      { toolCalls: [{ name: 'get_location', arguments: '{}' }] },
      { reply: 'You are in Lisbon.' },
    );
    const client = await VoiceClient.connect(stack.voiceUrl);
    client.send({
      type: 'session.update',
      tools: [
        { name: 'get_location', description: 'Where the user is', parameters: { type: 'object', properties: {} } },
      ],
    });
    await client.waitForType('session.updated');
    client.send({ type: 'turn', text: 'Where am I?' });
    const call = await client.waitForType('response.tool_call');
    expect(call).toMatchObject({ name: 'get_location', runsOn: 'client' });
    client.send({ type: 'tool.result', callId: call.callId, output: { city: 'Lisbon' } });
    const done = await client.waitForType('response.done');
    expect(done).toMatchObject({ status: 'completed', text: 'You are in Lisbon.' });
    expect(toolMessages(1)).toEqual([{ role: 'tool', tool_call_id: call.callId, content: '{"city":"Lisbon"}' }]);
    expect(requestBody(0).tools?.map((t) => t.function.name)).toContain('get_location');
    // A second result for the same call is unknown now.
    client.send({ type: 'tool.result', callId: call.callId, output: 'late' });
    expect(await client.waitForType('error')).toMatchObject({ code: 'GW_UNKNOWN_TOOL_CALL' });
    await client.close();
  });

  it('reports a client tool that never answers to the model as a timeout error', async () => {
    stack = await startStack({ env: { CLIENT_TOOL_TIMEOUT_MS: '50' } });
    stack.simulator.enqueue(
      { toolCalls: [{ name: 'get_location', arguments: '{}' }] },
      { reply: 'I could not find you.' },
    );
    const client = await VoiceClient.connect(stack.voiceUrl);
    client.send({ type: 'session.update', tools: [{ name: 'get_location', parameters: { type: 'object' } }] });
    await client.waitForType('session.updated');
    const done = await client.turn('Where am I?');
    expect(done.status).toBe('completed');
    expect(toolMessages(1)[0]?.content).toContain('did not return a result');
    await client.close();
  });

  it('returns invalid JSON arguments and unknown tools to the model as tool errors', async () => {
    stack = await startStack();
    stack.simulator.enqueue(
      {
        toolCalls: [
          { name: 'calculate', arguments: '{"expression": "1 +' },
          { name: 'no_such_tool', arguments: '{}' },
        ],
      },
      { reply: 'Sorry, I could not do that.' },
    );
    const client = await VoiceClient.connect(stack.voiceUrl);
    const done = await client.turn('Compute something');
    expect(done.status).toBe('completed');
    const [invalid, unknown] = toolMessages(1);
    expect(JSON.parse(invalid?.content ?? '{}').error).toContain('not valid JSON');
    expect(JSON.parse(unknown?.content ?? '{}').error).toContain('Unknown tool "no_such_tool"');
    await client.close();
  });

  it('validates server tool arguments against the schema before running', async () => {
    stack = await startStack();
    stack.simulator.enqueue({ toolCalls: [{ name: 'calculate', arguments: '{"expr":"1+1"}' }] }, { reply: 'Oops.' });
    const client = await VoiceClient.connect(stack.voiceUrl);
    await client.turn('Compute');
    expect(JSON.parse(toolMessages(1)[0]?.content ?? '{}').error).toContain('Invalid arguments for calculate');
    await client.close();
  });

  it('reports a tool that throws as a tool error and completes the response', async () => {
    stack = await startStack({ tools: [explodingTool] });
    stack.simulator.enqueue({ toolCalls: [{ name: 'explode', arguments: '{}' }] }, { reply: 'That failed.' });
    const client = await VoiceClient.connect(stack.voiceUrl);
    const done = await client.turn('Blow up');
    expect(done).toMatchObject({ status: 'completed', text: 'That failed.' });
    expect(JSON.parse(toolMessages(1)[0]?.content ?? '{}')).toEqual({ error: 'explode failed: kaboom' });
    await client.close();
  });

  it('cancels a running tool on barge-in: the tool sees the abort and the response ends interrupted', async () => {
    stack = await startStack({ tools: [slowTool] });
    stack.simulator.enqueue({ reply: 'Checking now. ', toolCalls: [{ name: 'slow_lookup', arguments: '{}' }] });
    const client = await VoiceClient.connect(stack.voiceUrl);
    client.send({ type: 'turn', text: 'Look it up' });
    const call = await client.waitForType('response.tool_call');
    client.send({ type: 'response.cancel', responseId: call.responseId });
    const done = await client.waitForType('response.done');
    expect(done.status).toBe('interrupted');
    expect(slowSignals.at(-1)?.aborted).toBe(true);
    expectOneResponse(client, done);
    // The unfinished tool step is not committed; what was said before it is, marked as interrupted.
    await client.turn('Never mind');
    expect(requestBody(1).messages.slice(1)).toEqual([
      { role: 'user', content: 'Look it up' },
      { role: 'assistant', content: 'Checking now. [interrupted by the user]' },
      { role: 'user', content: 'Never mind' },
    ]);
    await client.close();
  });

  it('speaks a short filler when a tool runs long before anything was spoken', async () => {
    stack = await startStack({ tools: [slowTool] });
    stack.simulator.enqueue({ toolCalls: [{ name: 'slow_lookup', arguments: '{}' }] });
    const client = await VoiceClient.connect(stack.voiceUrl);
    client.send({ type: 'turn', text: 'Look it up' });
    const speech = await client.waitForType('response.speech');
    expect(speech).toMatchObject({ index: 0, text: FILLER_TEXT });
    client.send({ type: 'response.cancel' });
    await client.waitForType('response.done');
    await client.close();
  });

  it('caps tool rounds and then asks for an answer without tools', async () => {
    stack = await startStack({ env: { MAX_TOOL_STEPS: '2' } });
    const again = { toolCalls: [{ name: 'calculate', arguments: '{"expression":"1+1"}' }] };
    stack.simulator.enqueue(again, again, { reply: 'Two.' });
    const client = await VoiceClient.connect(stack.voiceUrl);
    const done = await client.turn('Keep calculating');
    expect(done).toMatchObject({ status: 'completed', text: 'Two.' });
    expectOneResponse(client, done);
    expect(stack.simulator.requests.map((_, i) => requestBody(i).tool_choice)).toEqual(['auto', 'auto', 'none']);
    expect(toolCalls(client)).toHaveLength(2);
    await client.close();
  });

  it('treats finish_reason "tool_calls" without any calls as the end of the answer', async () => {
    stack = await startStack();
    stack.simulator.enqueue({ reply: 'I would call a tool here.', toolCallsWithoutArray: true });
    const client = await VoiceClient.connect(stack.voiceUrl);
    const done = await client.turn('Do it');
    expect(done).toMatchObject({ status: 'completed', text: 'I would call a tool here.' });
    expect(stack.simulator.requests).toHaveLength(1);
    await client.close();
  });

  it.each(['gen1', 'gen2'] as const)('accepts %s object arguments and missing call ids', async (profile) => {
    stack = await startStack();
    stack.simulator.enqueue(
      { profile, toolCalls: [{ name: 'calculate', arguments: { expression: '6 * 7' }, id: null }] },
      { profile, reply: 'Forty-two.' },
    );
    const client = await VoiceClient.connect(stack.voiceUrl);
    const done = await client.turn('Six times seven?');
    expect(done.status).toBe('completed');
    const [call] = toolCalls(client);
    expect(call?.callId).toMatch(/^call_/);
    expect(JSON.parse(call?.arguments ?? '{}')).toEqual({ expression: '6 * 7' });
    const second = requestBody(1).messages;
    expect((second.at(-2) as Extract<ChatMessage, { role: 'assistant' }>).tool_calls?.[0]?.id).toBe(call?.callId);
    expect(JSON.parse(toolMessages(1)[0]?.content ?? '{}')).toMatchObject({ result: 42 });
    await client.close();
  });

  it('rejects client tools that shadow a server tool', async () => {
    stack = await startStack();
    const client = await VoiceClient.connect(stack.voiceUrl);
    client.send({ type: 'session.update', tools: [{ name: 'calculate' }] });
    expect(await client.waitForType('error')).toMatchObject({ code: 'GW_INVALID_TOOLS' });
    await client.close();
  });
});

describe('the no-key demo answers questions that need tools', () => {
  it('answers "what is 12 times 7" with 84, spoken', async () => {
    stack = await startStack();
    const client = await VoiceClient.connect(stack.voiceUrl);
    const done = await client.turn('What is 12 times 7?');
    expect(done.status).toBe('completed');
    expect(toolCalls(client)[0]).toMatchObject({ name: 'calculate', runsOn: 'server' });
    const spoken = client.events.flatMap((e) => (e.type === 'response.speech' ? [e.text] : [])).join(' ');
    expect(spoken).toContain('84');
    await client.close();
  });

  it('answers "what time is it" with the current time, spoken', async () => {
    stack = await startStack();
    const client = await VoiceClient.connect(stack.voiceUrl);
    const done = await client.turn('What time is it?');
    expect(done.status).toBe('completed');
    expect(toolCalls(client)[0]).toMatchObject({ name: 'get_current_time' });
    const spoken = client.events.flatMap((e) => (e.type === 'response.speech' ? [e.text] : [])).join(' ');
    expect(spoken).toMatch(/\d{1,2}:\d{2}/);
    await client.close();
  });
});
