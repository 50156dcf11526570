// Bytes → SSE `data` payloads for the upstream chat stream. Owns UTF-8 decoding across chunk splits, line
// endings (LF, CRLF, CR, and a \r\n split between chunks), comments and the `[DONE]` sentinel. It does not
// parse JSON; chunk-reader.ts does.
//
// Written here rather than with eventsource-parser, which it replaced: the same parse with all its state in one
// object, and no closure, fragment array or message object per event, cost about 2 % less of the gateway's CPU per
// delta at 1,000 sessions (docs/benchmarks/analysis.md, the ninth pass). A property test holds it to
// eventsource-parser's output on random streams cut at random points (test/upstream/sse-decoder-oracle.test.ts),
// but for one rule: a CR that ends a chunk ends its line at once, where eventsource-parser waits for the next chunk.

import { TextDecoder } from 'node:util';

/** Largest partial line or event the decoder buffers, in characters: a cap on a hostile or broken stream. */
export const SSE_MAX_BUFFER_CHARS = 1024 * 1024;
/**
 * Most `data:` lines in one event, and most pieces (what one push brings) of one unterminated line. Each line or
 * piece is joined on as a string node of its own (about 32 bytes), so a stream of empty `data` lines, or a line sent
 * a byte at a time, would hold some 30 bytes per character the character cap counts: about 32 MB in one body. Only a
 * line longer than 4,096 characters can come in more pieces than that (a 1 MiB one in pieces averaging under 256
 * characters); a chat stream sends one short data line per event. A limit rather than flattening the joined text
 * every so often: JavaScript cannot flatten a string without relying on the engine's internals or copying it again.
 */
export const SSE_MAX_JOINS = 4096;

export interface SseDecoderHandlers {
  /** One complete event's `data` (multi-line data joined with `\n`), and its `event:` name if any. */
  onData(data: string, event: string | undefined): void;
  /** `data: [DONE]` was seen (OpenAI/ASI end-of-stream sentinel). Nothing is reported after it. */
  onDone(): void;
  /** A `:` comment line (keep-alive ping). Liveness is already visible as bytes, so this is optional. */
  onComment?(comment: string): void;
  /**
   * The stream broke a limit: an unterminated line and the data of an event not yet complete came to more than
   * SSE_MAX_BUFFER_CHARS, or an event had more than SSE_MAX_JOINS data lines, or an unterminated line came in more
   * than SSE_MAX_JOINS pieces. Nothing is reported after it.
   */
  onOverflow?(): void;
}

export interface SseDecoder {
  /** Feeds raw body bytes as they arrive; handlers run synchronously inside this call. */
  push(bytes: Uint8Array): void;
  /**
   * Call on a clean end of the body. Flushes the UTF-8 decoder and, leniently, dispatches a last event
   * that lacked its terminating blank line (the SSE spec would discard it; servers that end with
   * `data: [DONE]` and no blank line exist).
   */
  end(): void;
  /** True once `[DONE]` was seen or the decoder overflowed. */
  readonly finished: boolean;
}

/** Creates a streaming decoder; each instance serves exactly one response body. */
export function createSseDecoder(handlers: SseDecoderHandlers, maxBufferChars = SSE_MAX_BUFFER_CHARS): SseDecoder {
  return new SseLineDecoder(handlers, maxBufferChars);
}

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const COLON = 0x3a;
/** A byte-order mark that a proxy decoded as Latin-1 and re-encoded as UTF-8. */
const MANGLED_BOM = '\u00ef\u00bb\u00bf';

/** The WHATWG event-stream format, less what a chat stream has no use for (`id`, `retry`). */
class SseLineDecoder implements SseDecoder {
  /** `stream: true` keeps a partial multi-byte sequence (half of a 4-byte emoji) for the next chunk. */
  private utf8: TextDecoder | undefined;
  /** The bytes so far end on a line break, or nothing came yet: no character is cut there. */
  private atLineEnd = true;
  private decodedAny = false;
  private fedAny = false;
  /** The unterminated line at the end of what was fed. */
  private pending = '';
  /** What was fed ended on a CR, which ended its line at once: an LF that comes next is that CRLF's, not a line. */
  private skipLf = false;
  /** The pieces `pending` was joined from since it was last cut from a whole text (see SSE_MAX_JOINS). */
  private pendingPieces = 0;
  private data = '';
  private dataLines = 0;
  private eventName: string | undefined = undefined;
  private done = false;

  constructor(
    private readonly handlers: SseDecoderHandlers,
    private readonly maxBufferChars: number,
  ) {}

  get finished(): boolean {
    return this.done;
  }

