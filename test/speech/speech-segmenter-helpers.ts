// Shared helpers for the speech segmenter tests (not a test file itself).
import { expect } from 'vitest';
import { SpeechSegmenter, type SegmenterOptions, type SpeechSegment } from '../../src/speech/segmenter.js';

export function start(options?: SegmenterOptions) {
  const out: SpeechSegment[] = [];
  const segmenter = new SpeechSegmenter((segment) => out.push(segment), options);
  return { segmenter, out, spoken: () => out.map((segment) => segment.text) };
}

/** Segments for `text` pushed in the given chunk sizes (cycled), then finished. */
export function segmentText(text: string, chunkSizes: number[] = [text.length || 1], options?: SegmenterOptions) {
  const { segmenter, out } = start(options);
  for (let i = 0, c = 0; i < text.length; c++) {
    const size = Math.max(1, chunkSizes[c % chunkSizes.length]!);
    segmenter.push(text.slice(i, i + size));
    i += size;
  }
  segmenter.finish();
  return { out, segmenter };
}

export const texts = (segments: readonly SpeechSegment[]) => segments.map((segment) => segment.text);

export function expectContiguous(segments: readonly SpeechSegment[], displayLength: number): void {
  let expected = 0;
  segments.forEach((segment, index) => {
    expect(segment.index).toBe(index);
    expect(segment.displayStart).toBe(expected);
    expect(segment.displayEnd).toBeGreaterThan(segment.displayStart);
    expect(segment.text).not.toBe('');
    expected = segment.displayEnd;
  });
  expect(expected).toBe(displayLength);
}

// A tiny seeded PRNG so random chunkings are reproducible.
export function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
