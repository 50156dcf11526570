// Incremental boundary scanner: owns the not-yet-spoken display text and finds sentence and clause
// boundaries in it, looking only at new text plus a few characters of lookback. Policy lives in segmenter.ts.
import { CLOSERS, isLowercase, isProtectedDotAt, isSpaceCode } from './boundary-rules.js';

/** `sentence`: . ! ? … 。！？ or a newline; `clause`: , ; : or a dash. */
export type BoundaryKind = 'sentence' | 'clause';

/** A place where the pending text may be cut; `pos` is an absolute display offset (exclusive end). */
export interface Boundary {
  pos: number;
  kind: BoundaryKind;
}

/**
 * `stream`: undecidable positions wait for more text. `idle`: a terminator at the end of the text counts
 * as a sentence end (nothing else is decided). `final`: the text is complete, everything is decided.
 */
export type ScanMode = 'stream' | 'idle' | 'final';

export { isSpaceCode } from './boundary-rules.js';

/** The most text after a place that waits for more (see scan()); no abbreviation, number or URL runs longer. */
const UNDECIDED_CHARS = 64;

export class BoundaryScanner {
  /** Pending display text; `text[0]` is at absolute offset `start`. */
  text = '';
  start = 0;
  /** Confirmed boundaries inside `text`, strictly increasing. */
  readonly bounds: Boundary[] = [];
  /** Absolute offset of the line that opened a fenced code block that is still open, else null. */
  fenceStart: number | null = null;
  private fenceRun = '';
  private scanPos = 0; // relative index of the next character to examine
  private lineStartPending = true; // scanPos is the start of a line not yet checked for a fence
  private charBefore = '\n'; // the character just before text[0]

  append(delta: string): void {
    this.text += delta;
  }

  /** Drops pending text before absolute offset `end` (it was emitted or skipped). */
  consume(end: number): void {
    const cut = end - this.start;
    if (cut <= 0) return;
    this.charBefore = this.text[cut - 1] ?? this.charBefore;
    this.text = this.text.slice(cut);
    this.start = end;
    this.scanPos -= cut;
    if (this.scanPos < 0) {
      this.scanPos = 0;
      this.lineStartPending = this.charBefore === '\n';
    }
    let drop = 0;
    while (drop < this.bounds.length && this.bounds[drop]!.pos <= end) drop++;
    if (drop > 0) this.bounds.splice(0, drop);
    if (this.fenceStart !== null && this.fenceStart < end) this.fenceStart = end; // only at final flush
  }

  /** Scans from where the last scan stopped; stops early at a position that needs more text. */
  scan(mode: ScanMode): void {
    const t = this.text;
    const n = t.length;
    let i = this.scanPos;
    while (i < n) {
      // A place that waits for more text ("3." may become "3.14") waits for at most UNDECIDED_CHARS: a longer run
      // (dots, dashes, closers, fence marks, spaces after a dot) is decided as it stands, or every push would scan
      // all of it again.
      const decide = n - i > UNDECIDED_CHARS ? 'final' : mode;
      if (this.lineStartPending) {
        const next = this.checkLineStart(i, decide);
        if (next < 0) break;
        this.lineStartPending = false;
        i = next;
        continue;
      }
      if (this.fenceStart !== null) {
        // Inside a code block nothing is a boundary: jump to the next line start.
        const nl = t.indexOf('\n', i);
        if (nl < 0) {
          i = n;
          break;
        }
        i = nl + 1;
        this.lineStartPending = true;
        continue;
      }
      const next = this.checkChar(i, decide);
      if (next < 0) break;
      i = next;
    }
    this.scanPos = i;
  }

  /**
   * Absolute end of the last complete word before absolute `limit`, or -1; optionally not after "Dr.". The caller
   * may know that no word ends before absolute `from`: the search stops there.
   */
  lastWordEnd(limit: number, skipProtected: boolean, from = 0): number {
    const t = this.text;
    const floor = Math.max(1, from - this.start);
    for (let p = Math.min(limit - this.start, t.length) - 1; p >= floor; p--) {
      if (!isSpaceCode(t.charCodeAt(p)) || isSpaceCode(t.charCodeAt(p - 1))) continue;
      if (skipProtected && this.isProtectedEnd(p)) continue;
      return this.start + p;
    }
    return -1;
  }

  /**
   * Absolute end of a sentence mark that ends the text before `limit` (trailing spaces ignored), when it
   * cannot be the start of a number or abbreviation ("there." yes; "3." and "Dr." no), else -1.
   */
  trailingTerminatorEnd(limit: number): number {
    const t = this.text;
    let end = Math.min(limit - this.start, t.length);
    while (end > 0 && isSpaceCode(t.charCodeAt(end - 1))) end--;
    let j = end;
    while (j > 0 && CLOSERS.includes(t[j - 1]!)) j--;
    let i = j;
    while (i > 0 && '.!?…。！？'.includes(t[i - 1]!)) i--;
    if (i === j) return -1;
    if (j - i === 1 && t[i] === '.' && (/\d/.test(this.charAt(i - 1)) || this.isProtectedDot(i))) return -1;
    return this.start + end;
  }

  /** True when the word ending at relative `end` is an abbreviation, initial or list number ("Dr.", "1."). */
  isProtectedEnd(end: number): boolean {
    return this.text[end - 1] === '.' && this.isProtectedDot(end - 1);
  }

  private addBound(rel: number, kind: BoundaryKind): void {
    if (rel <= 0) return;
    const pos = this.start + rel;
    const last = this.bounds[this.bounds.length - 1];
    if (last !== undefined && last.pos >= pos) {
      if (last.pos === pos && kind === 'sentence') last.kind = 'sentence';
      return;
    }
    this.bounds.push({ pos, kind });
  }

