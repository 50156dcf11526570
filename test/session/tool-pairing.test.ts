// What the model gets from a history edited as items (Realtime): pairToolMessages makes it a valid chat
// completions prompt — each tool result right after its call, calls without a result and results without a
// call left out, a function_call item joined to the assistant text before it. A native history passes unchanged.
import { describe, expect, it } from 'vitest';
import { itemizeReply, pairToolMessages } from '../../src/session/history.js';
import type { ChatMessage } from '../../src/upstream/types.js';

const call = (id: string) => ({
  id,
  type: 'function' as const,
  function: { name: 'lookup', arguments: `{"q":"${id}"}` },
});
const user = (content: string): ChatMessage => ({ role: 'user', content });
const said = (content: string): ChatMessage => ({ role: 'assistant', content });
const calls = (...ids: string[]): ChatMessage => ({ role: 'assistant', content: null, tool_calls: ids.map(call) });
const result = (id: string, content = `result ${id}`): ChatMessage => ({ role: 'tool', tool_call_id: id, content });

describe('pairToolMessages', () => {
  it('passes a native history unchanged', () => {
    const native: ChatMessage[] = [
      { role: 'system', content: 'SYS' },
      user('Weather?'),
      { role: 'assistant', content: 'Let me check.', tool_calls: [call('c1'), call('c2')] },
      result('c1'),
      result('c2'),
      said('Sunny.'),
      user('Thanks'),
    ];
    expect(pairToolMessages(native)).toEqual(native);
  });

  it('moves each result right after its call, in the order of the calls', () => {
    expect(pairToolMessages([user('Hi'), calls('c1', 'c2'), user('Meanwhile'), result('c2'), result('c1')])).toEqual([
      user('Hi'),
      calls('c1', 'c2'),
      result('c1'),
      result('c2'),
      user('Meanwhile'),
    ]);
  });

  it('joins function_call items to the assistant text before them, one message holding every call', () => {
    expect(
      pairToolMessages([user('Hi'), said('Let me see.'), calls('c1'), calls('c2'), result('c1'), result('c2')]),
    ).toEqual([
      user('Hi'),
      { role: 'assistant', content: 'Let me see.', tool_calls: [call('c1'), call('c2')] },
      result('c1'),
      result('c2'),
    ]);
  });

  it('keeps a function_call item after a user message (or first of all) as an assistant message of its own', () => {
    expect(pairToolMessages([user('Hi'), calls('c1'), result('c1')])).toEqual([user('Hi'), calls('c1'), result('c1')]);
    expect(pairToolMessages([calls('c1'), result('c1')])).toEqual([calls('c1'), result('c1')]);
  });

  it('never joins two assistant replies with text: each stays a message of its own', () => {
    expect(
      pairToolMessages([
        user('Hi'),
        said('One.'),
        said('Two.'),
        { role: 'assistant', content: 'Three.', tool_calls: [call('c1')] },
        result('c1'),
      ]),
    ).toEqual([
      user('Hi'),
      said('One.'),
      said('Two.'),
      { role: 'assistant', content: 'Three.', tool_calls: [call('c1')] },
      result('c1'),
    ]);
  });

  it('leaves out calls nobody answered: a message of calls alone goes, text keeps its words', () => {
    expect(
      pairToolMessages([
        user('Hi'),
        calls('c1'),
        user('And?'),
        { role: 'assistant', content: 'Checking.', tool_calls: [call('c2'), call('c3')] },
        result('c3'),
      ]),
    ).toEqual([
      user('Hi'),
      user('And?'),
      { role: 'assistant', content: 'Checking.', tool_calls: [call('c3')] },
      result('c3'),
    ]);
    expect(pairToolMessages([user('Hi'), said('Checking.'), calls('c1')])).toEqual([user('Hi'), said('Checking.')]);
    // An empty assistant message (a client item without text) with an unanswered call says nothing: it goes too.
    expect(pairToolMessages([user('Hi'), said(''), calls('c1')])).toEqual([user('Hi')]);
  });

  it('leaves out results without a call, and answers each call once: the first result wins', () => {
    expect(
      pairToolMessages([user('Hi'), result('c0'), calls('c1'), result('c1', 'first'), result('c1', 'second')]),
    ).toEqual([user('Hi'), calls('c1'), result('c1', 'first')]);
    // A call id repeated later is not answered a second time (its message is left out).
    expect(pairToolMessages([user('Hi'), calls('c1'), result('c1'), user('Again'), calls('c1')])).toEqual([
      user('Hi'),
      calls('c1'),
      result('c1'),
      user('Again'),
    ]);
  });
});

describe('itemizeReply', () => {
  it("makes the reply's text one item, each client call its own item, and leaves server steps untagged", () => {
    const reply: ChatMessage[] = [
      { role: 'assistant', content: 'Checking.', tool_calls: [call('srv'), call('cli')] },
      result('srv'),
      { role: 'assistant', content: '', tool_calls: [call('cli2')] },
      said('Done.'),
    ];
    const items = itemizeReply(reply, 'msg', (id) => (id.startsWith('cli') ? `item_${id}` : undefined));
    expect(items).toEqual([
      { message: said('Checking.'), itemId: 'msg' },
      { message: calls('srv') },
      { message: calls('cli'), itemId: 'item_cli' },
      { message: result('srv') },
      { message: calls('cli2'), itemId: 'item_cli2' },
      { message: said('Done.'), itemId: 'msg' },
    ]);
  });
});
