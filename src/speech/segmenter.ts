// Streaming speech segmenter: turns reply deltas into speakable segments (fast first one, then sentences),
// with display ranges for barge-in truncation. Boundary detection is in boundaries.ts, wording in normalise.ts.
import { IdleTimer } from '../idle-timer.js';
import { BoundaryScanner, isSpaceCode, type ScanMode } from './boundaries.js';
import { normaliseForSpeech } from './normalise.js';
import { countWords, type Cut, type SpeechSegment } from './segment.js';
import { resolveSegmenterOptions, type ResolvedSegmenterOptions, type SegmenterOptions } from './segmenter-options.js';

export type { SegmenterOptions } from './segmenter-options.js';
export type { SpeechSegment } from './segment.js';

const BLANK = /^\s*$/;
const BLANK_OR_EMOJI = /^(?:\s|\p{Extended_Pictographic}|\p{Emoji_Modifier}|\p{Regional_Indicator}|\u200d|\ufe0f)*$/u;
/** A real reply's pending text is a sentence or two; a code block this long is not read aloud anyway. */
const MAX_PENDING_CHARS = 32_768;
const MAX_SLICE_CHARS = 4_096;

/**
 * Cuts a streamed reply into utterances for speechSynthesis. The first segment is emitted as early as it
 * can sound natural; later ones are whole sentences, merged when short and split when too long. A dot at
 * the end of the buffer waits for the next character ("3." → "3.14"), except at idle flush and finish().
 * Nothing is emitted from inside an open ``` block. Work per push is proportional to the new text plus
 * the unspoken tail, never the whole reply: the tail is capped (MAX_PENDING_CHARS), and so is a wait at the end of
 * the text (boundaries.ts). Timers use setTimeout and performance.now (fake-timer friendly).
 */
export class SpeechSegmenter {
  private readonly options: ResolvedSegmenterOptions;
  private readonly scanner = new BoundaryScanner();
  private readonly emitted: SpeechSegment[] = [];
  private chunks: string[] = [];
  private closed = false; // finish() or cancel() was called: no more input
  private silenced = false; // cancel() was called: no more output
  private firstDone = false;
  private deadlinePassed = false;
  private firstTimer: ReturnType<typeof setTimeout> | undefined;
  private checkedBounds = 0; // pending boundaries already rejected by the boundary rules
  private fitsUpTo = -1; // a word end whose prefix is known to fit in splitOverChars
  private wordlessBelow = 0; // no word ends before this absolute offset (the pending text only grows)
  /**
   * The pending text before this absolute offset, up to a line break, speaks as nothing (blank lines, emoji-only
   * lines): the cuts read the speech after it only (markSilent). Normalised again at every later boundary, 10,000
   * blank lines took 6 s in one push. It stays in the next segment's display range, as before.
   */
  private silentTo = 0;
  private readChars = 0;
  /** Flushes what waits after idleFlushMs without a push (IdleTimer: a touch per push, no timer call). */
  private readonly idleTimer: IdleTimer;

  constructor(
    private readonly onSegment: (segment: SpeechSegment) => void,
    options: SegmenterOptions = {},
  ) {
    this.options = resolveSegmenterOptions(options);
    this.idleTimer = new IdleTimer(this.options.idleFlushMs, () => this.onIdle());
  }

  /** Characters the cut rules have read so far, for tests of how the work grows with hostile text. */
  get charsRead(): number {
    return this.readChars;
  }

  get segments(): readonly SpeechSegment[] {
    return this.emitted;
  }

  get displayText(): string {
    if (this.chunks.length > 1) this.chunks = [this.chunks.join('')];
    return this.chunks[0] ?? '';
  }

  /** Appends display text; may emit segments synchronously. Ignored after finish() or cancel(). */
  push(delta: string): void {
    if (this.closed || delta.length === 0) return;
    // A huge delta goes in slices, so that the pending-text cap below holds within it too.
    if (delta.length > MAX_SLICE_CHARS) {
      for (let i = 0; i < delta.length && !this.closed; i += MAX_SLICE_CHARS)
        this.push(delta.slice(i, i + MAX_SLICE_CHARS));
      return;
    }
    this.chunks.push(delta);
    this.scanner.append(delta);
    this.scanner.scan('stream');
    if (!this.firstDone && this.firstTimer === undefined && !this.deadlinePassed && /\S/.test(delta)) {
      this.firstTimer = setTimeout(() => this.onFirstDeadline(), this.options.firstMaxWaitMs);
    }
    this.drain('stream');
    if (this.closed) return; // a listener may have cancelled
    // Pending text no rule could cut for this long (an endless code block, a run with no word end) ends the reply's
    // speech here: kept, it would be copied whole by every later push (V8 flattens the appended string to read it).
    if (this.scanner.text.length > MAX_PENDING_CHARS) return this.finish();
    this.idleTimer.touch();
  }

