// What the SSE decoder (src/upstream/sse-decoder.ts) reports at the edges of the format: a padded `[DONE]`, fields
// browsers ignore, handlers that are optional, the `finished` flag, a mangled byte-order mark, and an overflow that
// happens only when end() flushes a cut-off character, and chunks that end on a line break (decoded without the
// streaming decoder).
import { describe, expect, it } from 'vitest';
import { createSseDecoder, SSE_MAX_JOINS, type SseDecoderHandlers } from '../../src/upstream/sse-decoder.js';
import { charactersSearched } from './search-count.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

function recorder() {
  const seen = { data: [] as string[], done: 0, comments: [] as string[], overflow: 0 };
  const handlers: Required<SseDecoderHandlers> = {
    onData: (data) => void seen.data.push(data),
    onDone: () => void (seen.done += 1),
    onComment: (comment) => void seen.comments.push(comment),
    onOverflow: () => void (seen.overflow += 1),
  };
  return { seen, handlers };
}

describe('sse decoder edges', () => {
  it('ends the stream at a [DONE] padded with spaces', () => {
    const { seen, handlers } = recorder();
    const decoder = createSseDecoder(handlers);
    decoder.push(bytes('data: a\r\n\r\ndata:  [DONE] \r\n\r\ndata: b\r\n\r\n'));
    decoder.end();
    expect(seen).toEqual({ data: ['a'], done: 1, comments: [], overflow: 0 });
  });

  it('ignores unknown fields and a bad retry value, as browsers do, and keeps decoding', () => {
    const { seen, handlers } = recorder();
    const decoder = createSseDecoder(handlers);
    decoder.push(bytes('foo: bar\nretry: soon\ndata: a\n\nx-request-id: 7\n\ndata: b\n\n'));
    decoder.end();
    expect(seen).toEqual({ data: ['a', 'b'], done: 0, comments: [], overflow: 0 });
    expect(decoder.finished).toBe(false);
  });

  it('decodes whole-event chunks (the fast path) the same as cut ones, from Buffers and plain Uint8Arrays', () => {
    const events = ['data: héllo 👋\n\n', 'data: a\r\n\r\n', 'data: 日本\r\r', 'data: b\n\n'];
    const whole = recorder();
    const decoder = createSseDecoder(whole.handlers);
    events.forEach((event, i) => decoder.push(i % 2 === 0 ? Buffer.from(event) : bytes(event)));
    decoder.end();
    // The same stream cut inside the emoji, then up to a line end, then whole again: the cut's state is kept until
    // a line ends, and the last piece is decoded on the short path after it.
    const cut = recorder();
    const again = createSseDecoder(cut.handlers);
    const all = Buffer.from(events.join(''));
    const inEmoji = Buffer.from('data: héllo ').length + 2;
    const lastEvent = all.length - Buffer.byteLength(events.at(-1)!);
    for (const piece of [all.subarray(0, inEmoji), all.subarray(inEmoji, lastEvent), all.subarray(lastEvent)])
      again.push(piece);
    again.end();
    const expected = ['héllo 👋', 'a', '日本', 'b'];
    expect(whole.seen.data).toEqual(expected);
    expect(cut.seen.data).toEqual(expected);
  });

  it('says finished only once [DONE] was seen', () => {
    const { handlers } = recorder();
    const decoder = createSseDecoder(handlers);
    expect(decoder.finished).toBe(false);
    decoder.push(bytes('data: a\n\n'));
    expect(decoder.finished).toBe(false);
    decoder.push(bytes('data: [DONE]\n\n'));
    expect(decoder.finished).toBe(true);
  });

  it('needs no onComment or onOverflow handler: comments are skipped and an overflow just finishes', () => {
    const data: string[] = [];
    const decoder = createSseDecoder({ onData: (d) => void data.push(d), onDone: () => {} }, 32);
    decoder.push(bytes(': keep-alive\n\ndata: a\n\n'));
    expect(data).toEqual(['a']);
    decoder.push(bytes(`data: ${'x'.repeat(64)}`));
    expect(decoder.finished).toBe(true);
    decoder.push(bytes('\n\ndata: b\n\n'));
    decoder.end();
    expect(data).toEqual(['a']);
  });

  it('skips a byte-order mark a proxy re-encoded as UTF-8 (ï»¿), even when its first byte arrives alone', () => {
    const { seen, handlers } = recorder();
    const decoder = createSseDecoder(handlers);
    const all = bytes('\u00ef\u00bb\u00bfdata: x\n\n');
    decoder.push(all.subarray(0, 1)); // half of "ï": the UTF-8 decoder yields nothing yet
    decoder.push(all.subarray(1));
    decoder.end();
    expect(seen.data).toEqual(['x']);
  });

  it('reads bodies of bare CRs or LFs, each an empty line, in one pass: no search per line scans to the end', () => {
    // A search for the other kind of line break from every line start would look at about n² / 2 characters.
    const { seen, handlers } = recorder();
    const decoder = createSseDecoder(handlers);
    const n = 20_000;
    const looked = charactersSearched(() => {
      decoder.push(Buffer.from(`${'\r'.repeat(n)}data: a\n\n`));
      decoder.push(Buffer.from(`${'\n'.repeat(n)}data: b\r\r`));
      decoder.end();
    });
    expect(seen).toEqual({ data: ['a', 'b'], done: 0, comments: [], overflow: 0 });
    expect(looked).toBeLessThan(8 * n);
  });

  it('reports an overflow that only the flush of a cut-off character at end() causes, once, without throwing', () => {
    const { seen, handlers } = recorder();
    const decoder = createSseDecoder(handlers, 10);
    decoder.push(bytes('data: abcd')); // 10 characters: at the limit, not over it
    decoder.push(new Uint8Array([0xf0, 0x9f])); // the first half of an emoji: held by the UTF-8 decoder
    expect(seen.overflow).toBe(0);
    expect(() => decoder.end()).not.toThrow(); // the flush yields U+FFFD: 11 characters
    expect(seen).toEqual({ data: [], done: 0, comments: [], overflow: 1 });
    expect(decoder.finished).toBe(true);
    expect(() => decoder.end()).not.toThrow();
    expect(seen.overflow).toBe(1);
  });

  it('ends a stream whose event has more data lines than SSE_MAX_JOINS, though its characters are few', () => {
    // Empty `data` lines are joined one string node each: a million of them would hold ~32 MB in one body.
    const { seen, handlers } = recorder();
    const atLimit = createSseDecoder(handlers);
    atLimit.push(Buffer.from(`${'data\n'.repeat(SSE_MAX_JOINS)}\n`));
    expect(seen).toEqual({ data: ['\n'.repeat(SSE_MAX_JOINS - 1)], done: 0, comments: [], overflow: 0 });

    const over = recorder();
    const decoder = createSseDecoder(over.handlers);
    // One chunk carries them all: the limit holds within the chunk, and nothing after the overflow is read.
    decoder.push(Buffer.from(`${'data\n'.repeat(SSE_MAX_JOINS + 1)}\ndata: late\n\n`));
    decoder.end();
    expect(over.seen).toEqual({ data: [], done: 0, comments: [], overflow: 1 });
    expect(decoder.finished).toBe(true);
  });

  it('ends a stream whose unterminated line comes in more pieces than SSE_MAX_JOINS, though its characters are few', () => {
    // A line sent a byte at a time is joined one string node per push: ~30 bytes held per character counted.
    const { seen, handlers } = recorder();
    const decoder = createSseDecoder(handlers);
    decoder.push(bytes('data: '));
    for (let i = 1; i < SSE_MAX_JOINS; i += 1) decoder.push(bytes('x')); // SSE_MAX_JOINS pieces with the first
    expect(seen.overflow).toBe(0);
    decoder.push(bytes('x'));
    expect(seen).toEqual({ data: [], done: 0, comments: [], overflow: 1 });

    // A line break starts the count again: whole lines in many pieces are a normal stream.
    const whole = recorder();
    const again = createSseDecoder(whole.handlers);
    for (let round = 0; round < 3; round += 1) {
      again.push(bytes('data: '));
      for (let i = 1; i < SSE_MAX_JOINS; i += 1) again.push(bytes('y'));
      again.push(bytes('\n\n'));
    }
    expect(whole.seen.data).toEqual(Array(3).fill('y'.repeat(SSE_MAX_JOINS - 1)));
    expect(whole.seen.overflow).toBe(0);
  });

  it('ends a line at a CR that ends a chunk, at once, and drops the LF of a CRLF split there', () => {
    const { seen, handlers } = recorder();
    const decoder = createSseDecoder(handlers);
    // Bare CR line endings: each event goes out in its own push, not one chunk later.
    decoder.push(bytes('data: a\r\r'));
    expect(seen.data).toEqual(['a']);
    decoder.push(bytes('data: b\r'));
    decoder.push(bytes('\ndata: c\r\n')); // the LF of "b"'s CRLF: not a blank line, so b and c are one event
    decoder.push(bytes('\r\n'));
    expect(seen.data).toEqual(['a', 'b\nc']);
    decoder.push(bytes('data: [DONE]\r\r'));
    expect(seen.done).toBe(1);
    expect(decoder.finished).toBe(true);
  });
});
