// The history becomes a prompt: system prompt first, whole turns trimmed oldest-first to the token budget.
import { describe, expect, it } from 'vitest';
import { ConversationHistory, estimateTokens, markReply, type CutOff } from '../../src/session/history.js';
import type { ChatMessage } from '../../src/upstream/types.js';

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
      'question 7',
      'answer 7',
      'question 8',
      'answer 8',
      'question 9',
      'answer 9',
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
    history.addToCurrentTurn({
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'c1', type: 'function', function: { name: 'clock', arguments: '{}' } }],
    });
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
    expect(history.toMessages('S', 10_000)[2]).toEqual({
      role: 'assistant',
      content: 'Full [interrupted by the user]',
    });
    history.replaceTail(1, []);
    expect(history.toMessages('S', 10_000)).toHaveLength(2);
  });
});

// ——— The budget at its edges: what a turn costs decides whether the model still sees it. ———

type Msg = ChatMessage;
const call = (id: string, name = 'lookup', args = '{"q":"paris"}') => ({
  id,
  type: 'function' as const,
  function: { name, arguments: args },
});
const user = (content: string): Msg => ({ role: 'user', content });
const said = (content: string): Msg => ({ role: 'assistant', content });

describe('ConversationHistory: the token budget at its edges', () => {
  // "SYS" costs 7 tokens, "b" 7, 35 characters 16: about 3.5 characters a token, rounded up, plus 6 a message.
  function twoTurns(): ConversationHistory {
    const history = new ConversationHistory();
    history.addUser('a'.repeat(35));
    history.addUser('b');
    return history;
  }

  it('keeps an older turn that fits the budget exactly, and drops it one token short', () => {
    expect(twoTurns().toMessages('SYS', 7 + 7 + 16)).toEqual([
      { role: 'system', content: 'SYS' },
      user('a'.repeat(35)),
      user('b'),
    ]);
    expect(twoTurns().toMessages('SYS', 7 + 7 + 16 - 1)).toEqual([{ role: 'system', content: 'SYS' }, user('b')]);
  });

  it("counts a tool call's name and arguments (plus 16 characters a call) against the budget", () => {
    // The old turn: "q" (7) + a call to lookup({"q":"paris"}) ((6 + 13 + 16) / 3.5 → 10, + 6 = 16) + a 7-character result (8).
    const build = () => {
      const history = new ConversationHistory();
      history.addUser('q');
      history.addToCurrentTurn({ role: 'assistant', content: null, tool_calls: [call('c1')] });
      history.addToCurrentTurn({ role: 'tool', tool_call_id: 'c1', content: 'x'.repeat(7) });
      history.addUser('b');
      return history;
    };
    expect(build().toMessages('SYS', 7 + 7 + 31)).toHaveLength(5);
    expect(build().toMessages('SYS', 7 + 7 + 31 - 1)).toEqual([{ role: 'system', content: 'SYS' }, user('b')]);
  });

  it('forgets trimmed turns for good: a larger budget later does not bring them back', () => {
    const history = twoTurns();
    history.toMessages('SYS', 20);
    expect(history.toMessages('SYS', 10_000)).toEqual([{ role: 'system', content: 'SYS' }, user('b')]);
    expect(history.turnCount).toBe(1);
  });

  it('trims conversation items by turn: a user item starts a turn, other items join it', () => {
    const history = new ConversationHistory();
    history.addItems([
      { message: user('a'.repeat(35)), itemId: 'u1' },
      { message: said('Old answer.'), itemId: 'a1' },
      { message: user('New question?'), itemId: 'u2' },
      { message: said('New answer.'), itemId: 'a2' },
    ]);
    // The newest turn (user + answer) is kept whole; the older one does not fit beside it.
    expect(history.toMessages('SYS', 40).slice(1)).toEqual([user('New question?'), said('New answer.')]);
  });

  /** The prompt at every budget from 0 to 300, each from a fresh copy (trimming forgets turns). */
  function promptsAtEveryBudget(build: () => ConversationHistory): Msg[][] {
    return Array.from({ length: 301 }, (_, budget) => build().toMessages('SYS', budget));
  }

  /** The same messages, counted from scratch (as a session restored from a snapshot counts them). */
  function rebuilt(build: () => ConversationHistory): () => ConversationHistory {
    return () => {
      const history = new ConversationHistory();
      history.importTurns(build().exportTurns());
      return history;
    };
  }

  const LONG = 'This answer is rather long, so that cutting it short matters to the budget.';

  it.each<[string, (history: ConversationHistory) => void]>([
    [
      'a reply inserted where its response started',
      (history) => {
        const anchor = history.anchor();
        history.addItems([{ message: user('Meanwhile, this.'), itemId: 'u3' }]);
        history.insertItems(anchor, [
          { message: said(LONG), itemId: 'a3' },
          { message: said('And more.'), itemId: 'a3' },
        ]);
      },
    ],
    ['an item truncated to a few characters', (history) => expect(history.truncateItem('a1', 10)).toBe('truncated')],
    ['an item truncated to nothing', (history) => expect(history.truncateItem('a1', 0)).toBe('truncated')],
    ['an item deleted', (history) => expect(history.deleteItem('a1')).toBe(true)],
    ['the tail of the current turn rewritten', (history) => history.replaceTail(1, [said('Short.'), said('Shorter.')])],
  ])('after %s, trims exactly as a history holding those messages from the start', (_name, edit) => {
    const build = () => {
      const history = new ConversationHistory();
      history.addItems([
        { message: user('First question?'), itemId: 'u1' },
        { message: said(LONG), itemId: 'a1' },
      ]);
      history.addItems([
        { message: user('Second question?'), itemId: 'u2' },
        { message: said(LONG), itemId: 'a2' },
      ]);
      edit(history);
      return history;
    };
    expect(promptsAtEveryBudget(build)).toEqual(promptsAtEveryBudget(rebuilt(build)));
  });

  it('appends a reply at the end when the turn its response started in was trimmed away meanwhile', () => {
    const history = new ConversationHistory();
    history.addUser('a'.repeat(35));
    const anchor = history.anchor();
    history.addUser('b');
    expect(history.toMessages('SYS', 20).slice(1)).toEqual([user('b')]);
    history.insertItems(anchor, [{ message: said('Reply.'), itemId: 'r' }]);
    expect(history.toMessages('SYS', 10_000).slice(1)).toEqual([user('b'), said('Reply.')]);
    expect(history.itemMessages('r')).toEqual([said('Reply.')]);
  });

  it('counts a reply that arrives before any user message as a turn of its own', () => {
    const build = () => {
      const history = new ConversationHistory();
      history.addItems([{ message: said(LONG), itemId: 'a0' }]);
      history.addUser('Hi');
      return history;
    };
    expect(build().toMessages('SYS', 10_000).slice(1)).toEqual([said(LONG), user('Hi')]);
    expect(promptsAtEveryBudget(build)).toEqual(promptsAtEveryBudget(rebuilt(build)));
  });
});

