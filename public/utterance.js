// How the page compares what it heard with a turn the server committed on its own (protocol 1.2): the same
// utterance (case, punctuation and filler words aside), or one that goes on from it (the user had only paused).
// The same rules as the gateway's src/session/utterance.ts, so both sides agree. Pure; no DOM, no engines.

/** Hesitations a recognizer writes down that change nothing about what was asked. */
const FILLERS = new Set(['um', 'umm', 'uh', 'uhh', 'uhm', 'er', 'erm', 'ah', 'hmm', 'hm', 'mm', 'mhm']);

/** Lower-cased words without punctuation (apostrophes inside words kept), fillers trimmed from both ends. */
export function utteranceWords(text) {
  const words = String(text)
    .toLowerCase()
    .replace(/[’‘]/g, "'")
    .split(/[^\p{L}\p{N}']+/u)
    .map((w) => w.replace(/^'+|'+$/g, ''))
    .filter((w) => w !== '');
  let start = 0;
  let end = words.length;
  while (start < end && FILLERS.has(words[start])) start += 1;
  while (end > start && FILLERS.has(words[end - 1])) end -= 1;
  return words.slice(start, end);
}

/** True when `a` and `b` are the same words. */
export function sameUtterance(a, b) {
  return utteranceWords(a).join(' ') === utteranceWords(b).join(' ');
}

/** True when `next` says everything `committed` said and more: the user paused, then went on. */
export function extendsUtterance(committed, next) {
  const before = utteranceWords(committed);
  const after = utteranceWords(next);
  return before.length > 0 && after.length > before.length && before.every((word, i) => after[i] === word);
}
