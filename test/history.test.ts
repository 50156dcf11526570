// The history becomes a prompt: system prompt first, whole turns trimmed oldest-first to the token budget.
import { describe, expect, it } from 'vitest';
import { ConversationHistory, estimateTokens, markReply, type CutOff } from '../src/session/history.js';

function addReply(history: ConversationHistory, text: string, cutOff: CutOff) {
  if (text.trim() !== '') history.addToCurrentTurn({ role: 'assistant', content: markReply(text, cutOff) });
}

describe('ConversationHistory', () => {
  it('puts the system prompt first and keeps turns in order', () => {
    const history = new ConversationHistory();
    history.addUser('Hi');
    addReply(history, 'Hello!', 'none');
    history.addUser('Bye');
    expect(history.toMessages('SYS', 10_000)).toEqual([
      { role: 'system', content: 'SYS' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'Bye' },
    ]);
  });

  it('drops whole old turns to fit the budget, never the system prompt or the newest turn', () => {
    const history = new ConversationHistory();
    for (let i = 0; i < 10; i += 1) {
      history.addUser(`question ${i} ${'x'.repeat(200)}`);
      addReply(history, `answer ${i} ${'y'.repeat(200)}`, 'none');
    }
    const perTurn = estimateTokens({ role: 'user', content: `question 0 ${'x'.repeat(200)}` }) * 2;
    const messages = history.toMessages('SYS', perTurn * 3 + 20);
    expect(messages[0]).toEqual({ role: 'system', content: 'SYS' });
    expect(messages.slice(1).map((m) => m.content?.split(' ').slice(0, 2).join(' '))).toEqual([
      'question 7', 'answer 7', 'question 8', 'answer 8', 'question 9', 'answer 9',
    ]);
    expect(history.turnCount).toBe(3);
  });

  it('keeps the newest turn even when it alone exceeds the budget', () => {
    const history = new ConversationHistory();
    history.addUser('old');
    history.addUser('z'.repeat(10_000));
    const messages = history.toMessages('SYS', 100);
    expect(messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(messages[1]?.content).toHaveLength(10_000);
  });

  it('never separates a tool result from the call that asked for it', () => {
    const history = new ConversationHistory();
    history.addUser('old question');
    history.addToCurrentTurn({ role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'clock', arguments: '{}' } }] });
    history.addToCurrentTurn({ role: 'tool', tool_call_id: 'c1', content: 'x'.repeat(4000) });
    addReply(history, 'It is noon.', 'none');
    history.addUser('new question');
    const messages = history.toMessages('SYS', 200);
    expect(messages.some((m) => m.role === 'tool')).toBe(false);
    expect(messages.some((m) => m.role === 'assistant' && m.tool_calls)).toBe(false);
  });

  it('marks replies cut short', () => {
    const history = new ConversationHistory();
    history.addUser('a');
    addReply(history, 'Half a reply ', 'interrupted');
    history.addUser('b');
    addReply(history, '   ', 'interrupted');
    history.addUser('c');
    addReply(history, 'Partial', 'failed');
    expect(history.toMessages('S', 10_000).slice(1)).toEqual([
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'Half a reply [interrupted by the user]' },
      { role: 'user', content: 'b' },
      { role: 'user', content: 'c' },
      { role: 'assistant', content: 'Partial [cut off by a connection error]' },
    ]);
  });

  it('rewrites the tail of the current turn', () => {
    const history = new ConversationHistory();
    history.addUser('a');
    addReply(history, 'Full reply.', 'none');
    history.replaceTail(1, [{ role: 'assistant', content: 'Full [interrupted by the user]' }]);
    expect(history.toMessages('S', 10_000)[2]).toEqual({ role: 'assistant', content: 'Full [interrupted by the user]' });
    history.replaceTail(1, []);
    expect(history.toMessages('S', 10_000)).toHaveLength(2);
  });
});
