// The history operations the Realtime transport relies on, without sockets: replies split into items and
// joined back for the upstream, tool results paired with their calls, truncation across a reply's tool steps.
import { describe, expect, it } from 'vitest';
import { ConversationHistory, estimateTokens, itemizeReply, pairToolMessages } from '../../src/session/history.js';
import type { ChatMessage, UpstreamToolCall } from '../../src/upstream/types.js';

const call = (id: string, name = 'lookup'): UpstreamToolCall => ({
  id,
  type: 'function',
  function: { name, arguments: '{}' },
});

/** A reply with a server tool step ("Let me check." + clock) and a final text, as ResponseRun.historyMessages gives it. */
const SERVER_STEP_REPLY: ChatMessage[] = [
  { role: 'assistant', content: 'Let me check.', tool_calls: [call('s1', 'clock')] },
  { role: 'tool', tool_call_id: 's1', content: '{"time":"12:00"}' },
  { role: 'assistant', content: ' It is noon.' },
];

describe('itemizeReply and pairToolMessages', () => {
  it('tags every text part with the message item, keeps server steps untagged, and joins back to the native prompt', () => {
    const entries = itemizeReply(SERVER_STEP_REPLY, 'item_msg', () => undefined);
    expect(entries.map((e) => e.itemId)).toEqual(['item_msg', undefined, undefined, 'item_msg']);
    expect(pairToolMessages(entries.map((e) => e.message))).toEqual(SERVER_STEP_REPLY);
  });

  it('makes each client call its own item, and pairs its later output right after the call', () => {
    const reply: ChatMessage[] = [{ role: 'assistant', content: 'One moment.', tool_calls: [call('c1'), call('c2')] }];
    const entries = itemizeReply(reply, 'item_msg', (id) => `item_${id}`);
    expect(entries.map((e) => e.itemId)).toEqual(['item_msg', 'item_c1', 'item_c2']);
    const later: ChatMessage[] = [
      { role: 'user', content: 'Q' },
      ...entries.map((e) => e.message),
      { role: 'tool', tool_call_id: 'c2', content: 'two' },
      { role: 'user', content: 'meanwhile' },
      { role: 'tool', tool_call_id: 'c1', content: 'one' },
    ];
    expect(pairToolMessages(later)).toEqual([
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: 'One moment.', tool_calls: [call('c1'), call('c2')] },
      { role: 'tool', tool_call_id: 'c1', content: 'one' },
      { role: 'tool', tool_call_id: 'c2', content: 'two' },
      { role: 'user', content: 'meanwhile' },
    ]);
  });

  it('drops calls without a result and results without a call', () => {
    expect(
      pairToolMessages([
        { role: 'user', content: 'Q' },
        { role: 'assistant', content: null, tool_calls: [call('lost')] },
        { role: 'tool', tool_call_id: 'orphan', content: 'x' },
        { role: 'assistant', content: 'Text stays.', tool_calls: [call('lost2')] },
      ]),
    ).toEqual([
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: 'Text stays.' },
    ]);
  });
});

/** The upstream prompt of a history with items, as Session.createResponse builds it (without the system prompt). */
function prompt(history: ConversationHistory): ChatMessage[] {
  return pairToolMessages(history.toMessages('SYS', 10_000)).slice(1);
}

describe('ConversationHistory items', () => {
  function historyWithReply(): ConversationHistory {
    const history = new ConversationHistory();
    history.addItems([{ message: { role: 'user', content: 'What time is it?' }, itemId: 'item_user' }]);
    history.insertItems(
      history.anchor(),
      itemizeReply(SERVER_STEP_REPLY, 'item_msg', () => undefined),
    );
    return history;
  }

  it('truncates an item across its tool steps, counting the characters the client saw', () => {
    const history = historyWithReply();
    expect(history.truncateItem('item_msg', 'Let me check. It'.length)).toBe('truncated');
    expect(prompt(history)).toEqual([
      { role: 'user', content: 'What time is it?' },
      { role: 'assistant', content: 'Let me check.', tool_calls: [call('s1', 'clock')] },
      { role: 'tool', tool_call_id: 's1', content: '{"time":"12:00"}' },
      { role: 'assistant', content: ' It [interrupted by the user]' },
    ]);
    expect(history.truncateItem('item_msg', 3)).toBe('truncated');
    expect(history.itemMessages('item_msg').map((m) => m.content)).toEqual(['Let [interrupted by the user]']);
    expect(history.truncateItem('item_user', 1)).toBe('not_text');
    expect(history.truncateItem('item_none', 1)).toBe('not_found');
  });

  it('deletes every message of an item and drops a turn left empty', () => {
    const history = historyWithReply();
    expect(history.deleteItem('item_user')).toBe(true);
    expect(history.deleteItem('item_msg')).toBe(true);
    expect(history.deleteItem('item_msg')).toBe(false);
    expect(prompt(history)).toEqual([
      { role: 'assistant', content: null, tool_calls: [call('s1', 'clock')] },
      { role: 'tool', tool_call_id: 's1', content: '{"time":"12:00"}' },
    ]);
  });

  it('inserts a reply where its response started, before items added meanwhile', () => {
    const history = new ConversationHistory();
    history.addItems([{ message: { role: 'user', content: 'First' }, itemId: 'u1' }]);
    const anchor = history.anchor();
    history.addItems([{ message: { role: 'user', content: 'Second' }, itemId: 'u2' }]);
    history.insertItems(anchor, [{ message: { role: 'assistant', content: 'Reply to first' }, itemId: 'a1' }]);
    expect(prompt(history).map((m) => m.content)).toEqual(['First', 'Reply to first', 'Second']);
    expect(history.hasToolCall('nope')).toBe(false);
  });
});

