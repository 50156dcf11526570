// ThinkFilter (src/upstream/think-filter.ts) at its edges: which whitespace after a closing tag is dropped (ASCII
// whitespace only, CRLF included), that an empty piece of content yields no event wherever the filter is, and
// stripThinkTags on text read whole.
import { describe, expect, it } from 'vitest';
import { stripThinkTags, ThinkFilter } from '../../src/upstream/think-filter.js';
import type { ChatEvent } from '../../src/upstream/types.js';

function filter(pieces: readonly string[]): ChatEvent[] {
  const think = new ThinkFilter();
  const events: ChatEvent[] = [];
  for (const piece of pieces) think.push(piece, events);
  think.end(events);
  return events;
}

describe('ThinkFilter edges', () => {
  it('drops the CRLF a Windows-style server sends after </think>', () => {
    expect(filter(['<think>plan</think>\r\n\r\nHi.'])).toEqual([
      { type: 'reasoning', text: 'plan', raw: '<think>plan</think>\r\n\r\n' },
      { type: 'text', text: 'Hi.' },
    ]);
  });

  it('drops every kind of ASCII whitespace after a closing tag, but no other control character', () => {
    expect(filter(['<think>a</think>\t\v\f \r\n\u0008Hi'])).toEqual([
      { type: 'reasoning', text: 'a', raw: '<think>a</think>\t\v\f \r\n' },
      { type: 'text', text: '\u0008Hi' },
    ]);
  });

  it('yields no event for an empty piece: before any content, inside a block, after a block, while a tag is held', () => {
    const think = new ThinkFilter();
    const events: ChatEvent[] = [];
    think.push('', events);
    expect(events).toEqual([]);
    think.push('<think>x', events);
    const afterOpen = events.length;
    think.push('', events);
    expect(events).toHaveLength(afterOpen);
    think.push('</think>', events);
    const afterClose = events.length;
    think.push('', events);
    think.push('ok <', events);
    think.push('', events);
    think.end(events);
    expect(events.slice(afterClose)).toEqual([
      { type: 'text', text: 'ok ' },
      { type: 'text', text: '<' },
    ]);
  });

  it('stripThinkTags removes a block wherever the first `<` is, the second character included', () => {
    expect(stripThinkTags('A<think>plan</think>B')).toBe('AB');
    expect(stripThinkTags('<think>plan</think>\nB')).toBe('B');
    expect(stripThinkTags('Is 1<2? Yes.')).toBe('Is 1<2? Yes.');
    expect(stripThinkTags('')).toBe('');
  });
});
