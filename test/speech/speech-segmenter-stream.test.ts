import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { SpeechSegmenter } from '../../src/speech/segmenter.js';
import { CODE_BLOCK_NOTE } from '../../src/speech/normalise.js';
import { expectContiguous, mulberry32, segmentText, start, texts } from './speech-segmenter-helpers.js';

// Fake timers everywhere: streaming tests never advance them, so no timer can change their result.
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const SAMPLES = [
  'Sure! Dr. Smith paid $3.14 at 10:30 a.m. on Monday, i.e. early. It cost 1,000 dollars. ' +
    'Visit https://example.com/a.b or mail a.b@c.com for more. J. R. R. Tolkien wrote it... really. Ok.',
  'Well, you know, this is a really interesting question, and I will try to answer it. Short one. ' +
    'Another. This is a much longer sentence that keeps going; it has clauses, many of them, and it ' +
    'really does not want to stop — not yet, not now, not ever, because it is testing the splitter ' +
    'that keeps every segment under the limit of two hundred characters. Done!',
  '# Steps\n\n1. Install it.\n2. Run **npm test** now.\n\nHere is code:\n```js\nconst a = 1.5; // ok.\n\nend()\n```\n' +
    'That was it 🎉🎉. 👍\n\nBye. 🎉',
  '你好。我很好，谢谢！你呢？Then English follows. Really it does.',
];

