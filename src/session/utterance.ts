// How the turn flow reads a transcript: the same utterance said twice (case, punctuation, spacing and filler words
// aside), one utterance extending another (the user had only paused), and whether one reads as finished. Pure
// text rules, cheap enough for every interim; no model is asked (a text end-of-turn model costs 10–25 ms a call).

/** Hesitations a recognizer writes down that change nothing about what was asked. */
const FILLERS = new Set(['um', 'umm', 'uh', 'uhh', 'uhm', 'er', 'erm', 'ah', 'hmm', 'hm', 'mm', 'mhm']);

/**
 * Words a finished utterance does not end on: conjunctions, articles and a few prepositions ("what is the
 * weather of", "book a table and"). Only ones that almost never close an English sentence: "what is it for"
 * and "I think so" are finished.
 */
const DANGLING = new Set([
  ...['and', 'or', 'but', 'because', 'if', 'than', 'whether', 'although', 'unless'],
  ...['the', 'a', 'an', 'my', 'your', 'our', 'their', 'his', 'its', 'every', 'each'],
  ...['of', 'to', 'into', 'onto', 'with', 'between', "i'm", "let's", "it's", "that's", "what's"],
]);

/** Every word as said: lower case, punctuation dropped (apostrophes inside words kept), fillers included. */
function spokenWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[’‘]/g, "'")
    .split(/[^\p{L}\p{N}']+/u)
    .map((w) => w.replace(/^'+|'+$/g, ''))
    .filter((w) => w !== '');
}

/** The words of an utterance: its spoken words with the fillers trimmed from both ends. */
export function utteranceWords(text: string): string[] {
  const words = spokenWords(text);
  let start = 0;
  let end = words.length;
  while (start < end && FILLERS.has(words[start] ?? '')) start += 1;
  while (end > start && FILLERS.has(words[end - 1] ?? '')) end -= 1;
  return words.slice(start, end);
}

/** The comparable form of an utterance: its words joined by single spaces. */
export function utteranceKey(text: string): string {
  return utteranceWords(text).join(' ');
}

/** True when `next` says everything `committed` said and more: the user paused, then went on. */
export function extendsUtterance(committed: string, next: string): boolean {
  const before = utteranceWords(committed);
  const after = utteranceWords(next);
  return before.length > 0 && after.length > before.length && before.every((word, i) => after[i] === word);
}

/**
 * True when `next` is the recognizer's correction of `committed`: about as long (one word more or less), the same
 * start (at least two words and half of `committed`), other words after it, as when a last word is heard again
 * ("in Paris" → "in Berlin"). A new utterance ("thanks", "set a reminder for five") is not one.
 */
export function revisesUtterance(committed: string, next: string): boolean {
  const before = utteranceWords(committed);
  const after = utteranceWords(next);
  let shared = 0;
  while (shared < before.length && before[shared] === after[shared]) shared += 1;
  const aboutAsLong = Math.abs(after.length - before.length) <= 1;
  return aboutAsLong && shared < before.length && shared >= Math.max(2, Math.ceil(before.length / 2));
}

/**
 * Whether an interim reads as a finished utterance: at least one word that is not a filler, and not ending on a
 * word that needs a continuation, whatever punctuation follows it.
 */
export function soundsComplete(text: string): boolean {
  if (utteranceWords(text).length === 0) return false; // "Hmm?" says nothing yet
  // Fillers are trimmed for comparison, but a trailing "um" means the user is still thinking; "I want to." too.
  const last = spokenWords(text).at(-1);
  return last !== undefined && !DANGLING.has(last) && !FILLERS.has(last);
}

/** Whether an interim ends like a sentence: speculate at once instead of waiting for it to stay unchanged. */
export function endsLikeSentence(text: string): boolean {
  return /[.?!。？！]["')\]]*\s*$/u.test(text);
}