  /** Flushes everything left (the end of the text decides every pending boundary). Idempotent. */
  finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimers();
    this.scanner.scan('final');
    this.drain('final');
  }

  /** Stops for good: clears timers and never emits again. Idempotent. */
  cancel(): void {
    this.closed = true;
    this.silenced = true;
    this.clearTimers();
  }

  private clearTimers(): void {
    clearTimeout(this.firstTimer);
    this.idleTimer.clear();
    this.firstTimer = undefined;
  }

  private onFirstDeadline(): void {
    this.firstTimer = undefined;
    if (this.closed || this.firstDone) return;
    this.deadlinePassed = true; // from now on, the first complete words go out at the next chance
    this.drain('stream');
  }

  private onIdle(): void {
    if (this.closed) return;
    this.scanner.scan('idle');
    this.drain('idle');
  }

  private drain(mode: ScanMode): void {
    while (!this.silenced) {
      const cut = this.nextCut(mode);
      if (cut === null) return;
      this.emit(cut);
    }
  }

  /**
   * The pending text before absolute `end` speaks as nothing. Later cuts read from there only when it is blank
   * lines and emoji, and a line break follows it: then the text after it reads the same alone as in the whole
   * text. Punctuation or markup could pair with what follows (a backtick, "**"), and mid-line the line rules
   * (lists, quotes, headings) would read the rest as a line's start: "🎉! 2024." would lose "2024.".
   */
  private markSilent(end: number): void {
    const sc = this.scanner;
    if (sc.text.charCodeAt(end - sc.start) !== 0x0a) return;
    if (BLANK_OR_EMOJI.test(sc.text.slice(this.speakingFrom(), end - sc.start))) this.silentTo = end;
  }

  /** The speech of the pending text up to absolute `end`, from where it stops being silent. */
  private speechUpTo(end: number): string {
    return this.speech(this.speakingFrom(), end - this.scanner.start);
  }

  /** Where in the pending text (relative) the silent part ends: what comes before it speaks as nothing. */
  private speakingFrom(): number {
    return Math.max(0, this.silentTo - this.scanner.start);
  }

  /** The speech of the pending text between relative offsets; blank text is common and needs no normalising. */
  private speech(from: number, to: number): string {
    const text = this.scanner.text.slice(from, to);
    this.readChars += text.length;
    return BLANK.test(text) ? '' : normaliseForSpeech(text);
  }

  /** The next segment to emit, by the rules in order, or null to wait for more text. */
  private nextCut(mode: ScanMode): Cut | null {
    const sc = this.scanner;
    const { splitOverChars: maxChars } = this.options;
    const limit = mode === 'final' ? sc.start + sc.text.length : (sc.fenceStart ?? sc.start + sc.text.length);
    // 1. Boundary rules. A rejection never changes while the start stays put, so each bound is checked once.
    for (let b = this.checkedBounds; b < sc.bounds.length; b++) {
      const bound = sc.bounds[b]!;
      if (bound.pos > limit) break;
      if (this.firstDone && bound.kind === 'clause') {
        this.checkedBounds = b + 1;
        continue;
      }
      const text = this.speechUpTo(bound.pos);
      if (text === '') this.markSilent(bound.pos);
      if (text.length > maxChars) return this.splitCut(bound.pos);
      if (this.qualifies(bound.kind === 'sentence', text)) return { end: bound.pos, text };
      this.checkedBounds = b + 1;
    }
    // 2. A sentence still going past the cap is split now rather than at its end.
    if (sc.text.length > maxChars) {
      const end = sc.lastWordEnd(limit, false, this.wordlessBelow);
      if (end < 0) this.wordlessBelow = Math.min(limit, sc.start + sc.text.length);
      if (end - sc.start > maxChars && end !== this.fitsUpTo) {
        const text = this.speechUpTo(end);
        if (text.length > maxChars) return this.splitCut(end);
        if (text === '') this.markSilent(end);
        this.fitsUpTo = end;
      }
    }
    // 3. First segment overdue: speak the complete words so far, holding back an unfinished one. A final
    // "there." counts as complete (the lookahead only guards "3." and "Dr."), so it is not cut off.
    if (!this.firstDone && this.deadlinePassed) {
      const end = Math.max(sc.lastWordEnd(limit, true, this.wordlessBelow), sc.trailingTerminatorEnd(limit));
      const text = end > sc.start ? this.speechUpTo(end) : '';
      if (text !== '') return text.length > maxChars ? this.splitCut(end) : { end, text };
    }
    // 4. Idle: every complete sentence goes, short or not.
    if (mode === 'idle') {
      let lastSentence = -1;
      for (const bound of sc.bounds) if (bound.kind === 'sentence' && bound.pos <= limit) lastSentence = bound.pos;
      const text = lastSentence > sc.start ? this.speechUpTo(lastSentence) : '';
      if (text !== '') return text.length > maxChars ? this.splitCut(lastSentence) : { end: lastSentence, text };
    }
    // 5. Finish: whatever remains; an unspeakable remainder is dropped without a segment.
    if (mode === 'final' && sc.text.length > 0) {
      const end = sc.start + sc.text.length;
      const text = this.speechUpTo(end);
      if (text !== '') return text.length > maxChars ? this.splitCut(end) : { end, text };
      sc.consume(end);
    }
    return null;
  }

  private qualifies(isSentence: boolean, text: string): boolean {
    const { firstMinChars, firstMinWords, mergeUnderChars } = this.options;
    // Never an empty segment, even with mergeUnderChars 0 (emoji-only lines and blank lines speak as nothing).
    if (this.firstDone) return isSentence && text !== '' && text.length >= mergeUnderChars;
    if (isSentence) return text !== '';
    return text.length >= firstMinChars && countWords(text, firstMinWords) >= firstMinWords;
  }

  /**
   * The longest prefix of the pending text before `end` whose speech fits the cap: cut at the last fitting
   * sentence or clause boundary, else at the last fitting word end (never right after "Dr."), else
   * mid-word. Candidates are tried in order and the search stops at the first that no longer fits.
   */
  private splitCut(end: number): Cut {
    const sc = this.scanner;
    const t = sc.text;
    const maxChars = this.options.splitOverChars;
    let byBound: Cut | null = null;
    let byWord: Cut | null = null;
    let b = 0;
    const from = this.speakingFrom();
    for (let p = from + 1; p < end - sc.start; p++) {
      while (b < sc.bounds.length && sc.bounds[b]!.pos < sc.start + p) b++;
      const isBound = sc.bounds[b]?.pos === sc.start + p;
      const isWordEnd = isSpaceCode(t.charCodeAt(p)) && !isSpaceCode(t.charCodeAt(p - 1)) && !sc.isProtectedEnd(p);
      if (!isBound && !isWordEnd) continue;
      const text = this.speech(from, p);
      if (text.length > maxChars) break;
      if (text === '') continue;
      if (isBound) byBound = { end: sc.start + p, text };
      if (isWordEnd) byWord = { end: sc.start + p, text };
    }
    return byBound ?? byWord ?? this.hardCut(end);
  }

  /** No boundary fits (one enormous word): the longest prefix that fits, never halving a surrogate pair. */
  private hardCut(end: number): Cut {
    const sc = this.scanner;
    const maxChars = this.options.splitOverChars;
    const from = this.speakingFrom();
    let lo = from + 1;
    let hi = end - sc.start - 1;
    let best: Cut | null = null;
    while (lo <= hi) {
      let mid = (lo + hi) >> 1;
      const code = sc.text.charCodeAt(mid);
      // A cut before a low surrogate would halve its pair: cut one earlier, or one later at the search's floor.
      if (code >= 0xdc00 && code <= 0xdfff) mid = mid > lo ? mid - 1 : mid + 1;
      if (mid > hi) break;
      const text = this.speech(from, mid);
      if (text.length > maxChars) hi = mid - 1;
      else {
        if (text !== '') best = { end: sc.start + mid, text };
        lo = mid + 1;
      }
    }
    return best ?? { end, text: this.speechUpTo(end).slice(0, maxChars) };
  }

  private emit(cut: Cut): void {
    const segment: SpeechSegment = {
      index: this.emitted.length,
      text: cut.text,
      displayStart: this.scanner.start,
      displayEnd: cut.end,
    };
    this.scanner.consume(cut.end);
    this.checkedBounds = 0;
    this.fitsUpTo = -1;
    if (!this.firstDone) {
      this.firstDone = true;
      clearTimeout(this.firstTimer);
      this.firstTimer = undefined;
    }
    this.emitted.push(segment);
    this.onSegment(segment);
  }
}
