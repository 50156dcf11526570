// The speech layer as a client of src/speech/index.ts uses it: segment a reply, then map what was heard back.
// The module is loaded inside the test, so a module that fails to load fails this test (not just the file).
import { describe, it, expect, vi, afterEach } from 'vitest';

afterEach(() => {
  vi.useRealTimers();
});

describe('speech public API', () => {
  it('loads, speaks a markdown reply in sentences and maps what was heard back onto the display text', async () => {
    vi.useFakeTimers();
    const { SpeechSegmenter, normaliseForSpeech, heardDisplayLength, CODE_BLOCK_NOTE } =
      await import('../../src/speech/index.js');
    const spoken: string[] = [];
    const segmenter = new SpeechSegmenter((segment) => spoken.push(segment.text));
    const reply = 'Sure 🎉! Here is **the** plan for today.\n```sh\nls\n```\nSee [docs](https://www.example.com/x).';
    for (const char of reply) segmenter.push(char);
    segmenter.finish();
    expect(spoken).toEqual(['Sure!', 'Here is the plan for today.', CODE_BLOCK_NOTE, 'See docs.']);
    expect(normaliseForSpeech('Visit https://www.example.com/a 👍')).toBe('Visit example.com');
    const heard = heardDisplayLength(segmenter.segments, 'Sure!Here is'.length, segmenter.displayText);
    expect(reply.slice(0, heard)).toBe('Sure 🎉! Here is');
  });
});
