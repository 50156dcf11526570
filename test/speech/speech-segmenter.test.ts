import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { expectContiguous, segmentText, start, texts } from './speech-segmenter-helpers.js';

// Fake timers everywhere: no test may depend on a real timer firing; only the timer tests advance them.
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('SpeechSegmenter: first segment', () => {
  it('emits a short first sentence as soon as the next character confirms its end', () => {
    const { segmenter, spoken } = start();
    segmenter.push('Sure!');
    expect(spoken()).toEqual([]);
    segmenter.push(' I');
    expect(spoken()).toEqual(['Sure!']);
  });

  it('waits for the character after a final dot before deciding', () => {
    const { segmenter, spoken } = start();
    segmenter.push('It is 3.');
    expect(spoken()).toEqual([]);
    segmenter.push('14 today. Then');
    expect(spoken()).toEqual(['It is 3.14 today.']);
  });

  it('emits at a clause boundary once it has enough characters and words', () => {
    const { segmenter, spoken } = start();
    segmenter.push('Well, okay, ');
    expect(spoken()).toEqual([]); // clauses too short
    segmenter.push('that is a fine question, and');
    expect(spoken()).toEqual(['Well, okay, that is a fine question,']);
  });

  it('does not emit at a long clause boundary with too few words', () => {
    const { segmenter, spoken } = start();
    segmenter.push('Supercalifragilistic, ');
    expect(spoken()).toEqual([]);
  });

  it('emits the complete words after firstMaxWaitMs and holds back an unfinished word', () => {
    const { segmenter, spoken } = start();
    segmenter.push('Let me think about th');
    vi.advanceTimersByTime(249);
    expect(spoken()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(spoken()).toEqual(['Let me think about']);
    segmenter.push('at for a moment. Okay then.');
    segmenter.finish();
    expect(spoken()).toEqual(['Let me think about', 'that for a moment. Okay then.']);
  });

  it('emits the first word as soon as it completes when the wait has already passed', () => {
    const { segmenter, spoken } = start();
    segmenter.push('Unbeliev');
    vi.advanceTimersByTime(250);
    expect(spoken()).toEqual([]);
    segmenter.push('able indeed');
    expect(spoken()).toEqual(['Unbelievable']);
  });

  it('does not cut the first segment right after an abbreviation when the wait passes', () => {
    const { segmenter, spoken } = start();
    segmenter.push('I asked Dr. Smi');
    vi.advanceTimersByTime(250);
    expect(spoken()).toEqual(['I asked']);
  });

  it('counts a finished-looking last sentence as complete when the wait passes', () => {
    const { segmenter, spoken } = start();
    segmenter.push('Hello there.');
    vi.advanceTimersByTime(250);
    expect(spoken()).toEqual(['Hello there.']);
  });

  it('holds back a trailing number with a dot when the wait passes', () => {
    const { segmenter, spoken } = start();
    segmenter.push('It costs 3.');
    vi.advanceTimersByTime(250);
    expect(spoken()).toEqual(['It costs']);
    segmenter.push('50 today.');
    segmenter.finish();
    expect(spoken()).toEqual(['It costs', '3.50 today.']);
  });

  it('starts the wait only when a word is buffered', () => {
    const { segmenter, spoken } = start();
    segmenter.push('  ');
    vi.advanceTimersByTime(1000);
    segmenter.push('Hello there fr');
    vi.advanceTimersByTime(249);
    expect(spoken()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(spoken()).toEqual(['Hello there']);
  });
});

describe('SpeechSegmenter: later segments', () => {
  it('emits later segments as whole sentences, not at clauses', () => {
    const { out } = segmentText('Hi. This one, with a comma, is long enough to stand alone. Next sentence here.');
    expect(texts(out)).toEqual([
      'Hi.',
      'This one, with a comma, is long enough to stand alone.',
      'Next sentence here.',
    ]);
  });

  it('merges a sentence shorter than mergeUnderChars with the following one', () => {
    const { out } = segmentText('First one. Yes. No. This is the following sentence. Ok.');
    expect(texts(out)).toEqual(['First one.', 'Yes. No. This is the following sentence.', 'Ok.']);
  });

  it('splits a sentence over splitOverChars at a clause boundary', () => {
    const long = 'Okay. ' + 'This part is fairly long and it keeps going for a while, '.repeat(5) + 'and then it ends.';
    const { out } = segmentText(long);
    expect(out.length).toBeGreaterThan(2);
    for (const segment of out) expect(segment.text.length).toBeLessThanOrEqual(200);
    expect(out[1]!.text.endsWith(',')).toBe(true);
    expectContiguous(out, long.length);
  });

  it('splits at a word boundary when there is no clause boundary, never over the limit', () => {
    const long = 'Okay. Now ' + 'word '.repeat(120) + 'end.';
    const { out } = segmentText(long, [3]);
    expect(out.length).toBe(5);
    for (const segment of out.slice(1)) {
      expect(segment.text.length).toBeLessThanOrEqual(200);
      expect(segment.text).toMatch(/^(?:Now )?word(?: word)*(?: end\.)?$/);
    }
    expect(texts(out).join(' ')).toBe('Okay. Now ' + 'word '.repeat(120) + 'end.');
  });

  it('honours a custom split limit for a single enormous word', () => {
    const { out } = segmentText('Okay. ' + 'x'.repeat(50) + ' done.', [7], { splitOverChars: 20 });
    expect(texts(out)).toEqual(['Okay.', 'x'.repeat(20), 'x'.repeat(20), 'x'.repeat(10) + ' done.']);
  });

  it('treats a paragraph break as a boundary', () => {
    const { out } = segmentText('Okay. A heading without a full stop\n\nThe next paragraph is here.');
    expect(texts(out)).toEqual(['Okay.', 'A heading without a full stop', 'The next paragraph is here.']);
  });

  it('handles an ellipsis: lowercase continues the sentence, uppercase ends it', () => {
    const { out } = segmentText(
      'Okay. I waited and waited... and waited. Then it finally came... At last it was home.',
    );
    expect(texts(out)).toEqual([
      'Okay.',
      'I waited and waited... and waited.',
      'Then it finally came...',
      'At last it was home.',
    ]);
  });

  it('splits CJK text at its full-width sentence marks', () => {
    const { out } = segmentText('你好。我很好，谢谢你的关心和帮助，朋友们！', [1]);
    expect(texts(out)).toEqual(['你好。', '我很好，谢谢你的关心和帮助，朋友们！']);
  });
});

describe('SpeechSegmenter: never splits inside', () => {
  const cases: [string, string][] = [
    ['a decimal', 'The value of pi is about 3.14159 in total.'],
    ['a number with thousands separators', 'There were 1,000,000 people at the event.'],
    ['a time', 'The meeting starts at 10:30 sharp tomorrow.'],
    ['e.g. and i.e.', 'Bring fruit, e.g. Apples, i.e. Something sweet.'],
    ['titles', 'Dr. Who met Mr. Bean, Mrs. Brown, Ms. Marvel and St. Nick.'],
    ['vs. and etc.', 'It was cats vs. Dogs, birds etc. And more besides.'],
    ['U.S., U.K. and Ph.D.', 'She left the U.S. For the U.K. With a Ph.D. In physics.'],
    ['a.m. and p.m.', 'Open from 9 a.m. To 5 p.m. Every single day.'],
    ['initials', 'The books by J. R. R. Tolkien are long.'],
    ['a URL', 'Go to https://example.com/a.b?x=1.2 for the details.'],
    ['an e-mail address', 'Write to first.last@example.co.uk with questions.'],
    ['a lowercase continuation', 'It weighs approx. ten kilos in total.'],
  ];
  it.each(cases)('%s', (_name, sentence) => {
    const text = `Okay. ${sentence} Then we are done here.`;
    for (const chunks of [[text.length], [1], [2, 5, 3]]) {
      const { out } = segmentText(text, chunks);
      expect(texts(out)[1]).toBe(sentence.replace('https://example.com/a.b?x=1.2', 'example.com'));
    }
  });

  it('a numbered list marker at a line start', () => {
    const { out } = segmentText('Okay.\n1. First step of the plan\n2. Second step of the plan');
    expect(texts(out)).toEqual(['Okay.', 'First step of the plan.', 'Second step of the plan.']);
  });
});