  push(bytes: Uint8Array): void {
    if (this.done || bytes.length === 0) return;
    // Upstreams write whole events, so a chunk nearly always ends on a line break: no character can be cut
    // there (CR and LF never occur inside a multi-byte sequence), and Buffer's decoder does it several times
    // faster than a streaming TextDecoder. A chunk after a cut goes through the TextDecoder, which keeps the state.
    const endsLine = isLineBreak(bytes[bytes.length - 1] as number);
    let text: string;
    if (this.atLineEnd && endsLine) {
      text = asBuffer(bytes).toString('utf8');
      // The TextDecoder drops a byte-order mark at the start of a stream; Buffer's decoder does not.
      if (!this.decodedAny && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    } else {
      // Made when first needed, with bytes to decode. Made mid-stream, it must keep a U+FEFF: only the stream's
      // first one is a mark.
      this.utf8 ??= new TextDecoder('utf-8', { ignoreBOM: this.decodedAny });
      text = this.utf8.decode(bytes, { stream: true });
    }
    this.decodedAny = true;
    this.atLineEnd = endsLine;
    this.feed(text);
  }

  end(): void {
    if (this.done) return;
    if (this.utf8 !== undefined) this.feed(this.utf8.decode());
    this.feed('\n\n');
  }

  private feed(chunk: string): void {
    if (this.done || chunk === '') return;
    let text = chunk;
    if (!this.fedAny) {
      this.fedAny = true;
      if (text.startsWith(MANGLED_BOM)) text = text.slice(MANGLED_BOM.length);
    }
    if (this.skipLf) {
      this.skipLf = false;
      if (text.charCodeAt(0) === LF) text = text.slice(1);
      if (text === '') return;
    }
    if (this.pending !== '' && text.indexOf('\n') === -1 && text.indexOf('\r') === -1) {
      // Text with no line break only grows the pending line.
      this.pending += text;
      this.pendingPieces += 1;
    } else {
      this.pending = this.lines(this.pending === '' ? text : this.pending + text);
      this.pendingPieces = this.pending === '' ? 0 : 1;
    }
    if (this.done)
      this.pending = ''; // after [DONE] or an overflow nothing more is read: let go of what followed it
    else if (this.pending.length + this.data.length > this.maxBufferChars || this.pendingPieces > SSE_MAX_JOINS)
      this.overflow();
  }

  private overflow(): void {
    this.done = true;
    this.pending = '';
    this.data = '';
    this.handlers.onOverflow?.();
  }

  /**
   * Handles every complete line of `text`; returns the unterminated rest. Each kind of line break is searched for
   * again only once the line start has passed the last one found, and never after a search found none: a stream of
   * bare CRs (or LFs) costs a scan of the text, not one per line.
   */
  private lines(text: string): string {
    const n = text.length;
    let start = 0;
    let cr = text.indexOf('\r');
    let lf = text.indexOf('\n');
    while (start < n && !this.done) {
      if (cr !== -1 && cr < start) cr = text.indexOf('\r', start);
      if (lf !== -1 && lf < start) lf = text.indexOf('\n', start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        end = cr;
        next = text.charCodeAt(cr + 1) === LF ? cr + 2 : cr + 1;
        // A CR at the very end ends its line now, not when the next chunk shows whether an LF follows: with bare
        // CR line endings every event would wait a chunk (a whole token). The LF of a split CRLF is dropped then.
        if (cr === n - 1) this.skipLf = true;
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else break;
      this.line(text, start, end);
      start = next;
    }
    return start === 0 ? text : text.slice(start);
  }

  private line(text: string, start: number, end: number): void {
    if (start === end) return this.dispatch();
    if (text.charCodeAt(start) === COLON) {
      const from = start + (text.charCodeAt(start + 1) === SPACE ? 2 : 1);
      this.handlers.onComment?.(text.slice(Math.min(from, end), end));
      return;
    }
    // Field names are short; a loop bounded by the line keeps a hostile line without a colon linear.
    let colon = start;
    while (colon < end && text.charCodeAt(colon) !== COLON) colon += 1;
    let valueStart = colon + 1;
    if (valueStart < end && text.charCodeAt(valueStart) === SPACE) valueStart += 1;
    const value = colon === end ? '' : text.slice(valueStart, end);
    const nameLength = colon - start;
    if (nameLength === 4 && text.startsWith('data', start)) {
      this.data = this.dataLines === 0 ? value : `${this.data}\n${value}`;
      // Checked here, not once per chunk: a single large chunk could bring many thousands of lines.
      if (++this.dataLines > SSE_MAX_JOINS) this.overflow();
    } else if (nameLength === 5 && text.startsWith('event', start)) this.eventName = value === '' ? undefined : value;
    // `id` and `retry` mean nothing to one chat stream; unknown fields are ignored, as browsers do.
  }

  /** A blank line: the event so far, if it had data, goes out. */
  private dispatch(): void {
    const { data, dataLines, eventName } = this;
    this.data = '';
    this.dataLines = 0;
    this.eventName = undefined;
    if (dataLines === 0) return;
    if (data.trim() === '[DONE]') {
      this.done = true;
      this.handlers.onDone();
      return;
    }
    this.handlers.onData(data, eventName);
  }
}

const isLineBreak = (byte: number): boolean => byte === LF || byte === CR;

/** The same bytes as a Buffer, without a copy. */
const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
