// Hands-free barge-in gate: decides whether speech heard while the assistant talks is the user cutting in,
// or the microphone picking up the assistant's own voice. Pure functions; no DOM, no engines.
// Thresholds follow soca.ai's barge-in gate (≥2 words, ≥10 chars, confidence ≥0.3, tuned so the assistant's own voice picked up by the microphone does not count).

const MIN_WORDS = 2;
const MIN_CHARS = 8;
const MIN_CONFIDENCE = 0.3;
/** Share of heard words that also occur in what is being spoken, at or above which it is an echo. */
const ECHO_OVERLAP = 0.6;

/** Lower-cased words without punctuation or accents. */
export function wordsOf(text) {
  return String(text)
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\p{L}\p{N}\s']/gu, ' ')
    .split(/\s+/)
    .filter(Boolean);
}

/** True when most of `heard` is made of words the assistant is saying (`spoken`): the mic hearing the speaker. */
export function looksLikeEcho(heard, spoken) {
  const words = wordsOf(heard);
  if (words.length === 0) return true;
  const said = new Set(wordsOf(spoken));
  if (said.size === 0) return false;
  const shared = words.filter((w) => said.has(w)).length;
  return shared / words.length >= ECHO_OVERLAP;
}

/**
 * True when interim speech should interrupt the assistant: a few words, a usable confidence (engines report
 * 0 for "unknown" on interim results), and not an echo of `spoken` (the text being spoken right now).
 */
export function isBargeIn(transcript, confidence, spoken) {
  const text = String(transcript).trim();
  const words = wordsOf(text);
  if (words.length < MIN_WORDS || text.replace(/\s+/g, '').length < MIN_CHARS) return false;
  const conf = typeof confidence === 'number' && confidence > 0 ? confidence : 1;
  if (conf < MIN_CONFIDENCE) return false;
  return !looksLikeEcho(text, spoken);
}