describe('ConversationHistory: editing items', () => {
  /** A turn whose reply item "a" spans a tool step: "Let me check." — call c1, its result — "It is sunny." */
  function withToolStep(): ConversationHistory {
    const history = new ConversationHistory();
    history.addItems([
      { message: user('Weather?'), itemId: 'u' },
      { message: said('Let me check.'), itemId: 'a' },
      { message: { role: 'assistant', content: null, tool_calls: [call('c1')] } },
      { message: { role: 'tool', tool_call_id: 'c1', content: 'sunny' } },
      { message: said('It is sunny.'), itemId: 'a' },
    ]);
    return history;
  }
  const interrupted = (text: string): Msg => said(`${text} [interrupted by the user]`);

  it('truncates an item across its messages: whole parts kept, the cut one marked, later ones gone', () => {
    const history = withToolStep();
    expect(history.truncateItem('a', 13 + 5)).toBe('truncated');
    expect(history.itemMessages('a')).toEqual([said('Let me check.'), interrupted('It is')]);
    const early = withToolStep();
    early.truncateItem('a', 6);
    expect(early.itemMessages('a')).toEqual([interrupted('Let me')]);
    // The tool step itself is not text: it stays.
    expect(
      early
        .toMessages('SYS', 10_000)
        .slice(1)
        .map((m) => m.role),
    ).toEqual(['user', 'assistant', 'assistant', 'tool']);
  });

  it('leaves an item heard in full as it is, unmarked', () => {
    for (const chars of [13 + 12, 100]) {
      const history = withToolStep();
      expect(history.truncateItem('a', chars)).toBe('truncated');
      expect(history.itemMessages('a')).toEqual([said('Let me check.'), said('It is sunny.')]);
    }
  });

  it('truncates an already cut reply by its text, never by its marker, and marks it once', () => {
    const history = withToolStep();
    history.truncateItem('a', 6);
    expect(history.truncateItem('a', 9)).toBe('truncated');
    expect(history.itemMessages('a')).toEqual([interrupted('Let me')]);
    expect(history.truncateItem('a', 3)).toBe('truncated');
    expect(history.itemMessages('a')).toEqual([interrupted('Let')]);
    // A reply a connection error cut off: its marker is not text the client was shown either.
    const failed = new ConversationHistory();
    failed.addItems([
      { message: user('Hi'), itemId: 'u' },
      { message: said(markReply('Half an answer', 'failed')), itemId: 'f' },
    ]);
    failed.truncateItem('f', 20);
    expect(failed.itemMessages('f')).toEqual([said('Half an answer [cut off by a connection error]')]);
    failed.truncateItem('f', 4);
    expect(failed.itemMessages('f')).toEqual([interrupted('Half')]);
  });

  it('removes every text message cut to nothing or to whitespace, adjacent ones too, but keeps tool calls', () => {
    const history = new ConversationHistory();
    history.addItems([
      { message: user('Hi'), itemId: 'u' },
      { message: said('One.'), itemId: 'a' },
      { message: said('Two.'), itemId: 'a' },
      { message: said(' spaced'), itemId: 'b' },
      { message: { role: 'assistant', content: 'Calling.', tool_calls: [call('c1')] }, itemId: 'c' },
    ]);
    history.truncateItem('a', 0);
    history.truncateItem('b', 1);
    history.truncateItem('c', 0);
    expect(history.toMessages('SYS', 10_000).slice(1)).toEqual([
      user('Hi'),
      { role: 'assistant', content: null, tool_calls: [call('c1')] },
    ]);
    expect(history.itemMessages('a')).toEqual([]);
  });

  it('refuses to truncate what is not assistant text, and says when the item is unknown', () => {
    const history = withToolStep();
    history.addItems([{ message: { role: 'assistant', content: null, tool_calls: [call('c2')] }, itemId: 'fc' }]);
    expect(history.truncateItem('u', 1)).toBe('not_text');
    expect(history.truncateItem('fc', 1)).toBe('not_text');
    expect(history.truncateItem('nope', 1)).toBe('not_found');
    expect(history.itemMessages('u')).toEqual([user('Weather?')]);
  });

  it('deletes every message of an item; a turn left empty goes, other turns stay', () => {
    const history = withToolStep();
    history.addItems([{ message: user('Thanks'), itemId: 'u2' }]);
    expect(history.deleteItem('a')).toBe(true);
    expect(history.exportTurns()).toEqual([
      [
        user('Weather?'),
        { role: 'assistant', content: null, tool_calls: [call('c1')] },
        { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
      ],
      [user('Thanks')],
    ]);
    expect(history.deleteItem('u2')).toBe(true);
    expect(history.exportTurns()).toHaveLength(1);
    expect(history.turnCount).toBe(1);
    expect(history.deleteItem('u2')).toBe(false);
  });

  it('knows every tool call of every turn by id, and no other id', () => {
    const history = new ConversationHistory();
    history.addItems([
      { message: user('Hi'), itemId: 'u' },
      { message: { role: 'assistant', content: null, tool_calls: [call('c1'), call('c2')] } },
    ]);
    history.addItems([{ message: { role: 'tool', tool_call_id: 'c9', content: 'orphan' } }, { message: user('Next') }]);
    expect(history.hasToolCall('c1')).toBe(true);
    expect(history.hasToolCall('c2')).toBe(true);
    expect(history.hasToolCall('c9')).toBe(false);
    expect(history.hasToolCall('c3')).toBe(false);
  });

  it('an import replaces what the history held, and skips empty turns', () => {
    const history = withToolStep();
    history.importTurns([[user('Restored'), said('Yes.')], []]);
    expect(history.toMessages('SYS', 10_000).slice(1)).toEqual([user('Restored'), said('Yes.')]);
    expect(history.turnCount).toBe(1);
  });
});
