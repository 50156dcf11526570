// Maps what a listener heard (a length of spoken text) back to a prefix of the display text, so an
// interrupted reply is stored only up to the word the user heard. Does not decide how heardChars is measured.
import type { SpeechSegment } from './segment.js';

function isSpace(ch: string | undefined): boolean {
  return ch !== undefined && /\s/.test(ch);
}

/**
 * Length of the display-text prefix that corresponds to `heardChars` characters of speech, where speech
 * is every segment's `text` joined with no separator (what the listener heard, in order).
 *
 * Invariants:
 * - 0 (or less, or NaN) → 0; at or past the total speech length → the last segment's `displayEnd`.
 * - A fully heard segment maps to its `displayEnd`, so whole segments are never cut.
 * - Inside a partly heard segment the position is proportional within `[displayStart, displayEnd)`
 *   (speech is normalised, so this is an estimate) and then moved back to the end of the previous whole
 *   word, never below `displayStart`: the result never ends mid-word unless a segment itself did.
 * - The result is monotonic in `heardChars` and never exceeds `displayText.length`.
 */
export function heardDisplayLength(
  segments: readonly SpeechSegment[],
  heardChars: number,
  displayText: string,
): number {
  if (!(heardChars > 0) || segments.length === 0) return 0;
  let spoken = 0;
  let result = 0;
  for (const segment of segments) {
    const length = segment.text.length;
    if (heardChars >= spoken + length) {
      result = segment.displayEnd;
      spoken += length;
      continue;
    }
    const { displayStart: start, displayEnd: end } = segment;
    let pos = start + Math.floor(((heardChars - spoken) / length) * (end - start));
    // Back to the start of the word pos may be inside, then over the whitespace before it.
    if (isSpace(displayText[pos - 1]) || !isSpace(displayText[pos])) {
      while (pos > start && !isSpace(displayText[pos - 1])) pos--;
    }
    while (pos > start && isSpace(displayText[pos - 1])) pos--;
    result = pos;
    break;
  }
  return Math.min(result, displayText.length);
}
