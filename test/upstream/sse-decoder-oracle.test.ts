// The hand-written SSE decoder (src/upstream/sse-decoder.ts) against the library it replaced: eventsource-parser,
// wrapped exactly as the gateway used it (the oracle below), on random streams of fields, comments, line endings,
// byte-order marks and multi-byte characters, cut into pieces at random bytes, with small buffer limits. Both must
// report the same calls in the same order and say `finished` at the same moments.
import { createParser } from 'eventsource-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSseDecoder, type SseDecoder, type SseDecoderHandlers } from '../../src/upstream/sse-decoder.js';

/**
 * The decoder as it was before (eventsource-parser 3 with the gateway's UTF-8 handling and [DONE] rule), but for one
 * thing: a CR at the end of a chunk ends its line at once. eventsource-parser holds it until the next chunk shows
 * whether an LF follows; the gateway's decoder does not wait. Feeding the parser that CR as a CRLF, and dropping an
 * LF that then starts the next chunk (the split CRLF's), is exactly that rule.
 */
function oracleDecoder(handlers: SseDecoderHandlers, maxBufferChars = 1024 * 1024): SseDecoder {
  const text = new TextDecoder('utf-8');
  let finished = false;
  let atLineEnd = false;
  let skipLf = false;
  const parser = createParser({
    maxBufferSize: maxBufferChars,
    onEvent(message) {
      if (finished) return;
      if (message.data.trim() === '[DONE]') {
        finished = true;
        handlers.onDone();
        return;
      }
      handlers.onData(message.data, message.event);
    },
    onComment(comment) {
      if (!finished) handlers.onComment?.(comment);
    },
    onError(error) {
      if (error.type === 'max-buffer-size-exceeded' && !finished) {
        finished = true;
        handlers.onOverflow?.();
      }
    },
  });
  const feed = (chunk: string): void => {
    if (finished || chunk === '') return;
    let piece = chunk;
    if (skipLf) {
      skipLf = false;
      if (piece.startsWith('\n')) piece = piece.slice(1);
      if (piece === '') return;
    }
    if (piece.endsWith('\r')) {
      piece += '\n';
      skipLf = true;
    }
    parser.feed(piece);
  };
  return {
    push(bytes) {
      if (finished) return;
      const endsLine = bytes.length > 0 && (bytes.at(-1) === 0x0a || bytes.at(-1) === 0x0d);
      if (atLineEnd && endsLine) feed(Buffer.from(bytes).toString('utf8'));
      else feed(text.decode(bytes, { stream: true }));
      atLineEnd = endsLine || (atLineEnd && bytes.length === 0);
    },
    end() {
      if (finished) return;
      feed(text.decode());
      feed('\n\n');
    },
    get finished() {
      return finished;
    },
  };
}

type Call = [string, ...unknown[]];

/** Every handler call, and `finished` after every push and after end(). */
function run(make: typeof createSseDecoder, pieces: readonly Uint8Array[], max: number, end: boolean): Call[] {
  const calls: Call[] = [];
  const decoder = make(
    {
      onData: (data, event) => void calls.push(['data', data, event]),
      onDone: () => void calls.push(['done']),
      onComment: (comment) => void calls.push(['comment', comment]),
      onOverflow: () => void calls.push(['overflow']),
    },
    max,
  );
  for (const piece of pieces) {
    decoder.push(piece);
    calls.push(['finished', decoder.finished]);
  }
  if (end) decoder.end();
  calls.push(['finished', decoder.finished]);
  return calls;
}

const TOKENS = [
  'data:',
  'data: ',
  'data',
  'event: ',
  'event:',
  'event',
  ':',
  ': ping',
  'id: 7',
  'retry: 10',
  'retry: soon',
  'x-other: 1',
  'foo',
  '[DONE]',
  ' [DONE] ',
  'a',
  ' ',
  '{"choices":[{"delta":{"content":"hi"}}]}',
  '🦒',
  'é',
  '日本',
  '\uFEFF',
  '\u00ef\u00bb\u00bf',
  '\n',
  '\r',
  '\r\n',
  '\n\n',
  '\r\r',
  '\r\n\r\n',
];

