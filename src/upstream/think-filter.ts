// Splits reasoning that an OpenAI-compatible server writes into `content` between `<think>`/`<thinking>` tags
// (any case; llama.cpp, vLLM, Ollama, DeepSeek-R1 style) out of the reply, token by token: tagged text becomes
// `reasoning` events, so it is never spoken nor kept in history. Tags split across chunks are held back meanwhile.
import type { ChatEvent } from './types.js';

const OPEN_TAGS = ['<think>', '<thinking>'] as const;
const CLOSE_TAGS = ['</think>', '</thinking>'] as const;

/** tagAt(): no tag starts here. */
const NONE = 0;
/** tagAt(): the text ends inside what may still become a tag. */
const PARTIAL = -1;

/** ASCII whitespace (space, \t, \n, \v, \f, \r). */
const isSpace = (code: number): boolean => code === 32 || (code >= 9 && code <= 13);

/**
 * The length of the tag of `tags` that starts at `at` (where `text` has a '<'), compared ASCII
 * case-insensitively; PARTIAL when `text` ends before a tag could be told apart; NONE otherwise.
 */
function tagAt(text: string, at: number, tags: readonly string[]): number {
  let partial = false;
  for (const tag of tags) {
    let k = 1;
    for (; k < tag.length && at + k < text.length; k += 1) {
      let code = text.charCodeAt(at + k);
      if (code >= 65 && code <= 90) code += 32;
      if (code !== tag.charCodeAt(k)) break;
    }
    if (k === tag.length) return tag.length;
    if (at + k === text.length) partial = true;
  }
  return partial ? PARTIAL : NONE;
}

/**
 * One filter per streamed `content` (one upstream attempt). Every character of the content ends up in exactly
 * one event, in order: a `text` event's `text`, or a `reasoning` event's `raw` (the tags, the reasoning between
 * them, and the whitespace dropped after a closing tag; `text` is the reasoning alone). So the `text` events
 * joined are the reply, and `text`s and `raw`s joined in order are the content exactly as sent.
 *
 * - A possible tag at the end of a piece is held back (at most the longest tag less one character) until the
 *   next piece shows whether it is one; at the end of the content it is flushed as what surrounds it.
 * - A block with no closing tag is reasoning to the end of the content. Blocks do not nest: inside one, only a
 *   closing tag counts, and a closing tag outside any block is plain text.
 * - Whitespace right after a closing tag (models send `</think>\n\n`) is dropped, even across pieces.
 */
export class ThinkFilter {
  private inside = false;
  /** Right after a closing tag: whitespace is dropped until the first other character. */
  private trimming = false;
  /** A possible tag cut off at the end of the last piece. */
  private held = '';
  /** Reasoning collected in this piece and not yet emitted: its text, and its content as sent. */
  private reasoning = '';
  private raw = '';

  /** Appends the events of one piece of content to `out`. */
  push(piece: string, out: ChatEvent[]): void {
    if (piece === '') return;
    // The common case: no tag can start or end in this piece.
    if (this.held === '' && !this.trimming && piece.indexOf('<') === -1) {
      out.push(this.inside ? { type: 'reasoning', text: piece, raw: piece } : { type: 'text', text: piece });
      return;
    }
    this.scan(this.held === '' ? piece : this.held + piece, out);
  }

  /** At the end of the content: a held-back partial tag is flushed as text, or as reasoning inside a block. */
  end(out: ChatEvent[]): void {
    const held = this.held;
    if (held === '') return;
    this.held = '';
    out.push(this.inside ? { type: 'reasoning', text: held, raw: held } : { type: 'text', text: held });
  }

  private scan(text: string, out: ChatEvent[]): void {
    this.held = '';
    let start = 0; // the first character not yet emitted
    let from = 0; // where to look for the next '<'
    for (;;) {
      if (this.trimming) {
        let end = start;
        while (end < text.length && isSpace(text.charCodeAt(end))) end += 1;
        this.raw += text.slice(start, end);
        start = from = end;
        if (end === text.length) break;
        this.trimming = false;
      }
      const lt = text.indexOf('<', from);
      if (lt === -1) {
        this.run(text.slice(start), out);
        break;
      }
      const tag = tagAt(text, lt, this.inside ? CLOSE_TAGS : OPEN_TAGS);
      if (tag === NONE) {
        from = lt + 1;
        continue;
      }
      this.run(text.slice(start, lt), out);
      if (tag === PARTIAL) {
        this.held = text.slice(lt);
        break;
      }
      this.raw += text.slice(lt, lt + tag);
      this.trimming = this.inside;
      this.inside = !this.inside;
      start = from = lt + tag;
    }
    this.flushReasoning(out);
  }

  /** A stretch of content with no tag in it: reasoning inside a block, reply text outside. */
  private run(part: string, out: ChatEvent[]): void {
    if (part === '') return;
    if (this.inside) {
      this.reasoning += part;
      this.raw += part;
      return;
    }
    this.flushReasoning(out);
    out.push({ type: 'text', text: part });
  }

  private flushReasoning(out: ChatEvent[]): void {
    if (this.raw === '') return;
    out.push({ type: 'reasoning', text: this.reasoning, raw: this.raw });
    this.reasoning = '';
    this.raw = '';
  }
}

/** `text` with its think blocks removed, as the streaming filter would remove them (for text read whole). */
export function stripThinkTags(text: string): string {
  if (text.indexOf('<') === -1) return text;
  const filter = new ThinkFilter();
  const events: ChatEvent[] = [];
  filter.push(text, events);
  filter.end(events);
  let out = '';
  for (const event of events) if (event.type === 'text') out += event.text;
  return out;
}
