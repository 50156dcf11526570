// Replies to item responses (Realtime) as the conversation keeps them: where a reply lands when the items it
// started after were edited while it ran, how a reply with tool steps is split into items, and what the next
// response's prompt holds once client calls got their outputs.
import { describe, expect, it } from 'vitest';
import type { ResponseRequest } from '../../src/session/session.js';
import type { ChatMessage } from '../../src/upstream/types.js';
import { createSession, historyOf, type Harness } from './harness.js';
import { answer, Gate, toolStep, words } from './scripted-chat.js';

function request(n: number, extra: Partial<ResponseRequest> = {}): ResponseRequest {
  return { itemIds: { message: `item_reply_${n}`, call: (callId) => `item_${callId}` }, ...extra };
}

const user = (content: string): ChatMessage => ({ role: 'user', content });
const said = (content: string): ChatMessage => ({ role: 'assistant', content });
const fn = (id: string, name: string, args = '{}') => ({
  id,
  type: 'function' as const,
  function: { name, arguments: args },
});

const CLIENT_TOOLS = [
  { name: 'get_location', parameters: { type: 'object', properties: {} } },
  { name: 'get_time', parameters: { type: 'object', properties: {} } },
];

/** Starts a response whose reply "Hello there." holds before its end; resolves once it holds. */
async function heldResponse(h: Harness, n: number): Promise<Gate> {
  const gate = new Gate();
  h.chat.enqueue({ beats: [...words('Hello there.'), gate, { type: 'finish', reason: 'stop' }] });
  expect(h.session.createResponse(request(n)).ok).toBe(true);
  await gate.reached;
  return gate;
}

/** The prompt of one more response, answered at once. */
async function nextPrompt(h: Harness, n: number): Promise<ChatMessage[]> {
  h.chat.enqueue(answer('Okay.'));
  h.session.createResponse(request(n));
  await h.session.whenIdle();
  return historyOf(h.chat.requests.at(-1));
}

describe('session core: where an item reply lands', () => {
  it('keeps the reply of a response started with no items at all', async () => {
    const h = createSession();
    const gate = await heldResponse(h, 1);
    gate.release();
    await h.session.whenIdle();
    expect(historyOf(h.chat.requests[0])).toEqual([]);
    expect(h.session.items.itemMessages('item_reply_1')).toEqual([said('Hello there.')]);
    expect(await nextPrompt(h, 2)).toEqual([said('Hello there.')]);
  });

  it('appends the reply at the end when the item it started after was deleted while it ran', async () => {
    const h = createSession();
    h.session.addItem(user('One'), 'item_u1');
    h.session.addItem(said('Earlier answer.'), 'item_a0');
    const gate = await heldResponse(h, 1);
    expect(h.session.items.deleteItem('item_a0')).toBe(true);
    h.session.addItem(user('Two'), 'item_u2');
    gate.release();
    await h.session.whenIdle();
    expect(await nextPrompt(h, 2)).toEqual([user('One'), user('Two'), said('Hello there.')]);
  });

  it('appends the reply at the end when its whole turn was deleted while it ran', async () => {
    const h = createSession();
    h.session.addItem(user('One'), 'item_u1');
    const gate = await heldResponse(h, 1);
    h.session.items.deleteItem('item_u1');
    h.session.addItem(user('Two'), 'item_u2');
    gate.release();
    await h.session.whenIdle();
    expect(await nextPrompt(h, 2)).toEqual([user('Two'), said('Hello there.')]);
  });

  it('inserts a reply where it started even when the reply before it was truncated to nothing', async () => {
    const h = createSession();
    // A greeting the user cut off at once: the client truncates it to 0 ms, nothing of it is left.
    h.chat.enqueue(answer('Welcome!'));
    h.session.createResponse(request(1));
    await h.session.whenIdle();
    expect(h.session.items.truncateItem('item_reply_1', 0)).toBe('truncated');
    const gate = await heldResponse(h, 2);
    h.session.addItem(user('Two'), 'item_u2');
    gate.release();
    await h.session.whenIdle();
    expect(await nextPrompt(h, 3)).toEqual([said('Hello there.'), user('Two')]);
  });

  it('keeps two replies in a row (no user item between) as two assistant messages', async () => {
    const h = createSession();
    h.session.addItem(user('Hi'), 'item_u1');
    h.chat.enqueue(answer('First.'), answer('Second.'));
    h.session.createResponse(request(1));
    await h.session.whenIdle();
    h.session.createResponse(request(2));
    await h.session.whenIdle();
    expect(await nextPrompt(h, 3)).toEqual([user('Hi'), said('First.'), said('Second.')]);
  });

  it('marks a reply interrupted while it streamed, in its item and in the next prompt', async () => {
    const h = createSession();
    h.session.addItem(user('Hi'), 'item_u1');
    await heldResponse(h, 1);
    h.session.interruptActive('client_cancel');
    expect(h.recorder.ofType('response.done')).toMatchObject([{ status: 'interrupted', text: 'Hello there.' }]);
    expect(h.session.items.itemMessages('item_reply_1')).toEqual([said('Hello there. [interrupted by the user]')]);
    expect(await nextPrompt(h, 2)).toEqual([user('Hi'), said('Hello there. [interrupted by the user]')]);
  });
});

