// Non-word symbols the voice should not read: emoji sequences and URLs. Used by normalise.ts only.
// Markdown is not handled here.

// ©, ® and ™ are Extended_Pictographic too, but voices read them well ("copyright"), so they stay.
const KEPT = '(?![\\u00A9\\u00AE\\u2122])';
// One emoji and whatever glues a sequence together: ZWJ, variation selectors, keycaps, skin tones and tag
// characters (subdivision flags). Same coverage as LiveKit's EMOJI_PATTERN, by property rather than by block.
// Joiners are alternatives, not a class, because a class of combining marks misleads (no-misleading-character-class).
const EMOJI_SEQUENCE = new RegExp(
  `(?:${KEPT}\\p{Extended_Pictographic}|\\p{Regional_Indicator}|\\p{Emoji_Modifier})` +
    `(?:\\u200D|\\uFE0E|\\uFE0F|\\u20E3|[\\u{E0020}-\\u{E007F}]|\\p{Emoji_Modifier}|${KEPT}\\p{Extended_Pictographic})*`,
  'gu',
);
// Leftovers outside a sequence: presentation selectors, keycap marks (1️⃣ keeps its digit), tag characters.
const STRAY_SELECTORS = /\uFE0E|\uFE0F|\u20E3|[\u{E0020}-\u{E007F}]/gu;
// A ZWJ is kept only where scripts need it (after a letter or mark, before a letter), e.g. Devanagari.
const STRAY_ZWJ = /(?<![\p{L}\p{M}])\u200D|\u200D(?!\p{L})/gu;

/** Removes emoji (including flags, skin tones and ZWJ families) and their invisible leftovers. */
export function removeEmoji(text: string): string {
  return text.replace(EMOJI_SEQUENCE, ' ').replace(STRAY_SELECTORS, '').replace(STRAY_ZWJ, '');
}

const TRAILING_PUNCTUATION = /[.,;:!?]+$/;
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * The spoken form of a URL: its host without `www.` ("https://www.example.com/a.b?c" → "example.com").
 * Sentence punctuation glued to the end of a bare URL ("see https://x.com.") is kept after the host.
 */
export function speakUrl(url: string): string {
  const trail = TRAILING_PUNCTUATION.exec(url)?.[0] ?? '';
  let rest = url.slice(0, url.length - trail.length).replace(SCHEME, '');
  const end = rest.search(/[/?#]/);
  if (end >= 0) rest = rest.slice(0, end);
  rest = rest.slice(rest.lastIndexOf('@') + 1); // drop user:password@
  const port = rest.lastIndexOf(':');
  if (port >= 0) rest = rest.slice(0, port);
  const host = rest.toLowerCase().replace(/^www\./, '');
  return host + trail;
}
