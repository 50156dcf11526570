// The streaming `<think>` filter (src/upstream/think-filter.ts) and the chunk reader that applies it: tags split
// at every position over two and three pieces, unclosed blocks, unrelated `<`, case variants, the whitespace
// after a closing tag, and the bound on what is held back.
import { describe, expect, it } from 'vitest';
import { createChunkReader, readCompletionBody } from '../../src/upstream/chunk-reader.js';
import { stripThinkTags, ThinkFilter } from '../../src/upstream/think-filter.js';
import type { ChatEvent } from '../../src/upstream/types.js';

interface Split {
  /** The reply: every `text` event joined. */
  text: string;
  /** The reasoning: every `reasoning` event's text joined. */
  reasoning: string;
  /** `text`s and `raw`s joined in order: must be the input exactly. */
  raw: string;
  events: ChatEvent[];
}

function summarise(events: ChatEvent[]): Split {
  let text = '';
  let reasoning = '';
  let raw = '';
  for (const event of events) {
    if (event.type === 'text') {
      text += event.text;
      raw += event.text;
    } else if (event.type === 'reasoning') {
      reasoning += event.text;
      raw += event.raw ?? '';
    }
  }
  return { text, reasoning, raw, events };
}

function filter(pieces: readonly string[]): Split {
  const think = new ThinkFilter();
  const events: ChatEvent[] = [];
  for (const piece of pieces) think.push(piece, events);
  think.end(events);
  return summarise(events);
}

/** Every way to cut `input` into two pieces, and into three (empty pieces included). */
function twoWay(input: string): string[][] {
  const out: string[][] = [];
  for (let i = 0; i <= input.length; i += 1) out.push([input.slice(0, i), input.slice(i)]);
  return out;
}
function threeWay(input: string): string[][] {
  const out: string[][] = [];
  for (let i = 0; i <= input.length; i += 1) {
    for (let j = i; j <= input.length; j += 1) out.push([input.slice(0, i), input.slice(i, j), input.slice(j)]);
  }
  return out;
}

const LONGEST_TAG = '</thinking>'.length;
const TAG_PREFIXES = ['<think>', '<thinking>', '</think>', '</thinking>'];

/** Whether `held` could still become a tag: a proper prefix of one, ASCII case-insensitively. */
const couldBeTag = (held: string): boolean =>
  TAG_PREFIXES.some((tag) => tag.length > held.length && tag.startsWith(held.toLowerCase()));

const cases: { name: string; input: string; text: string; reasoning: string }[] = [
  {
    name: 'a block then the reply',
    input: '<think>secret plan</think>Hello there.',
    text: 'Hello there.',
    reasoning: 'secret plan',
  },
  {
    name: 'text before and after a block',
    input: 'Sure. <think>a plan</think> Done.',
    text: 'Sure. Done.',
    reasoning: 'a plan',
  },
  {
    name: 'the newlines models send after </think>',
    input: '<think>\nplan\n</think>\n\n  Hi.\n',
    text: 'Hi.\n',
    reasoning: '\nplan\n',
  },
  { name: '<thinking> blocks', input: '<thinking>deep</thinking>OK', text: 'OK', reasoning: 'deep' },
  { name: 'upper case tags', input: '<THINK>loud</THINK>Yes', text: 'Yes', reasoning: 'loud' },
  { name: 'mixed case tags', input: '<Think>x</tHiNk>Yes <ThInKiNg>y</THINKING>no', text: 'Yes no', reasoning: 'xy' },
  { name: 'either closing tag', input: '<think>x</thinking>A<thinking>y</think>B', text: 'AB', reasoning: 'xy' },
  { name: 'two blocks', input: 'A<think>1</think>B<think>2</think>C', text: 'ABC', reasoning: '12' },
  {
    name: '`<` and other tags inside a block',
    input: '<think>if a < b then <b>x</b> <think></think>ok',
    text: 'ok',
    reasoning: 'if a < b then <b>x</b> <think>',
  },
  {
    name: 'an unclosed block (reasoning to the end)',
    input: 'Hi <think>never closed',
    text: 'Hi ',
    reasoning: 'never closed',
  },
  {
    name: 'an unclosed block ending in half a closing tag',
    input: '<think>abc</thin',
    text: '',
    reasoning: 'abc</thin',
  },
  // Unrelated `<` next to a real block, so that every case needs the filter.
  { name: 'a comparison', input: 'Is a < b? Yes, a<b.<think>z</think>', text: 'Is a < b? Yes, a<b.', reasoning: 'z' },
  {
    name: 'other tags',
    input: 'x<b>bold</b> <thin> <thinker> <think-> </think> <3<think>z</think>',
    text: 'x<b>bold</b> <thin> <thinker> <think-> </think> <3',
    reasoning: 'z',
  },
  { name: 'a reply ending in `<`', input: '<think>z</think>Less than <', text: 'Less than <', reasoning: 'z' },
  {
    name: 'a reply ending in half an opening tag',
    input: '<think>z</think>So <thinkin',
    text: 'So <thinkin',
    reasoning: 'z',
  },
  { name: 'whitespace before a block, kept', input: 'A \n<think>x</think>B', text: 'A \nB', reasoning: 'x' },
];

