// The segmenter's two timers as a listener notices them: the first-segment wait (firstMaxWaitMs, 250) and the
// idle flush (idleFlushMs, 300), plus the timers a finished or cancelled segmenter must not leave behind.
import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { SpeechSegmenter, type SpeechSegment } from '../../src/speech/segmenter.js';
import { start } from './speech-segmenter-helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** The first segment spoken once the first-segment wait has passed with only `text` pushed. */
function firstAfterWait(text: string): SpeechSegment[] {
  const { segmenter, out } = start();
  segmenter.push(text);
  vi.advanceTimersByTime(250);
  return out;
}

describe('SpeechSegmenter: the first-segment wait', () => {
  it('counts a sentence end followed by closing quotes as complete', () => {
    expect(firstAfterWait('He said "Hi."').map((segment) => segment.text)).toEqual(['He said "Hi."']);
  });

  it('counts a sentence end followed by spaces as complete, and ends the range at the mark', () => {
    const out = firstAfterWait('Hello there.    ');
    expect(out.map((segment) => segment.text)).toEqual(['Hello there.']);
    expect(out[0]!.displayEnd).toBe('Hello there.'.length);
  });

  it('counts a number followed by ! or an ellipsis as complete', () => {
    expect(firstAfterWait('I counted to 3!').map((segment) => segment.text)).toEqual(['I counted to 3!']);
    expect(firstAfterWait('Counting down: 3...').map((segment) => segment.text)).toEqual(['Counting down: 3...']);
  });

  it('counts a full-width sentence end as complete', () => {
    expect(firstAfterWait('你好。').map((segment) => segment.text)).toEqual(['你好。']);
  });

  it('holds back a lone "Dr." or "3." that may go on', () => {
    expect(firstAfterWait('Dr.')).toEqual([]);
    expect(firstAfterWait('3.')).toEqual([]);
  });

  it('holds back an initial at the end, which may be followed by a surname', () => {
    expect(firstAfterWait('It was written by J.').map((segment) => segment.text)).toEqual(['It was written by']);
  });

  it('speaks the complete words up to the last one, however they are spaced', () => {
    const out = firstAfterWait('Hello  there  fr');
    expect(out.map((segment) => segment.text)).toEqual(['Hello there']);
    expect(out[0]!.displayEnd).toBe('Hello  there'.length);
  });
});

describe('SpeechSegmenter: the idle flush', () => {
  it('idle-flushes a short sentence that ends the buffer', () => {
    const { segmenter, spoken } = start();
    segmenter.push('Okay. Yes.');
    expect(spoken()).toEqual(['Okay.']);
    vi.advanceTimersByTime(300);
    expect(spoken()).toEqual(['Okay.', 'Yes.']);
  });

  it('does not idle-flush a clause: only complete sentences go', () => {
    for (const rest of [' Hi there, friend', ' 谢谢，朋友们']) {
      const { segmenter, spoken } = start();
      segmenter.push('Okay.' + rest);
      vi.advanceTimersByTime(1000);
      expect(spoken()).toEqual(['Okay.']);
      segmenter.finish();
      expect(spoken()).toEqual(['Okay.', rest.trim()]);
    }
  });

  it('does not let an empty push delay the idle flush', () => {
    const { segmenter, spoken } = start();
    segmenter.push('Okay. Yes.');
    vi.advanceTimersByTime(200);
    segmenter.push('');
    vi.advanceTimersByTime(100);
    expect(spoken()).toEqual(['Okay.', 'Yes.']);
  });
});

describe('SpeechSegmenter: timers left behind', () => {
  it('leaves no timer behind after many small pushes and finish', () => {
    const { segmenter } = start();
    for (const char of '- ') segmenter.push(char);
    for (const char of 'Hello') segmenter.push(char);
    segmenter.finish();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('leaves no timer behind when a listener cancels during a push', () => {
    const segmenter: SpeechSegmenter = new SpeechSegmenter(() => segmenter.cancel());
    segmenter.push('One. Two sentences here, and a third one too. Four. ');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ignores pushes after cancel: the display text stays as it was', () => {
    const { segmenter } = start();
    segmenter.push('Okay. Hello');
    segmenter.cancel();
    segmenter.push(' there.');
    expect(segmenter.displayText).toBe('Okay. Hello');
    expect(vi.getTimerCount()).toBe(0);
  });
});
