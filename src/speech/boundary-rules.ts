// The character rules the boundary scanner applies: which words never end a sentence (abbreviations, initials,
// list numbers), which characters are spaces, closers and openers. Pure functions of the text, no state.
// Abbreviations that never end a sentence. Letter-dot runs (e.g. i.e. U.S. a.m. J.) are matched by pattern.
export const ABBREVIATIONS = new Set([
  'mr.',
  'mrs.',
  'ms.',
  'dr.',
  'st.',
  'vs.',
  'etc.',
  'prof.',
  'sr.',
  'jr.',
  'mt.',
  'ph.d.',
  'approx.',
  'fig.',
]);
export const LETTER_DOTS = /^(?:\p{L}\.)+$/u;
export const DIGITS_DOT = /^\d+\.$/;
export const WORD_PREFIX = /^[*_~`(["'“‘]+/;
export const CLOSERS = '"\'”’)]}»」』*_~';
export const OPENERS = '(["\'“‘';
export const MAX_WORD_LOOKBACK = 16;

export function isSpaceCode(c: number): boolean {
  return (
    c === 32 ||
    (c >= 9 && c <= 13) ||
    c === 0xa0 ||
    c === 0x3000 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0xfeff
  );
}

export function isLowercase(ch: string): boolean {
  return ch !== ch.toUpperCase() && ch === ch.toLowerCase();
}

/**
 * Whether the dot at index `i` of `text` closes an abbreviation, an initial or a list number alone at its line
 * start ("\n  2. "); `charBefore` is the character before `text[0]`.
 */
export function isProtectedDotAt(text: string, i: number, charBefore: string): boolean {
  let k = i;
  const lowest = Math.max(0, i - MAX_WORD_LOOKBACK);
  while (k > lowest && !isSpaceCode(text.charCodeAt(k - 1)) && !OPENERS.includes(text[k - 1]!)) k--;
  const word = text.slice(k, i + 1).replace(WORD_PREFIX, '');
  if (LETTER_DOTS.test(word) || ABBREVIATIONS.has(word.toLowerCase())) return true;
  if (!DIGITS_DOT.test(word)) return false;
  let p = k - 1;
  while (p >= 0 && (text[p] === ' ' || text[p] === '\t')) p--;
  return p < 0 ? charBefore === '\n' : text[p] === '\n';
}
