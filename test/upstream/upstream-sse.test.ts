// The SSE decoder: bytes → data payloads at every split point, in every line-ending style.
import { describe, expect, it } from 'vitest';
import { createSseDecoder } from '../../src/upstream/sse-decoder.js';

interface Collected {
  data: string[];
  events: (string | undefined)[];
  comments: string[];
  done: number;
  overflow: number;
}

function decode(parts: readonly Uint8Array[], options: { end?: boolean; maxBufferChars?: number } = {}): Collected {
  const out: Collected = { data: [], events: [], comments: [], done: 0, overflow: 0 };
  const decoder = createSseDecoder(
    {
      onData(data, event) {
        out.data.push(data);
        out.events.push(event);
      },
      onDone: () => (out.done += 1),
      onComment: (comment) => out.comments.push(comment),
      onOverflow: () => (out.overflow += 1),
    },
    options.maxBufferChars,
  );
  for (const part of parts) decoder.push(part);
  if (options.end !== false) decoder.end();
  return out;
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

// 🦒 is 4 bytes in UTF-8 (F0 9F A6 92) and é is 2: splits land inside both.
const GIRAFFE = '{"choices":[{"delta":{"content":"Giraffes 🦒 are tall, café"}}]}';
const FIXTURE_PAYLOADS = [
  '{"id":"id_comqjiusZjAoyuXlh","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}',
  GIRAFFE,
  '{"choices":[{"delta":{"content":"\\r\\n escaped, not real"}}]}',
];

function fixture(eol: string): string {
  return (
    `: keep-alive${eol}${eol}` +
    FIXTURE_PAYLOADS.map((payload) => `data: ${payload}${eol}${eol}`).join('') +
    `:ping${eol}` +
    `data: [DONE]${eol}${eol}`
  );
}

describe('sse decoder', () => {
  for (const [name, eol] of [
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR', '\r'],
  ] as const) {
    it(`yields the same payloads at every single split point (${name})`, () => {
      const all = bytes(fixture(eol));
      expect(all.length).toBeGreaterThan(200);
      for (let cut = 0; cut <= all.length; cut += 1) {
        const out = decode([all.subarray(0, cut), all.subarray(cut)]);
        expect(out.data, `split at byte ${cut}`).toEqual(FIXTURE_PAYLOADS);
        expect(out.done).toBe(1);
        expect(out.comments).toEqual(['keep-alive', 'ping']);
      }
    });

    it(`yields the same payloads fed one byte at a time (${name})`, () => {
      const all = bytes(fixture(eol));
      const parts = Array.from({ length: all.length }, (_, i) => all.subarray(i, i + 1));
      const out = decode(parts);
      expect(out.data).toEqual(FIXTURE_PAYLOADS);
      expect(out.done).toBe(1);
    });
  }

  it('yields the same payloads at every pair of split points, including inside the emoji and between \\r and \\n', () => {
    const all = bytes(fixture('\r\n'));
    const emojiAt = Buffer.from(all).indexOf(Buffer.from('🦒'));
    const crlfAt = Buffer.from(all).indexOf(Buffer.from('\r\n'));
    expect(emojiAt).toBeGreaterThan(0);
    // Cuts inside the 4-byte emoji and between a \r and its \n are among the pairs below.
    const cuts = [emojiAt + 1, emojiAt + 2, emojiAt + 3, crlfAt + 1];
    for (let a = 0; a <= all.length; a += 1) {
      for (const b of cuts) {
        const [lo, hi] = a < b ? [a, b] : [b, a];
        const out = decode([all.subarray(0, lo), all.subarray(lo, hi), all.subarray(hi)]);
        expect(out.data, `cuts ${lo}/${hi}`).toEqual(FIXTURE_PAYLOADS);
      }
    }
  });

  it('handles mixed line endings in one stream', () => {
    const out = decode([bytes('data: a\r\n\r\ndata: b\n\ndata: c\r\rdata: [DONE]\n\n')]);
    expect(out.data).toEqual(['a', 'b', 'c']);
    expect(out.done).toBe(1);
  });

  it('reports comments without treating them as data', () => {
    const out = decode([bytes(': ping\n\n:\n\ndata: x\n\n')]);
    expect(out.comments).toEqual(['ping', '']);
    expect(out.data).toEqual(['x']);
  });

  it('stops at [DONE] and reports nothing after it', () => {
    const out = decode([bytes('data: a\n\ndata: [DONE]\n\ndata: b\n\ndata: [DONE]\n\n: late\n\n')]);
    expect(out.data).toEqual(['a']);
    expect(out.done).toBe(1);
    expect(out.comments).toEqual([]);
  });

  it('joins multi-line data and passes the event name', () => {
    const out = decode([bytes('event: error\ndata: {"a":\ndata: 1}\n\nid: 7\nretry: 10\ndata:nospace\n\n')]);
    expect(out.data).toEqual(['{"a":\n1}', 'nospace']);
    expect(out.events).toEqual(['error', undefined]);
  });

  it('dispatches a last event without its blank line only at a clean end', () => {
    expect(decode([bytes('data: a\n\ndata: [DONE]')], { end: false }).done).toBe(0);
    expect(decode([bytes('data: a\n\ndata: [DONE]')]).done).toBe(1);
    expect(decode([bytes('data: tail\r')]).data).toEqual(['tail']);
  });

  it('keeps a split multi-byte character whole and strips a leading BOM', () => {
    const all = bytes('\uFEFFdata: 🦒\n\n');
    const out = decode([all.subarray(0, 6), all.subarray(6, 8), all.subarray(8)]);
    expect(out.data).toEqual(['🦒']);
  });

  it('reports an overflow once and then nothing', () => {
    const out = decode([bytes(`data: ${'x'.repeat(100)}`), bytes('\n\ndata: y\n\n')], { maxBufferChars: 50 });
    expect(out.overflow).toBe(1);
    expect(out.data).toEqual([]);
  });
});
