// Text that a broken or hostile upstream may stream, and that once made the segmenter's work grow with the square
// of the reply: blank lines and emoji-only lines (every later cut read them again), long runs of dots, dashes,
// closers or fence marks at the end of the text (every push scanned the whole run again), and text that no rule
// can cut. The work is counted in characters read, not timed.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SpeechSegmenter } from '../../src/speech/index.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function segmenter(): { s: SpeechSegmenter; spoken: string[] } {
  const spoken: string[] = [];
  return { s: new SpeechSegmenter((segment) => spoken.push(segment.text)), spoken };
}

describe('SpeechSegmenter on hostile text', () => {
  it.each([
    ['blank lines', '\n'],
    ['emoji-only lines', '😀\n'],
  ])('reads %s that speak as nothing once, in one push or one line at a time', (_name, line) => {
    const text = `Hi there.\n${line.repeat(10_000)}And then some more.`;
    for (const pieces of [[text], text.split(/(?<=\n)/)]) {
      const { s, spoken } = segmenter();
      for (const piece of pieces) s.push(piece);
      s.finish();
      expect(spoken).toEqual(['Hi there.', 'And then some more.']);
      // Read again at every later line, they came to about 50 million characters.
      expect(s.charsRead).toBeLessThan(10 * text.length);
    }
  });

  it('reads on from a silent stretch only where that cannot change what is said: blank lines and emoji up to a line break', () => {
    for (const by of [1, 1_000]) {
      const { s, spoken } = segmenter();
      const text = 'Great. 🎉! 2024. that was the year. Ok.\n`\n\nSee `https://example.com/a` here.';
      for (let i = 0; i < text.length; i += by) s.push(text.slice(i, i + by));
      s.finish();
      expect(spoken).toEqual(['Great.', '! 2024. that was the year.', 'Ok. See example.com here.']);
    }
  });

  it('splits a long sentence after blank lines without reading the blank lines again for each cut', () => {
    const text = `Hi there.\n${'\n'.repeat(10_000)}${'word '.repeat(400)}`;
    const { s, spoken } = segmenter();
    s.push(text);
    s.finish();
    expect(spoken.length).toBeGreaterThan(5);
    expect(spoken.join(' ')).toBe(`Hi there. ${'word '.repeat(400).trim()}`);
    expect(s.charsRead).toBeLessThan(200 * 2_000);
  });

  it.each([
    ['dots', 'Hi there', '.'],
    ['closers', 'Hi there。', ')'],
  ])(
    'decides a run of %s at the end of the text after 64 characters, without waiting for more',
    (_name, head, mark) => {
      const { s, spoken } = segmenter();
      s.push(head);
      for (let i = 0; i < 60; i++) s.push(mark);
      expect(spoken).toEqual([]); // "3." may yet become "3.14": a short run waits for what follows
      for (let i = 0; i < 10; i++) s.push(mark);
      expect(spoken).toHaveLength(1);
      expect(spoken[0]).toMatch(/^Hi there/);
    },
  );

  it('ends the speech of a reply whose pending text no rule could cut for 32,768 characters', () => {
    const { s, spoken } = segmenter();
    s.push('Here is the code.\n```\n');
    for (let i = 0; i < 40_000; i++) s.push('x');
    s.push('\n```\nThat was the code.');
    s.finish();
    expect(spoken).toEqual(['Here is the code.', 'See the code on screen.']);
  });

  it('takes a huge delta in slices, so that the cap on pending text holds within one push', () => {
    const text = 'a'.repeat(100_000); // no word end: only the hard cut at the speech length cap applies
    const { s, spoken } = segmenter();
    s.push(text);
    s.finish();
    expect(spoken.length).toBeGreaterThan(100);
    // Cut whole, each of about 500 segments read the rest again, 17 times over: about 400 million characters.
    expect(s.charsRead).toBeLessThan(100 * text.length);
  });
});
