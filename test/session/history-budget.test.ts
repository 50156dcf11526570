// The prompt the upstream gets, as the session builds it turn after turn: the system prompt first, then the
// newest whole turns that fit HISTORY_TOKEN_BUDGET; a tool result never loses the call that asked for it.
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/upstream/types.js';
import { createSession, historyOf, turn } from './harness.js';
import { answer, toolStep } from './scripted-chat.js';

/** The leading label of a message ("question 3", "answer 3"), enough to tell turns apart. */
function label(message: ChatMessage): string {
  return (message.content ?? '').split(' ').slice(0, 2).join(' ');
}

/** Every tool message follows an assistant message holding its call, and every call is answered. */
function toolPairsIntact(messages: ChatMessage[]): boolean {
  const called = new Set<string>();
  for (const m of messages) {
    if (m.role === 'assistant') for (const call of m.tool_calls ?? []) called.add(call.id);
    if (m.role === 'tool' && !called.delete(m.tool_call_id)) return false;
  }
  return called.size === 0;
}

describe('session core: the history token budget', () => {
  it("drops the oldest whole turns to fit the budget and keeps the system prompt (the session's instructions)", async () => {
    const h = createSession({ env: { HISTORY_TOKEN_BUDGET: '1000' } });
    h.session.handle({ type: 'session.update', instructions: 'Be brief.' });
    for (let i = 1; i <= 5; i += 1) {
      h.chat.enqueue(answer(`answer ${i} ${'y'.repeat(600)}`));
      await turn(h, `question ${i} ${'x'.repeat(600)}`);
    }
    const last = h.chat.requests[4];
    expect(last?.messages[0]).toEqual({ role: 'system', content: 'Be brief.' });
    // About 180 tokens a message: the newest user message and the two turns before it fit in 1000, not a third.
    expect(historyOf(last).map(label)).toEqual(['question 3', 'answer 3', 'question 4', 'answer 4', 'question 5']);
    // Earlier requests were trimmed the same way, never mid-turn: each history starts with a user message.
    for (const request of h.chat.requests) expect(historyOf(request)[0]?.role).toBe('user');
  });

  it('keeps the newest turn even when it alone exceeds the budget', async () => {
    const h = createSession({ env: { HISTORY_TOKEN_BUDGET: '1000' } });
    h.chat.enqueue(answer('Short.'), answer('Long indeed.'));
    await turn(h, 'old');
    await turn(h, 'z'.repeat(5000));
    expect(h.chat.requests[1]?.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(historyOf(h.chat.requests[1])[0]?.content).toHaveLength(5000);
  });

  it('drops a tool step only with its whole turn: no tool result without its call, no call without its result', async () => {
    const h = createSession({ env: { HISTORY_TOKEN_BUDGET: '1000' } });
    // Turn 1 asks a tool with large arguments (and a large result); turns 2 and 3 are small.
    const big = 'q'.repeat(2000);
    h.chat.enqueue(
      toolStep('Looking.', [{ name: 'lookup', arguments: JSON.stringify({ q: big }), id: 'call_big' }]),
      answer('Found it.'),
    );
    await turn(h, 'Look up the big one');
    expect(toolPairsIntact(h.chat.requests[1]?.messages ?? [])).toBe(true);
    h.chat.enqueue(answer('Sure.'), answer('Bye.'));
    await turn(h, 'Small talk');
    await turn(h, 'Bye');
    for (const request of h.chat.requests) expect(toolPairsIntact(request.messages)).toBe(true);
    // The tool turn (about 1200 tokens) no longer fits beside a newer one: it went as a whole, user message included.
    expect(historyOf(h.chat.requests[2])).toEqual([{ role: 'user', content: 'Small talk' }]);
    expect(historyOf(h.chat.requests[3])).toEqual([
      { role: 'user', content: 'Small talk' },
      { role: 'assistant', content: 'Sure.' },
      { role: 'user', content: 'Bye' },
    ]);
  });
});
