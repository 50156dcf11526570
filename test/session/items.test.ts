// The item operations transports with separate items and responses (Realtime) use: addItem, createResponse and
// items. A response answers the items so far, never interrupts, and its reply lands where it started.
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import type { ResponseRequest } from '../../src/session/session.js';
import { createSession, historyOf } from './harness.js';
import { answer, Gate, toolStep, words } from './scripted-chat.js';

function request(n: number, extra: Partial<ResponseRequest> = {}): ResponseRequest {
  return { itemIds: { message: `item_reply_${n}`, call: (callId) => `item_${callId}` }, ...extra };
}

describe('session core: items and responses', () => {
  it('answers the items so far; a second response while one is active is refused, not an interruption', async () => {
    const h = createSession();
    const gate = new Gate();
    h.chat.enqueue({ beats: [...words('Hello there.'), gate, { type: 'finish', reason: 'stop' }] });
    h.session.addItem({ role: 'user', content: '  Hi  ' }, 'item_u1');
    const first = h.session.createResponse(request(1));
    expect(first.ok).toBe(true);
    await gate.reached;
    expect(h.session.createResponse(request(2))).toEqual({ ok: false, reason: 'active_response' });
    expect(h.recorder.ofType('response.done')).toEqual([]);
    gate.release();
    await h.session.whenIdle();
    expect(historyOf(h.chat.requests[0])).toEqual([{ role: 'user', content: 'Hi' }]);
    expect(h.session.items.itemMessages('item_reply_1')).toEqual([{ role: 'assistant', content: 'Hello there.' }]);
    expect(first.ok && first.response.finishReason).toBe('stop');
  });

  it('inserts the reply where its response started, before items added while it ran', async () => {
    const h = createSession();
    const gate = new Gate();
    h.chat.enqueue(
      { beats: [...words('First answer.'), gate, { type: 'finish', reason: 'stop' }] },
      answer('Second answer.'),
    );
    h.session.addItem({ role: 'user', content: 'One' }, 'item_u1');
    h.session.createResponse(request(1));
    await gate.reached;
    h.session.addItem({ role: 'user', content: 'Two' }, 'item_u2');
    gate.release();
    await h.session.whenIdle();
    h.session.createResponse(request(2));
    await h.session.whenIdle();
    expect(historyOf(h.chat.requests[1])).toEqual([
      { role: 'user', content: 'One' },
      { role: 'assistant', content: 'First answer.' },
      { role: 'user', content: 'Two' },
    ]);
  });

  it('writes nothing to history for an out-of-band response (commit: false), and uses its own instructions', async () => {
    const h = createSession();
    h.chat.enqueue(answer('A summary.'), answer('Fine.'));
    h.session.addItem({ role: 'user', content: 'Hi' }, 'item_u1');
    h.session.createResponse(request(1, { commit: false, instructions: 'Summarise.' }));
    await h.session.whenIdle();
    expect(h.chat.requests[0]?.messages[0]).toEqual({ role: 'system', content: 'Summarise.' });
    h.session.createResponse(request(2));
    await h.session.whenIdle();
    expect(h.chat.requests[1]?.messages).toEqual([
      { role: 'system', content: 'SYS' },
      { role: 'user', content: 'Hi' },
    ]);
  });

  it('ends the response with a client tool call, which becomes its own item; its output item pairs with it next time', async () => {
    const h = createSession();
    h.session.configure({ tools: [{ name: 'get_location', parameters: { type: 'object', properties: {} } }] });
    h.chat.enqueue(
      toolStep('Let me see.', [{ name: 'get_location', arguments: '{}', id: 'call_loc' }]),
      answer('Lisbon.'),
    );
    h.session.addItem({ role: 'user', content: 'Where am I?' }, 'item_u1');
    h.session.createResponse(request(1));
    await h.session.whenIdle();
    expect(h.recorder.ofType('response.done')).toMatchObject([{ status: 'completed' }]);
    expect(h.chat.requests).toHaveLength(1);
    expect(h.session.items.hasToolCall('call_loc')).toBe(true);
    expect(h.session.items.itemMessages('item_call_loc')).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_loc', type: 'function', function: { name: 'get_location', arguments: '{}' } }],
      },
    ]);
    h.session.addItem({ role: 'tool', tool_call_id: 'call_loc', content: '{"city":"Lisbon"}' }, 'item_out');
    h.session.createResponse(request(2));
    await h.session.whenIdle();
    expect(historyOf(h.chat.requests[1])).toEqual([
      { role: 'user', content: 'Where am I?' },
      {
        role: 'assistant',
        content: 'Let me see.',
        tool_calls: [{ id: 'call_loc', type: 'function', function: { name: 'get_location', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'call_loc', content: '{"city":"Lisbon"}' },
    ]);
  });

  it('offers only the named tool on the first step, and refuses a tool_choice naming no declared tool', async () => {
    const h = createSession();
    expect(() => h.session.createResponse(request(1, { toolChoice: { name: 'nope' } }))).toThrow(GatewayError);
    h.chat.enqueue(answer('Done.'));
    h.session.addItem({ role: 'user', content: 'Hi' }, 'item_u1');
    h.session.createResponse(request(1, { toolChoice: { name: 'lookup' } }));
    await h.session.whenIdle();
    expect(h.chat.requests[0]).toMatchObject({ toolChoice: 'required', tools: [{ function: { name: 'lookup' } }] });
    h.session.startDraining();
    expect(() => h.session.createResponse(request(2))).toThrow(expect.objectContaining({ code: 'GW_SHUTTING_DOWN' }));
  });
});