describe("ConversationHistory.makeRoom: what a client's items may hold", () => {
  const said = (text: string): ChatMessage => ({ role: 'assistant', content: text });
  const user = (text: string): ChatMessage => ({ role: 'user', content: text });
  const tokensOf = (history: ConversationHistory): number =>
    history.toMessages('', 1_000_000).reduce((sum, m) => sum + estimateTokens(m), 0) -
    estimateTokens({ role: 'system', content: '' });

  it('drops the oldest whole turns for an item, keeping the newest turn', () => {
    const history = new ConversationHistory();
    for (const word of ['one', 'two', 'three']) history.addItems([{ message: user(word.repeat(100)) }]);
    const item = said('x'.repeat(350));
    expect(history.makeRoom(estimateTokens(item), 300, false)).toBe(true);
    expect(history.turnCount).toBe(1);
    history.addItems([{ message: item }]);
    expect(tokensOf(history)).toBeLessThanOrEqual(300);
  });

  it('refuses an item the newest turn cannot hold, and then drops nothing', () => {
    const history = new ConversationHistory();
    history.addItems([
      { message: user('Old question'), itemId: 'u0' },
      { message: said('Old answer'), itemId: 'a0' },
    ]);
    history.addItems([{ message: user('q'.repeat(1_000)) }, { message: said('y'.repeat(1_000)) }]);
    expect(history.makeRoom(estimateTokens(said('z'.repeat(700))), 400, false)).toBe(false);
    expect(history.turnCount).toBe(2);
    expect(history.itemMessages('u0')).toEqual([user('Old question')]);
  });

  it('always takes a user message, which starts a turn of its own: older turns make room', () => {
    const history = new ConversationHistory();
    history.addItems([{ message: user('Old question') }, { message: said('Old answer') }]);
    expect(history.makeRoom(estimateTokens(user('n'.repeat(5_000))), 1_000, true)).toBe(true);
    expect(history.turnCount).toBe(0);
  });

  it('keeps the turn a running response answers, so its reply still goes in after it', () => {
    const history = new ConversationHistory();
    history.addItems([{ message: user('o'.repeat(1_000)), itemId: 'old' }]);
    history.addItems([{ message: user('q'.repeat(2_000)), itemId: 'q1' }]);
    const anchor = history.anchor();
    // Turns before the answered one make room; the answered one does not, for a user message either.
    const second = user('r'.repeat(1_000));
    expect(history.makeRoom(estimateTokens(second), 1_000, true)).toBe(true);
    expect(history.itemMessages('old')).toEqual([]);
    history.addItems([{ message: second, itemId: 'q2' }]);
    expect(history.makeRoom(estimateTokens(user('s'.repeat(1_000))), 1_000, true)).toBe(false);
    expect(history.makeRoom(estimateTokens(said('x'.repeat(500))), 1_000, false)).toBe(false);
    history.insertItems(anchor, [{ message: said('Hello there.'), itemId: 'a1' }]);
    const prompt = history.toMessages('', 1_000_000).slice(1);
    expect(prompt.map((m) => m.content?.slice(0, 5))).toEqual(['qqqqq', 'Hello', 'rrrrr']);
    // Answered: the pin is gone, and the answered turn can make room again.
    expect(history.makeRoom(estimateTokens(user('s'.repeat(1_000))), 1_000, true)).toBe(true);
    expect(history.itemMessages('q1')).toEqual([]);
  });

  it('lets a response that stores no reply release its turn', () => {
    const history = new ConversationHistory();
    history.addItems([{ message: user('q'.repeat(2_000)) }]);
    const anchor = history.anchor();
    expect(history.makeRoom(estimateTokens(user('r'.repeat(2_000))), 1_000, true)).toBe(false);
    history.release(anchor);
    expect(history.makeRoom(estimateTokens(user('r'.repeat(2_000))), 1_000, true)).toBe(true);
    expect(history.turnCount).toBe(0);
  });

  it('deletes an item from a turn of 20,000 messages in one pass over it', () => {
    const history = new ConversationHistory();
    history.addItems([{ message: user('q') }]);
    history.addItems(Array.from({ length: 20_000 }, (_, i) => ({ message: said(`m${i}`), itemId: `item_${i % 2}` })));
    expect(history.deleteItem('item_1')).toBe(true);
    expect(history.itemMessages('item_1')).toEqual([]);
    expect(history.itemMessages('item_0')).toHaveLength(10_000);
    // The turn's count is what its messages still hold: room for exactly that, and not one token less.
    const held = tokensOf(history);
    expect(history.makeRoom(0, held, false)).toBe(true);
    expect(history.makeRoom(0, held - 1, false)).toBe(false);
  });
});