const stream = fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map((tokens) => tokens.join(''));
/** Raw bytes among the text: invalid UTF-8, lone continuation bytes, a sequence cut short. */
const withRawBytes = fc
  .array(
    fc.oneof(
      stream.map((text) => Buffer.from(text)),
      fc.uint8Array({ maxLength: 6 }).map((b) => Buffer.from(b)),
    ),
    {
      maxLength: 6,
    },
  )
  .map((parts) => Buffer.concat(parts));

/** The bytes of `text` cut at the given byte offsets (sorted, clamped), inside multi-byte characters too. */
function cutInto(text: string | Buffer, cuts: readonly number[]): Uint8Array[] {
  const bytes = Buffer.from(text);
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const to of [...at, bytes.length]) {
    // Half the pieces as plain Uint8Arrays, as a transport other than undici might hand them over.
    const piece = bytes.subarray(from, to);
    pieces.push(pieces.length % 2 === 0 ? piece : new Uint8Array(piece));
    from = to;
  }
  return pieces;
}

describe('sse decoder against eventsource-parser', () => {
  it('reports the same calls and the same finished state on random streams cut at random bytes', () => {
    fc.assert(
      fc.property(
        stream,
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.constantFrom(4, 12, 40, 1024 * 1024),
        fc.boolean(),
        (text, cuts, max, end) => {
          const pieces = cutInto(text, cuts);
          expect(run(createSseDecoder, pieces, max, end)).toEqual(run(oracleDecoder, pieces, max, end));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('agrees on streams with invalid UTF-8 among the text, cut at random bytes', () => {
    fc.assert(
      fc.property(withRawBytes, fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(), (bytes, cuts, end) => {
        const pieces = cutInto(bytes, cuts);
        expect(run(createSseDecoder, pieces, 64, end)).toEqual(run(oracleDecoder, pieces, 64, end));
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps a U+FEFF that a decoder made mid-stream sees first: only the first of the stream is a mark', () => {
    // Whole lines first (read without the streaming decoder), then a piece cut inside the second U+FEFF.
    const bytes = Buffer.from('data: a\n\n\uFEFFdata: b\n\ndata: c\n\n');
    const at = bytes.indexOf(Buffer.from('\uFEFF'));
    const pieces = [bytes.subarray(0, at), bytes.subarray(at, at + 1), bytes.subarray(at + 1)];
    const calls = run(createSseDecoder, pieces, 1024, true);
    expect(calls.filter(([kind]) => kind === 'data')).toEqual([
      ['data', 'a', undefined],
      ['data', 'c', undefined],
    ]);
    expect(calls).toEqual(run(oracleDecoder, pieces, 1024, true));
  });

  it('drops only the first byte-order mark, whether the stream comes whole or a byte at a time', () => {
    // A second U+FEFF is text: it makes "\uFEFFdata" an unknown field, so only "a" is data.
    const bytes = Buffer.from('\uFEFFdata: a\r\n\r\n\uFEFFdata: b\n\n');
    const byByte = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
    for (const pieces of [[bytes], byByte, [bytes.subarray(0, 2), bytes.subarray(2)]]) {
      const calls = run(createSseDecoder, pieces, 1024, true);
      expect(calls.filter(([kind]) => kind === 'data')).toEqual([['data', 'a', undefined]]);
      expect(calls).toEqual(run(oracleDecoder, pieces, 1024, true));
    }
  });
});

/** Examples from the WHATWG HTML standard's event-stream section, checked on their own (not against the oracle). */
describe('sse decoder on the examples of the standard', () => {
  const dataOf = (text: string): string[] => {
    const data: string[] = [];
    const decoder = createSseDecoder({ onData: (d) => void data.push(d), onDone: () => {} });
    decoder.push(Buffer.from(text));
    return data;
  };

  it('joins data lines with a line feed', () => {
    expect(dataOf('data: YHOO\ndata: +2\ndata: 10\n\n')).toEqual(['YHOO\n+2\n10']);
  });

  it('skips comments, ignores id lines, and removes one space after the colon only', () => {
    const text = ': test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n';
    expect(dataOf(text)).toEqual(['first event', 'second event', ' third event']);
  });

  it('reads a bare "data" as an empty line of data, and keeps an unfinished event back', () => {
    expect(dataOf('data\n\ndata\ndata\n\ndata:')).toEqual(['', '\n']);
  });

  it('reads "data:test" and "data: test" alike', () => {
    expect(dataOf('data:test\n\ndata: test\n\n')).toEqual(['test', 'test']);
  });
});