describe('ThinkFilter', () => {
  it.each(cases)('splits $name, whole', ({ input, text, reasoning }) => {
    const out = filter([input]);
    expect(out).toMatchObject({ text, reasoning, raw: input });
  });

  it.each(cases)('splits $name the same however it is cut into two pieces', ({ input, text, reasoning }) => {
    for (const pieces of twoWay(input)) {
      expect(filter(pieces), JSON.stringify(pieces)).toMatchObject({ text, reasoning, raw: input });
    }
  });

  it.each(cases)('splits $name the same however it is cut into three pieces', ({ input, text, reasoning }) => {
    for (const pieces of threeWay(input)) {
      expect(filter(pieces), JSON.stringify(pieces)).toMatchObject({ text, reasoning, raw: input });
    }
  });

  it.each(cases)('splits $name the same character by character', ({ input, text, reasoning }) => {
    expect(filter([...input])).toMatchObject({ text, reasoning, raw: input });
  });

  it.each(cases)(
    'holds back, for $name, only what could still be a tag, never longer than a tag',
    ({ input, text }) => {
      const think = new ThinkFilter();
      const events: ChatEvent[] = [];
      let fed = '';
      for (const ch of input) {
        think.push(ch, events);
        fed += ch;
        const { raw } = summarise(events);
        expect(fed.startsWith(raw)).toBe(true);
        const held = fed.slice(raw.length);
        expect(held.length).toBeLessThan(LONGEST_TAG);
        // Only a tag's prefix waits; whitespace after a closing tag is emitted (as reasoning) at once.
        if (held !== '') expect(couldBeTag(held), JSON.stringify(held)).toBe(true);
      }
      think.end(events);
      expect(summarise(events)).toMatchObject({ text, raw: input });
    },
  );

  it('never puts a character of a block into a text event, at any cut', () => {
    const input = 'Hi. <think>secret plan</think>\n\nHello there.';
    for (const pieces of threeWay(input)) {
      const texts = filter(pieces).events.flatMap((e) => (e.type === 'text' ? [e.text] : []));
      for (const text of texts) expect(text, JSON.stringify(pieces)).not.toMatch(/secret|plan|think|^\s*\n/);
    }
  });

  it('drops the whitespace after a closing tag even when it comes in later pieces, then keeps later whitespace', () => {
    expect(filter(['<think>a</think>', '\n', ' \n', '\t', 'Hi', ' there\n'])).toMatchObject({
      text: 'Hi there\n',
      reasoning: 'a',
    });
    expect(filter(['<think>a</think>', '\n\n'])).toMatchObject({ text: '', raw: '<think>a</think>\n\n' });
  });

  it('passes a piece with no `<` through as one text event, and one inside a block as one reasoning event', () => {
    const think = new ThinkFilter();
    const events: ChatEvent[] = [];
    think.push('Hello there. ', events);
    expect(events).toEqual([{ type: 'text', text: 'Hello there. ' }]);
    think.push('<think>', events);
    think.push('a long thought', events);
    expect(events.slice(1)).toEqual([
      { type: 'reasoning', text: '', raw: '<think>' },
      { type: 'reasoning', text: 'a long thought', raw: 'a long thought' },
    ]);
  });

  it('keeps text, reasoning and text in wire order within one piece', () => {
    expect(filter(['A <think>b</think> C']).events).toEqual([
      { type: 'text', text: 'A ' },
      { type: 'reasoning', text: 'b', raw: '<think>b</think> ' },
      { type: 'text', text: 'C' },
    ]);
  });

  it('flushes a held `<` as text once the next piece shows it is no tag', () => {
    const think = new ThinkFilter();
    const events: ChatEvent[] = [];
    think.push('a <', events);
    expect(events).toEqual([{ type: 'text', text: 'a ' }]);
    think.push(' b', events);
    expect(events).toEqual([
      { type: 'text', text: 'a ' },
      { type: 'text', text: '< b' },
    ]);
    think.end(events);
    expect(events).toHaveLength(2);
  });

  it('stripThinkTags removes blocks from text read whole', () => {
    expect(stripThinkTags('<think>secret</think>\n\nHello <b>x</b>')).toBe('Hello <b>x</b>');
    expect(stripThinkTags('No tags, a < b.')).toBe('No tags, a < b.');
    expect(stripThinkTags('Hi <THINKING>never closed')).toBe('Hi ');
  });
});

