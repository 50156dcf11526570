// Bytes → SSE `data` payloads for the upstream chat stream. Owns UTF-8 decoding across chunk splits, line
// endings (LF, CRLF, CR, and a \r\n split between chunks), comments and the `[DONE]` sentinel. It does not
// parse JSON; chunk-reader.ts does.
import { createParser, type EventSourceParser } from 'eventsource-parser';

/** Largest partial line or event the decoder buffers, in characters: a cap on a hostile or broken stream. */
export const SSE_MAX_BUFFER_CHARS = 1024 * 1024;

export interface SseDecoderHandlers {
  /** One complete event's `data` (multi-line data joined with `\n`), and its `event:` name if any. */
  onData(data: string, event: string | undefined): void;
  /** `data: [DONE]` was seen (OpenAI/ASI end-of-stream sentinel). Nothing is reported after it. */
  onDone(): void;
  /** A `:` comment line (keep-alive ping). Liveness is already visible as bytes, so this is optional. */
  onComment?(comment: string): void;
  /** The stream broke a limit (an unterminated line over SSE_MAX_BUFFER_CHARS). Nothing is reported after it. */
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
  // `stream: true` keeps a partial multi-byte sequence (e.g. half of a 4-byte emoji) for the next chunk.
  const text = new TextDecoder('utf-8');
  let finished = false;
  /** The stream so far ends on a line break, so `text` holds no partial character (and the BOM is behind). */
  let atLineEnd = false;

  const parser: EventSourceParser = createParser({
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
      // Unknown fields and bad `retry:` values are ignored, as browsers do; only overflow is fatal.
      if (error.type === 'max-buffer-size-exceeded' && !finished) {
        finished = true;
        handlers.onOverflow?.();
      }
    },
  });

  const feed = (chunk: string): void => {
    if (finished || chunk === '') return;
    parser.feed(chunk);
  };

  return {
    push(bytes) {
      if (finished) return;
      // Upstreams write whole events, so a chunk nearly always ends on a line break: no character can be cut
      // there (CR and LF never occur inside a multi-byte sequence), and Buffer's decoder does it several times
      // faster than a streaming TextDecoder. The first chunk, which may carry a BOM, and any chunk after a cut
      // go through `text`, which keeps the state.
      const endsLine = bytes.length > 0 && isLineBreak(bytes[bytes.length - 1] as number);
      if (atLineEnd && endsLine) feed(asBuffer(bytes).toString('utf8'));
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

const isLineBreak = (byte: number): boolean => byte === 0x0a || byte === 0x0d;

/** The same bytes as a Buffer, without a copy. */
const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
