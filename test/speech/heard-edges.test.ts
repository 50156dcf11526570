// heardDisplayLength at the edges: whitespace runs in the display text and segment ranges that end in a space.
import { describe, it, expect } from 'vitest';
import { heardDisplayLength } from '../../src/speech/heard.js';
import type { SpeechSegment } from '../../src/speech/segmenter.js';

describe('heardDisplayLength: edges', () => {
  it('keeps a heard word that is followed by two spaces in the display text', () => {
    const display = 'Hello there  friend of mine.';
    const segments: SpeechSegment[] = [
      { index: 0, text: 'Hello there friend of mine.', displayStart: 0, displayEnd: display.length },
    ];
    // 11 characters of speech: "Hello there" was heard, and the display position lands on the double space.
    expect(display.slice(0, heardDisplayLength(segments, 11, display))).toBe('Hello there');
    expect(display.slice(0, heardDisplayLength(segments, 19, display))).toBe('Hello there  friend');
  });

  it('never cuts into a fully heard segment, even when its display range ends with a space', () => {
    const display = 'Hello there. Bye now.';
    const segments: SpeechSegment[] = [
      { index: 0, text: 'Hello there.', displayStart: 0, displayEnd: 13 },
      { index: 1, text: 'Bye now.', displayStart: 13, displayEnd: 21 },
    ];
    // Two characters into "Bye": nothing of the second segment counts, all of the first does.
    expect(heardDisplayLength(segments, 12 + 2, display)).toBe(13);
    expect(heardDisplayLength(segments, 12 + 4, display)).toBe(16);
  });

  it('maps nothing heard to 0 even when the first segment starts later in the display text', () => {
    const display = '🎉 Hello there.';
    const segments: SpeechSegment[] = [{ index: 0, text: 'Hello there.', displayStart: 3, displayEnd: display.length }];
    expect(heardDisplayLength(segments, 0, display)).toBe(0);
    expect(heardDisplayLength(segments, 'Hello there.'.length, display)).toBe(display.length);
  });
});