describe('SpeechSegmenter: flushes', () => {
  it('idle-flushes a complete sentence after idleFlushMs without new text', () => {
    const { segmenter, spoken } = start();
    segmenter.push('Okay. This is a complete sentence.');
    expect(spoken()).toEqual(['Okay.']);
    vi.advanceTimersByTime(299);
    expect(spoken()).toEqual(['Okay.']);
    vi.advanceTimersByTime(1);
    expect(spoken()).toEqual(['Okay.', 'This is a complete sentence.']);
  });

  it('resets the idle timer on every push', () => {
    const { segmenter, spoken } = start();
    segmenter.push('Okay. This is a complete');
    vi.advanceTimersByTime(200);
    segmenter.push(' sentence.');
    vi.advanceTimersByTime(200);
    expect(spoken()).toEqual(['Okay.']);
    vi.advanceTimersByTime(100);
    expect(spoken()).toEqual(['Okay.', 'This is a complete sentence.']);
  });

  it('idle-flushes short sentences without merging but keeps an unfinished one', () => {
    const { segmenter, spoken } = start();
    segmenter.push('Okay. Yes. No. And then');
    vi.advanceTimersByTime(300);
    expect(spoken()).toEqual(['Okay.', 'Yes. No.']);
    segmenter.push(' more.');
    segmenter.finish();
    expect(spoken()).toEqual(['Okay.', 'Yes. No.', 'And then more.']);
  });

  it('does not idle-flush a dot after an abbreviation', () => {
    const { segmenter, spoken } = start();
    segmenter.push('Okay. Please call Dr.');
    vi.advanceTimersByTime(300);
    expect(spoken()).toEqual(['Okay.']);
  });

  it('flushes everything left on finish, even short and unterminated', () => {
    const { segmenter, spoken } = start();
    segmenter.push('Okay. Hm, well');
    segmenter.finish();
    expect(spoken()).toEqual(['Okay.', 'Hm, well']);
  });

  it('finish is idempotent and ignores later pushes', () => {
    const { segmenter, spoken } = start();
    segmenter.push('Hello there.');
    segmenter.finish();
    segmenter.finish();
    segmenter.push(' More text. And more.');
    vi.advanceTimersByTime(10_000);
    expect(spoken()).toEqual(['Hello there.']);
    expect(segmenter.displayText).toBe('Hello there.');
  });

  it('emits nothing after cancel, even when timers would have fired', () => {
    const { segmenter, spoken } = start();
    segmenter.push('Okay. This is a complete sentence.');
    segmenter.cancel();
    segmenter.cancel();
    vi.advanceTimersByTime(10_000);
    segmenter.push(' one. And more.');
    segmenter.finish();
    expect(spoken()).toEqual(['Okay.']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stops emitting when a listener cancels during a push', () => {
    const out: string[] = [];
    const segmenter: SpeechSegmenter = new SpeechSegmenter((segment) => {
      out.push(segment.text);
      segmenter.cancel();
    });
    segmenter.push('One. Two sentences here, and a third one too. Four. ');
    segmenter.finish();
    expect(out).toEqual(['One.']);
  });

  it('clears its timers on finish', () => {
    const { segmenter } = start();
    segmenter.push('Some words');
    segmenter.finish();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('SpeechSegmenter: markdown, code and emoji', () => {
  it('never emits from inside an open code fence and speaks only a note for it', () => {
    const { segmenter, spoken } = start();
    segmenter.push('Here is the code:\n```python\nprint("a. b! c?")\n\nx = 3.5, y = 2; z: int\n');
    vi.advanceTimersByTime(10_000);
    expect(spoken()).toEqual(['Here is the code:']);
    segmenter.push('```\nThat prints three letters.');
    expect(spoken()).toEqual(['Here is the code:', CODE_BLOCK_NOTE]);
    segmenter.finish();
    expect(spoken()).toEqual(['Here is the code:', CODE_BLOCK_NOTE, 'That prints three letters.']);
  });

  it('speaks the note for a fence left open at finish', () => {
    const { out } = segmentText('Look:\n```\nlet a = 1;', [4]);
    expect(texts(out)).toEqual(['Look:', CODE_BLOCK_NOTE]);
  });

  it('strips markdown from segment text', () => {
    const { out } = segmentText('**Note:** read [the guide](https://x.io/g) first. Then *relax* a little bit.');
    expect(texts(out)).toEqual(['Note: read the guide first.', 'Then relax a little bit.']);
  });

  it('does not emit an emoji-only sentence and merges its range into the next segment', () => {
    const text = 'Okay. 🎉🎉\n\nThis is the next real sentence.';
    const { out } = segmentText(text, [1]);
    expect(texts(out)).toEqual(['Okay.', 'This is the next real sentence.']);
    expect(out[1]!.index).toBe(1);
    expect(out[1]!.displayStart).toBe(5);
  });

  it('skips an emoji-only remainder at finish without a segment', () => {
    const text = 'All done here. 🎉👍';
    const { out } = segmentText(text);
    expect(texts(out)).toEqual(['All done here.']);
    expect(out[0]!.displayEnd).toBe('All done here.'.length);
  });
});

const SAMPLE_CASES = SAMPLES.map((sample, i) => [i, sample] as const);

describe('SpeechSegmenter: streaming invariance and ranges', () => {
  it.each(SAMPLE_CASES)('sample %i: one character at a time equals one push', (_i, sample) => {
    const whole = segmentText(sample).out;
    expect(segmentText(sample, [1]).out).toEqual(whole);
  });

  it.each(SAMPLE_CASES)('sample %i: random chunkings equal one push', (_i, sample) => {
    const whole = segmentText(sample).out;
    const random = mulberry32(42);
    for (let run = 0; run < 25; run++) {
      const sizes = Array.from({ length: 40 }, () => 1 + Math.floor(random() * 12));
      expect(segmentText(sample, sizes).out).toEqual(whole);
    }
  });

  it.each(SAMPLE_CASES)('sample %i: ranges are contiguous and cover the text', (_i, sample) => {
    const { out, segmenter } = segmentText(sample, [5]);
    expect(segmenter.displayText).toBe(sample);
    const end = out[out.length - 1]!.displayEnd;
    expectContiguous(out, end);
    // Only an unspeakable remainder may be left uncovered.
    expect(sample.slice(end).replace(/[\s\p{Extended_Pictographic}\uFE0F]/gu, '')).toBe('');
    for (const segment of out) expect(segment.text.length).toBeLessThanOrEqual(200);
  });

  it('gives the same segments for any chunking of random tricky text', () => {
    const vocabulary = [
      'Hello',
      'world',
      'the',
      'Dr.',
      'e.g.',
      'U.S.',
      '3.14',
      '1,000',
      '10:30',
      'https://x.com/a.b',
      'a.b@c.com',
      'J.',
      'etc.',
      'well-known',
      '-',
      '—',
      '...',
      'Yes.',
      'No!',
      'Why?',
      'ok,',
      'so;',
      'note:',
      '**bold**',
      '_em_',
      'snake_case',
      '`code`',
      '[link](http://y.io)',
      '🎉',
      '\n',
      '\n\n',
      '\n- item',
      '\n1. step',
      '\n# Head',
      '\n```js\nx = 1. y\n```\n',
      '"Quoted."',
      '你好。',
      'x'.repeat(70),
      'and',
      'Then',
    ];
    const random = mulberry32(7);
    for (let run = 0; run < 150; run++) {
      const pick = () => vocabulary[Math.floor(random() * vocabulary.length)]!;
      const text = Array.from({ length: 5 + Math.floor(random() * 80) }, pick).join(' ');
      const whole = segmentText(text).out;
      expectContiguous(whole, whole[whole.length - 1]?.displayEnd ?? 0);
      for (const segment of whole) expect(segment.text.length).toBeLessThanOrEqual(200);
      const sizes = Array.from({ length: 16 }, () => 1 + Math.floor(random() * 9));
      expect(segmentText(text, sizes).out).toEqual(whole);
      expect(segmentText(text, [1]).out).toEqual(whole);
    }
  });

  it('exposes everything emitted so far', () => {
    const { segmenter, out } = start();
    segmenter.push('One. Two three four five six. ');
    expect(segmenter.segments).toEqual(out);
    expect(segmenter.displayText).toBe('One. Two three four five six. ');
  });

  it('rejects invalid options, reporting every problem', () => {
    expect(() => new SpeechSegmenter(() => {}, { splitOverChars: 0, idleFlushMs: -1 })).toThrow(
      /idleFlushMs.*splitOverChars|splitOverChars.*idleFlushMs/,
    );
  });
});
