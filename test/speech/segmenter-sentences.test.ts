// Where later segments break: which marks end a sentence, and which dots do not (abbreviations, initials,
// list numbers). mergeUnderChars 0 makes every sentence its own segment, so each break is visible.
import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { segmentText, texts } from './speech-segmenter-helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Segment texts for `text` with no merging, checking that one push and one character at a time agree. */
function sentences(text: string): string[] {
  const whole = texts(segmentText(text, [text.length], { mergeUnderChars: 0 }).out);
  expect(texts(segmentText(text, [1], { mergeUnderChars: 0 }).out)).toEqual(whole);
  return whole;
}

describe('SpeechSegmenter: sentence ends', () => {
  it('ends sentences at ?, !, … and at runs such as ?!', () => {
    expect(sentences('Okay. Why? Because. Really… Yes! Wow?! Ok')).toEqual([
      'Okay.',
      'Why?',
      'Because.',
      'Really…',
      'Yes!',
      'Wow?!',
      'Ok',
    ]);
  });

  it('ends a question even when the next word is lowercase', () => {
    expect(sentences('Okay. Why? because I said so.')).toEqual(['Okay.', 'Why?', 'because I said so.']);
  });

  it('continues a sentence after an ellipsis character followed by a lowercase word', () => {
    expect(sentences('Okay. I waited… and waited. Then it came.')).toEqual([
      'Okay.',
      'I waited… and waited.',
      'Then it came.',
    ]);
  });

  it('ends a sentence at a line break after a comma', () => {
    expect(sentences('Okay. First line ends with a comma,\nSecond line here.')).toEqual([
      'Okay.',
      'First line ends with a comma,',
      'Second line here.',
    ]);
  });

  it('ends a sentence after an ellipsis that follows an abbreviation', () => {
    expect(sentences('Okay. And so on, etc... Then we stopped.')).toEqual([
      'Okay.',
      'And so on, etc...',
      'Then we stopped.',
    ]);
  });

  it('ends a sentence after its closing quotes and brackets', () => {
    expect(sentences('Okay. He said "Stop." (Really.) «Fine.» Then it ended.')).toEqual([
      'Okay.',
      'He said "Stop."',
      '(Really.)',
      '«Fine.»',
      'Then it ended.',
    ]);
  });

  it('ends full-width sentences right after the mark and its closing quotes', () => {
    expect(sentences('好！真的吗？是的。「引用。」好')).toEqual(['好！', '真的吗？', '是的。', '「引用。」', '好']);
  });

  it('ends a sentence at any Unicode space after the full stop', () => {
    const spaces = [
      '\t',
      '\v',
      '\f',
      '\r',
      '\u00a0',
      '\u2000',
      '\u2003',
      '\u200a',
      '\u2028',
      '\u2029',
      '\u202f',
      '\u205f',
      '\u3000',
      '\ufeff',
    ];
    const text = 'Okay. ' + spaces.map((space, i) => `Part ${i}.${space}`).join('') + 'End.';
    expect(sentences(text)).toEqual(['Okay.', ...spaces.map((_space, i) => `Part ${i}.`), 'End.']);
  });

  it('does not end a sentence at a zero-width space, which is not a space', () => {
    expect(sentences('Okay. One.\u200bTwo. Three.')).toEqual(['Okay.', 'One.\u200bTwo.', 'Three.']);
  });

  it('ends a sentence at its full stop even when spaces and a line break follow', () => {
    const text = 'Okay. The first line ends right here.  \nthe second line follows it.';
    const { out } = segmentText(text, [1]);
    expect(texts(out)).toEqual(['Okay.', 'The first line ends right here.', 'the second line follows it.']);
    expect(out[1]!.displayEnd).toBe(text.indexOf('here.') + 'here.'.length);
  });
});

describe('SpeechSegmenter: dots that do not end a sentence', () => {
  it('keeps every listed abbreviation with the name or word after it', () => {
    const text =
      'Okay. Ask Prof. Xavier and Sr. Garcia. Jr. High is near Mt. Fuji. It weighs approx. Five kilos. ' +
      'See Fig. Two now. Cats vs. Dogs is fun. Mr. Bean left.';
    expect(sentences(text)).toEqual([
      'Okay.',
      'Ask Prof. Xavier and Sr. Garcia.',
      'Jr. High is near Mt. Fuji.',
      'It weighs approx. Five kilos.',
      'See Fig. Two now.',
      'Cats vs. Dogs is fun.',
      'Mr. Bean left.',
    ]);
  });

  it('keeps an abbreviation wrapped in bold or opened by a quote with its name', () => {
    expect(sentences('Okay. Ask **Dr. Who** now. He shouted—“Mr. Bean!” Then left.')).toEqual([
      'Okay.',
      'Ask Dr. Who now.',
      'He shouted—“Mr. Bean!”',
      'Then left.',
    ]);
  });

  it('ends a sentence after a name with a glued initial, "J.Doe."', () => {
    expect(sentences('Okay. Thanks, J.Doe. See you.')).toEqual(['Okay.', 'Thanks, J.Doe.', 'See you.']);
  });

  it('keeps numbered list markers with their item, for any number of digits and indentation', () => {
    expect(sentences('Okay.\n9. Ninth step\n10. Tenth step\n  11. Eleventh step\n\t12. Twelfth step')).toEqual([
      'Okay.',
      'Ninth step.',
      'Tenth step.',
      'Eleventh step.',
      'Twelfth step.',
    ]);
  });

  it('keeps the list marker that starts a reply with its item, indented or not', () => {
    expect(sentences('1. Install the package first.\n2. Run it.')).toEqual(['Install the package first.', 'Run it.']);
    expect(sentences(' 1. Install the package first.\n 2. Run it.')).toEqual(['Install the package first.', 'Run it.']);
  });

  it('ends a sentence at a number with a dot inside a line', () => {
    expect(sentences('Okay. I counted 42. Then I stopped.')).toEqual(['Okay.', 'I counted 42.', 'Then I stopped.']);
    expect(sentences('How many are left? 3. That is all.')).toEqual(['How many are left?', '3.', 'That is all.']);
  });
});
