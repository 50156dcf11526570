// Length rules as a listener hears them: merging short sentences, qualifying the first clause, splitting
// long text at the split limit (splitOverChars), and what the last segment covers at finish().
import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { segmentText, start, texts } from './speech-segmenter-helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('SpeechSegmenter: thresholds are inclusive', () => {
  it('speaks a sentence exactly mergeUnderChars long on its own', () => {
    const sentence = 'Nineteen chars here.';
    expect(sentence).toHaveLength(20);
    expect(texts(segmentText(`Okay. ${sentence} Short one. More.`).out)).toEqual([
      'Okay.',
      sentence,
      'Short one. More.',
    ]);
  });

  it('ends the first segment at a clause exactly firstMinChars long, but not one character shorter', () => {
    const { segmenter, spoken } = start();
    segmenter.push('One two three fours, and more');
    expect(spoken()).toEqual(['One two three fours,']);
    const shorter = start();
    shorter.segmenter.push('One two three four, and more');
    expect(shorter.spoken()).toEqual([]);
  });

  it('keeps a clause or sentence exactly splitOverChars long whole', () => {
    expect(texts(segmentText('(Paren.) ok, ok, ok,', undefined, { splitOverChars: 12 }).out)).toEqual([
      '(Paren.) ok,',
      'ok, ok,',
    ]);
    expect(texts(segmentText('Okay. It costs 3.5 now. Really.', undefined, { splitOverChars: 17 }).out)).toEqual([
      'Okay.',
      'It costs 3.5 now.',
      'Really.',
    ]);
  });

  it('keeps a last piece exactly splitOverChars long whole at finish', () => {
    expect(texts(segmentText('Okay. Abc efgh ijk', [7, 100], { splitOverChars: 12 }).out)).toEqual([
      'Okay.',
      'Abc efgh ijk',
    ]);
  });
});

describe('SpeechSegmenter: splitting long text', () => {
  it('splits a long sentence while it is still streaming, before its end arrives', () => {
    const { segmenter, spoken } = start();
    segmenter.push('Okay. Now ' + 'word '.repeat(60));
    expect(spoken()).toEqual(['Okay.', 'Now' + ' word'.repeat(39)]);
  });

  it('speaks a first segment exactly splitOverChars long whole when the wait passes', () => {
    const { segmenter, spoken } = start({ splitOverChars: 12 });
    segmenter.push('Abc efgh ijk lm');
    vi.advanceTimersByTime(250);
    expect(spoken()).toEqual(['Abc efgh ijk']);
  });

  it('idle-flushes short sentences together up to exactly splitOverChars', () => {
    const { segmenter, spoken } = start({ splitOverChars: 12 });
    segmenter.push('Okay. Yes. No. Ok.');
    vi.advanceTimersByTime(300);
    expect(spoken()).toEqual(['Okay.', 'Yes. No. Ok.']);
  });

  it('splits a long sentence at the last clause that fits, not the first', () => {
    const text = 'Okay. One, two, three, four, five, six, seven, eight, nine, ten, eleven, twelve.';
    expect(texts(segmentText(text, undefined, { splitOverChars: 40 }).out)).toEqual([
      'Okay.',
      'One, two, three, four, five, six, seven,',
      'eight, nine, ten, eleven, twelve.',
    ]);
  });

  it('leaves the spaces after a split word to the next segment', () => {
    const { out } = segmentText('Then  well-known now', undefined, { splitOverChars: 12 });
    expect(texts(out)).toEqual(['Then', 'well-known', 'now']);
    expect(out[0]!.displayEnd).toBe(4);
  });

  it('cuts one enormous word at exactly the split limit', () => {
    const text = 'Okay. ' + 'y'.repeat(13) + ' done.';
    expect(texts(segmentText(text, undefined, { splitOverChars: 12 }).out)).toEqual([
      'Okay.',
      'y'.repeat(12),
      'y done.',
    ]);
  });

  it('never speaks an empty piece when a long sentence starts with something unspeakable', () => {
    for (const text of ['Okay. 🎉, then some more words follow here and there', 'Okay. 🎉' + 'z'.repeat(30)]) {
      const { out } = segmentText(text, undefined, { splitOverChars: 12 });
      expect(out.length).toBeGreaterThan(2);
      for (const segment of out) {
        expect(segment.text).not.toBe('');
        expect(segment.text.length).toBeLessThanOrEqual(12);
      }
    }
  });

  it('shortens the code note itself when it is longer than the split limit', () => {
    const { out } = segmentText('Okay.\n```js\nlet a = 1;\n```\nDone.', undefined, { splitOverChars: 12 });
    expect(texts(out)).toEqual(['Okay.', 'See the code', 'Done.']);
  });
});

describe('SpeechSegmenter: the end of the reply', () => {
  it('ends the last range at its full stop, leaving trailing spaces unspoken', () => {
    const text = 'Okay. This is a long enough sentence. ';
    const { out } = segmentText(text);
    expect(texts(out)).toEqual(['Okay.', 'This is a long enough sentence.']);
    expect(out[1]!.displayEnd).toBe(text.length - 1);
  });

  it('does not idle-flush an unfinished first word', () => {
    const { segmenter, spoken } = start();
    segmenter.push('Unbeliev');
    vi.advanceTimersByTime(1000);
    expect(spoken()).toEqual([]);
  });
});

describe('SpeechSegmenter: no segment is ever empty or broken', () => {
  it('speaks no empty segment with mergeUnderChars 0, whatever unspeakable text sits between sentences', () => {
    const { out } = segmentText('Okay. 🎉\n\nThe next sentence is here.', undefined, { mergeUnderChars: 0 });
    expect(texts(out).every((text) => text.trim() !== '')).toBe(true);
    expect(texts(out).join(' ')).toContain('The next sentence is here.');
  });

  it('never cuts an enormous word between the two halves of a surrogate pair', () => {
    const { out } = segmentText(`Okay. a${'𝒳'.repeat(100)} done.`);
    for (const text of texts(out)) {
      expect(text).not.toMatch(/^[\udc00-\udfff]/);
      expect(text).not.toMatch(/[\ud800-\udbff]$/);
    }
    expect(texts(out).join('').replace(/\s/g, '')).toBe(`Okay.a${'𝒳'.repeat(100)}done.`);
  });
});