describe('the chunk reader with think tags in content', () => {
  const chunk = (content: string, finish: string | null = null) => ({
    choices: [{ index: 0, delta: { content }, finish_reason: finish }],
  });

  it('turns a block split over chunks into reasoning and keeps the reply as text', () => {
    const reader = createChunkReader();
    const events = ['<thi', 'nk>secret ', 'plan</th', 'ink>\n\nHello ', 'there.'].flatMap((c) => reader.read(chunk(c)));
    events.push(...reader.read(chunk('', 'stop')), ...reader.end());
    const out = summarise(events);
    expect(out).toMatchObject({ text: 'Hello there.', reasoning: 'secret plan' });
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'stop' });
  });

  it('flushes a held-back `<` before the finish event', () => {
    const reader = createChunkReader();
    expect(reader.read(chunk('I <'))).toEqual([{ type: 'text', text: 'I ' }]);
    expect(reader.read(chunk('', 'stop'))).toEqual([
      { type: 'text', text: '<' },
      { type: 'finish', reason: 'stop' },
    ]);
    expect(reader.end()).toEqual([]);
  });

  it('flushes a held-back `<` at end() when the stream had no finish_reason', () => {
    const reader = createChunkReader();
    reader.read(chunk('3 <'));
    expect(reader.end()).toEqual([{ type: 'text', text: '<' }]);
  });

  it('reads the blocks of a whole completion body, and of its message.content fallback, as reasoning', () => {
    const body = {
      choices: [
        { index: 0, message: { role: 'assistant', content: '<think>secret</think>\nHello.' }, finish_reason: 'stop' },
      ],
    };
    expect(readCompletionBody(body)).toEqual([
      { type: 'reasoning', text: 'secret', raw: '<think>secret</think>\n' },
      { type: 'text', text: 'Hello.' },
      { type: 'finish', reason: 'stop' },
    ]);
    const fallback = {
      choices: [{ index: 0, delta: {}, message: { content: '<think>secret</think>Hi' }, finish_reason: 'stop' }],
    };
    expect(summarise(readCompletionBody(fallback))).toMatchObject({ text: 'Hi', reasoning: 'secret' });
  });
});
