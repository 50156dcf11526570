// Segmenter options as a client sets them: which values are accepted, and how invalid ones are reported.
import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { SpeechSegmenter } from '../../src/speech/segmenter.js';
import { segmentText, texts } from './speech-segmenter-helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('SpeechSegmenter options', () => {
  it('accepts 0 for every option but the split limit: mergeUnderChars 0 merges nothing', () => {
    const options = { firstMinChars: 0, firstMinWords: 0, firstMaxWaitMs: 0, mergeUnderChars: 0, idleFlushMs: 0 };
    const { out } = segmentText('First one. Yes. No. Done.', undefined, options);
    expect(texts(out)).toEqual(['First one.', 'Yes.', 'No.', 'Done.']);
  });

  it('accepts a split limit of one character', () => {
    const { out } = segmentText('Hi there.', undefined, { splitOverChars: 1 });
    expect(out.length).toBeGreaterThan(1);
    for (const segment of out) expect(segment.text.length).toBe(1);
  });

  it('reports every invalid option in one RangeError, separated by semicolons', () => {
    const create = () =>
      new SpeechSegmenter(() => {}, { idleFlushMs: -1, firstMinChars: Number.NaN, splitOverChars: 0 });
    expect(create).toThrow(RangeError);
    expect(create).toThrow(
      'Invalid segmenter options: firstMinChars must be a finite number >= 0; idleFlushMs must be a finite number >= 0; ' +
        'splitOverChars must be at least 1',
    );
  });

  it('rejects infinite values', () => {
    expect(() => new SpeechSegmenter(() => {}, { firstMaxWaitMs: Number.POSITIVE_INFINITY })).toThrow(
      'Invalid segmenter options: firstMaxWaitMs must be a finite number >= 0',
    );
  });
});
