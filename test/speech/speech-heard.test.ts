import { describe, it, expect, vi } from 'vitest';
import { heardDisplayLength } from '../../src/speech/heard.js';
import { SpeechSegmenter, type SpeechSegment } from '../../src/speech/segmenter.js';

const display = 'Hello there. This is **really** great news for you.';
// As the segmenter would cut it: ranges contiguous, text normalised.
const segments: SpeechSegment[] = [
  { index: 0, text: 'Hello there.', displayStart: 0, displayEnd: 12 },
  { index: 1, text: 'This is really great news for you.', displayStart: 12, displayEnd: display.length },
];
const totalSpeech = segments.reduce((sum, segment) => sum + segment.text.length, 0);

describe('heardDisplayLength', () => {
  it('maps nothing heard to 0', () => {
    expect(heardDisplayLength(segments, 0, display)).toBe(0);
    expect(heardDisplayLength(segments, -5, display)).toBe(0);
    expect(heardDisplayLength(segments, Number.NaN, display)).toBe(0);
  });

  it('maps anything with no segments to 0', () => {
    expect(heardDisplayLength([], 10, display)).toBe(0);
  });

  it('maps a fully heard segment to its display end', () => {
    expect(heardDisplayLength(segments, 'Hello there.'.length, display)).toBe(12);
  });

  it('maps everything heard, or more, to the last display end', () => {
    expect(heardDisplayLength(segments, totalSpeech, display)).toBe(display.length);
    expect(heardDisplayLength(segments, totalSpeech + 100, display)).toBe(display.length);
    expect(heardDisplayLength(segments, Number.POSITIVE_INFINITY, display)).toBe(display.length);
  });

  it('snaps a partly heard segment back to the end of a whole word', () => {
    // 'Hello th' → inside "there": back to "Hello".
    expect(heardDisplayLength(segments, 8, display)).toBe(5);
    // Just after "Hello": already a word end.
    expect(heardDisplayLength(segments, 5, display)).toBe(5);
    // At the start of "there": back over the space.
    expect(heardDisplayLength(segments, 6, display)).toBe(5);
  });

  it('never goes below the start of the partly heard segment', () => {
    expect(heardDisplayLength(segments, 12 + 2, display)).toBe(12);
  });

  it('maps proportionally inside a segment whose display text has markdown', () => {
    const heard = heardDisplayLength(segments, 12 + 'This is really great'.length, display);
    expect(display.slice(0, heard)).toMatch(/^Hello there\. This is \*\*really\*\*( great)?$/);
  });

  it('never ends mid-word and never decreases as more is heard', () => {
    let previous = 0;
    for (let heard = 0; heard <= totalSpeech + 2; heard++) {
      const length = heardDisplayLength(segments, heard, display);
      expect(length).toBeGreaterThanOrEqual(previous);
      expect(length).toBeLessThanOrEqual(display.length);
      const atWordEnd = length === 0 || length === display.length || /\s/.test(display[length]!);
      expect(atWordEnd).toBe(true);
      previous = length;
    }
  });

  it('stays within the display text when given a shorter one', () => {
    expect(heardDisplayLength(segments, totalSpeech, 'Hello')).toBe(5);
  });

  it('maps segmenter output back onto its display text', () => {
    vi.useFakeTimers();
    const text = 'First sentence here. 🎉 Second one is a bit longer, with a clause. Third!';
    const segmenter = new SpeechSegmenter(() => {});
    for (const char of text) segmenter.push(char);
    segmenter.finish();
    vi.useRealTimers();
    const all = segmenter.segments;
    const first = all[0]!;
    expect(heardDisplayLength(all, first.text.length, segmenter.displayText)).toBe(first.displayEnd);
    const second = all[1]!;
    const halfway = first.text.length + Math.floor(second.text.length / 2);
    const heard = heardDisplayLength(all, halfway, segmenter.displayText);
    expect(heard).toBeGreaterThan(first.displayEnd);
    expect(heard).toBeLessThan(second.displayEnd);
    expect(text[heard]).toBe(' ');
  });
});
