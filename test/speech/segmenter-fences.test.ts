// Code fences in a streamed reply: which lines open and close a block, and that nothing inside one is spoken.
import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { CODE_BLOCK_NOTE as NOTE } from '../../src/speech/normalise.js';
import type { SegmenterOptions } from '../../src/speech/segmenter.js';
import { segmentText, start, texts } from './speech-segmenter-helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Segment texts for `text`, checking that one push and one character at a time agree. */
function spokenFor(text: string, options: SegmenterOptions = { mergeUnderChars: 0 }): string[] {
  const whole = texts(segmentText(text, [text.length], options).out);
  expect(texts(segmentText(text, [1], options).out)).toEqual(whole);
  return whole;
}

describe('SpeechSegmenter: code fences', () => {
  it('speaks the note first when the reply starts with a code block', () => {
    expect(spokenFor('```js\nx = 1. y\n```\nDone.', {})).toEqual([NOTE, 'Done.']);
  });

  it('recognises a fence indented by up to three spaces', () => {
    expect(spokenFor('Okay.\n   ```\nx = 1. Y.\n   ```\nDone now.')).toEqual(['Okay.', NOTE, 'Done now.']);
  });

  it('speaks a block indented by four spaces as text: it is not a fence', () => {
    const text = 'Okay.\n    ```\nThe value is one here. The value is two there.\n    ```\nAnd we are done now.';
    expect(spokenFor(text, {})).toEqual([
      'Okay.',
      'The value is one here.',
      'The value is two there.',
      'And we are done now.',
    ]);
  });

  it('recognises tilde fences', () => {
    expect(spokenFor('Okay.\n~~~\nnot. Spoken.\n~~~\nDone.')).toEqual(['Okay.', NOTE, 'Done.']);
  });

  it('closes a block only with the same character, at least as long, and nothing after it', () => {
    const text = 'Okay.\n````\na. B.\n```\nc. D.\n~~~~\ne. F.\n```` not yet. No.\ng. H.\n````\nDone.';
    expect(spokenFor(text)).toEqual(['Okay.', NOTE, 'Done.']);
  });

  it('closes a block with a longer run or one followed by spaces', () => {
    expect(spokenFor('Okay.\n~~~~\na. B.\n~~~~~\nDone.')).toEqual(['Okay.', NOTE, 'Done.']);
    expect(spokenFor('Okay.\n```\na. B.\n```   \nDone.')).toEqual(['Okay.', NOTE, 'Done.']);
  });

  it('does not open a block with two backticks at a line start', () => {
    expect(spokenFor('Okay.\n``inline`` code here. More.')).toEqual(['Okay.', 'inline code here.', 'More.']);
  });

  it('recognises an indented fence whose spaces and backticks arrive in separate pieces', () => {
    const { segmenter, spoken } = start({ mergeUnderChars: 0 });
    segmenter.push('Okay.\n  ');
    segmenter.push('``');
    segmenter.push('`\nx = 1. Y.\n  ``');
    segmenter.push('`\nDone now.');
    segmenter.finish();
    expect(spoken()).toEqual(['Okay.', NOTE, 'Done now.']);
  });

  it('speaks nothing from inside a block, even when it is longer than the split limit', () => {
    const code = 'const value = compute(1, 2, 3); // a long line of code. It goes on.\n'.repeat(4);
    const { segmenter, spoken } = start({ splitOverChars: 12 });
    segmenter.push(`Okay.\n\`\`\`\n${code}`);
    vi.advanceTimersByTime(1000);
    expect(spoken()).toEqual(['Okay.']);
    segmenter.push('```\nDone.');
    segmenter.finish();
    // The note itself is cut to the limit, at a word end.
    expect(spoken()).toEqual(['Okay.', 'See the code', 'Done.']);
  });

  it('does not close a block at backticks that end a line of code', () => {
    expect(spokenFor('Okay.\n```\nvalue = 1 ```\nmore. Code.\n```\nAfter.')).toEqual(['Okay.', NOTE, 'After.']);
  });

  it('waits for the rest of a line before closing a block at a backtick run', () => {
    const { segmenter, spoken } = start({ mergeUnderChars: 0 });
    segmenter.push('Okay.\n```\ncode. Here.\n```');
    expect(spoken()).toEqual(['Okay.']);
    segmenter.push(' not yet. Really.\nmore. Code.\n```\nDone.');
    segmenter.finish();
    expect(spoken()).toEqual(['Okay.', NOTE, 'Done.']);
  });

  it('speaks nothing from a block that opens the reply until it closes, even after the wait', () => {
    const { segmenter, spoken } = start();
    segmenter.push('```\nprint("Done.")');
    vi.advanceTimersByTime(1000);
    expect(spoken()).toEqual([]);
    segmenter.push('\n```\nAfter that, we are done.');
    segmenter.finish();
    expect(spoken()).toEqual([NOTE, 'After that, we are done.']);
  });

  it('does not hold back the text after a horizontal rule, which is not a fence', () => {
    for (const rule of ['---', '***', '___']) {
      const { segmenter, spoken } = start();
      segmenter.push(`Okay.\n${rule}\nThe next part is right here. And more`);
      expect(spoken()).toEqual(['Okay.', 'The next part is right here.']);
    }
  });

  it('speaks the sentences before a block that opens in the same chunk', () => {
    const { segmenter, spoken } = start();
    segmenter.push('Okay. This sentence is long enough to stand.\n```js\ncode here');
    expect(spoken()).toEqual(['Okay.', 'This sentence is long enough to stand.']);
  });
});