  /** Fence open/close detection at a line start. Returns where to continue, or -1 to wait for more text. */
  private checkLineStart(i: number, mode: ScanMode): number {
    const t = this.text;
    const n = t.length;
    let j = i;
    while (j < n && j - i < 3 && t[j] === ' ') j++;
    if (j === n) return mode === 'final' ? n : -1;
    const ch = t[j];
    if (ch !== '`' && ch !== '~') return i;
    let k = j;
    while (k < n && t[k] === ch) k++;
    if (k === n && mode !== 'final') return -1; // the run may still grow
    const run = t.slice(j, k);
    if (this.fenceStart === null) {
      if (run.length < 3) return i;
      this.fenceStart = this.start + i;
      this.fenceRun = run;
      return k; // the info string is skipped as fence content
    }
    if (ch !== this.fenceRun[0] || run.length < this.fenceRun.length) return i;
    const nl = t.indexOf('\n', k);
    if (t.slice(k, nl < 0 ? n : nl).trim() !== '') return i;
    if (nl < 0 && mode !== 'final') return -1;
    this.fenceStart = null; // closed: the newline ending this line is a sentence boundary
    return nl < 0 ? n : nl;
  }

  /** Examines the character at i; returns the next index, or -1 to wait for more text. */
  private checkChar(i: number, mode: ScanMode): number {
    const t = this.text;
    const n = t.length;
    const ch = t[i]!;
    switch (ch) {
      case '\n':
        this.addBound(i, 'sentence');
        this.lineStartPending = true;
        return i + 1;
      case '.':
      case '!':
      case '?':
      case '…':
        return this.checkTerminator(i, mode);
      case '。':
      case '！':
      case '？':
        // CJK has no spaces after a full stop: the boundary is right after it (and its closing quotes).
        return this.afterClosers(i + 1, mode, (end) => this.addBound(end, 'sentence'));
      case '，':
      case '；':
      case '：':
      case '、':
        this.addBound(i + 1, 'clause');
        return i + 1;
      case ',':
      case ';':
      case ':':
        // Needs whitespace after: "1,000", "10:30" and "https://" are not clause ends.
        return this.afterClosers(i + 1, mode, (end) => {
          if (end === n ? mode === 'final' : isSpaceCode(t.charCodeAt(end))) this.addBound(end, 'clause');
        });
      case '—':
      case '–': {
        if (i + 1 === n) return mode === 'final' ? n : -1;
        const digitsAround = /\d/.test(this.charAt(i - 1)) && /\d/.test(t[i + 1]!); // 1990–2000
        if (!digitsAround) this.addBound(i + 1, 'clause');
        return i + 1;
      }
      case '-': {
        // Only a spaced hyphen is a dash (" - "); "well-known" and line-start list markers are not.
        const before = this.charAt(i - 1);
        if (before !== ' ' && before !== '\t') return i + 1;
        let j = i;
        while (j < n && t[j] === '-') j++;
        if (j === n) return mode === 'final' ? n : -1;
        if (isSpaceCode(t.charCodeAt(j))) this.addBound(j, 'clause');
        return j;
      }
      default:
        return i + 1;
    }
  }

  /** Skips closing quotes/brackets/markdown after i, then calls decide(end); waits if they may continue. */
  private afterClosers(i: number, mode: ScanMode, decide: (end: number) => void): number {
    const t = this.text;
    let j = i;
    while (j < t.length && CLOSERS.includes(t[j]!)) j++;
    if (j === t.length && mode !== 'final') return -1;
    decide(j);
    return j;
  }

  /**
   * A run of . ! ? … is a sentence end when whitespace follows. With a dot or ellipsis we also look at the
   * next non-space character: lowercase means the sentence goes on ("approx. ten", "wait... what"), and a
   * dot after an abbreviation, initial or list number never ends a sentence.
   */
  private checkTerminator(i: number, mode: ScanMode): number {
    const t = this.text;
    const n = t.length;
    let j = i;
    let dotted = false;
    while (j < n && '.!?…'.includes(t[j]!)) {
      if (t[j] === '.' || t[j] === '…') dotted = true;
      j++;
    }
    const runEnd = j;
    while (j < n && CLOSERS.includes(t[j]!)) j++;
    if (j === n) {
      if (mode === 'stream') return -1; // "3." may become "3.14", "Dr." may become "Dr. Smith"
      if (!(dotted && runEnd - i === 1 && this.isProtectedDot(i))) this.addBound(j, 'sentence');
      return j;
    }
    if (!isSpaceCode(t.charCodeAt(j))) return j; // 3.14, e.g., example.com, a.b@c.com, ?q=1
    if (!dotted) {
      this.addBound(j, 'sentence');
      return j;
    }
    if (runEnd - i === 1 && this.isProtectedDot(i)) return j;
    let k = j;
    while (k < n && isSpaceCode(t.charCodeAt(k))) {
      if (t[k] === '\n') break;
      k++;
    }
    if (k === n) {
      if (mode === 'stream') return -1;
    } else if (t[k] !== '\n' && isLowercase(t[k]!)) {
      return j;
    }
    this.addBound(j, 'sentence');
    return j;
  }

  /** Whether the dot at relative i closes an abbreviation, an initial or a line-start list number. */
  private isProtectedDot(i: number): boolean {
    return isProtectedDotAt(this.text, i, this.charBefore);
  }

  private charAt(i: number): string {
    return i < 0 ? this.charBefore : (this.text[i] ?? '');
  }
}