describe('session core: a reply with tool steps, as items', () => {
  it("keeps a server tool step untagged between the parts of the reply's text item", async () => {
    const h = createSession();
    h.session.addItem(user('Look up Paris'), 'item_u1');
    h.chat.enqueue(
      toolStep('Let me check.', [{ name: 'lookup', arguments: '{"q":"paris"}', id: 'call_1' }]),
      answer('It is PARIS.'),
    );
    h.session.createResponse(request(1));
    await h.session.whenIdle();
    const lookupCall = fn('call_1', 'lookup', '{"q":"paris"}');
    const lookupResult: ChatMessage = { role: 'tool', tool_call_id: 'call_1', content: '{"answer":"PARIS"}' };
    const step: ChatMessage[] = [{ role: 'assistant', content: null, tool_calls: [lookupCall] }, lookupResult];
    // (The final part keeps the space that joined it to the step before, as the native flow does.)
    expect(h.session.snapshot().turns).toEqual([
      [user('Look up Paris'), said('Let me check.'), ...step, said(' It is PARIS.')],
    ]);
    expect(h.session.items.itemMessages('item_reply_1')).toEqual([said('Let me check.'), said(' It is PARIS.')]);
    expect(h.session.items.itemMessages('item_call_1')).toEqual([]);
    // The model gets the step back whole: its text and call in one message, the result right after.
    expect(await nextPrompt(h, 2)).toEqual([
      user('Look up Paris'),
      { role: 'assistant', content: 'Let me check.', tool_calls: [lookupCall] },
      lookupResult,
      said(' It is PARIS.'),
    ]);
  });

  it('ends with parallel client calls, each its own item; their outputs pair with them in the next prompt', async () => {
    const h = createSession();
    h.session.configure({ tools: CLIENT_TOOLS });
    h.session.addItem(user('Where and when?'), 'item_u1');
    h.chat.enqueue(
      toolStep('', [
        { name: 'get_location', arguments: '{}', id: 'c_loc' },
        { name: 'get_time', arguments: '{}', id: 'c_time' },
      ]),
    );
    h.session.createResponse(request(1));
    await h.session.whenIdle();
    expect(h.recorder.ofType('response.done')).toMatchObject([{ status: 'completed' }]);
    expect(h.session.items.itemMessages('item_c_loc')).toEqual([
      { role: 'assistant', content: null, tool_calls: [fn('c_loc', 'get_location')] },
    ]);
    expect(h.session.items.itemMessages('item_c_time')).toEqual([
      { role: 'assistant', content: null, tool_calls: [fn('c_time', 'get_time')] },
    ]);
    expect(h.session.items.itemMessages('item_reply_1')).toEqual([]);
    h.session.addItem({ role: 'tool', tool_call_id: 'c_time', content: 'noon' }, 'item_out_time');
    h.session.addItem({ role: 'tool', tool_call_id: 'c_loc', content: 'Lisbon' }, 'item_out_loc');
    expect(await nextPrompt(h, 2)).toEqual([
      user('Where and when?'),
      { role: 'assistant', content: null, tool_calls: [fn('c_loc', 'get_location'), fn('c_time', 'get_time')] },
      { role: 'tool', tool_call_id: 'c_loc', content: 'Lisbon' },
      { role: 'tool', tool_call_id: 'c_time', content: 'noon' },
    ]);
  });

  it('ends after a step that mixes a server call and a client call: the server result is kept, the client call awaits its output', async () => {
    const h = createSession();
    h.session.configure({ tools: CLIENT_TOOLS });
    h.session.addItem(user('Both'), 'item_u1');
    h.chat.enqueue(
      toolStep('', [
        { name: 'lookup', arguments: '{"q":"x"}', id: 'c_srv' },
        { name: 'get_location', arguments: '{}', id: 'c_cli' },
      ]),
    );
    h.session.createResponse(request(1));
    await h.session.whenIdle();
    expect(h.chat.requests).toHaveLength(1);
    expect(h.recorder.ofType('response.tool_call').map((c) => [c.callId, c.runsOn])).toEqual([
      ['c_srv', 'server'],
      ['c_cli', 'client'],
    ]);
    expect(h.recorder.ofType('response.done')).toMatchObject([{ status: 'completed' }]);
    expect(h.session.items.itemMessages('item_c_cli')).toEqual([
      { role: 'assistant', content: null, tool_calls: [fn('c_cli', 'get_location')] },
    ]);
    expect(h.session.items.itemMessages('item_c_srv')).toEqual([]);
    expect(h.session.items.hasToolCall('c_srv')).toBe(true);
    h.session.addItem({ role: 'tool', tool_call_id: 'c_cli', content: 'Lisbon' }, 'item_out');
    expect(await nextPrompt(h, 2)).toEqual([
      user('Both'),
      {
        role: 'assistant',
        content: null,
        tool_calls: [fn('c_srv', 'lookup', '{"q":"x"}'), fn('c_cli', 'get_location')],
      },
      { role: 'tool', tool_call_id: 'c_srv', content: '{"answer":"X"}' },
      { role: 'tool', tool_call_id: 'c_cli', content: 'Lisbon' },
    ]);
  });
});

describe('session core: tool_choice of an item response', () => {
  it('"required" applies to the first step only; the next step may answer', async () => {
    const h = createSession();
    h.session.addItem(user('Look it up'), 'item_u1');
    h.chat.enqueue(toolStep('', [{ name: 'lookup', arguments: '{"q":"x"}', id: 'c1' }]), answer('X.'));
    h.session.createResponse(request(1, { toolChoice: 'required' }));
    await h.session.whenIdle();
    expect(h.chat.requests.map((r) => r.toolChoice)).toEqual(['required', 'auto']);
    expect(h.chat.requests.map((r) => r.tools?.map((t) => t.function.name))).toEqual([
      ['lookup', 'consult_deeper_model'],
      ['lookup', 'consult_deeper_model'],
    ]);
  });

  it('"none" asks for an answer without tools, which stay declared', async () => {
    const h = createSession();
    h.session.addItem(user('Just talk'), 'item_u1');
    h.chat.enqueue(answer('Sure.'));
    h.session.createResponse(request(1, { toolChoice: 'none' }));
    await h.session.whenIdle();
    expect(h.chat.requests[0]).toMatchObject({ toolChoice: 'none', tools: [{ function: { name: 'lookup' } }] });
  });
});
