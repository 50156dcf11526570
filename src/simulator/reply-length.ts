// Stretches or trims the simulator's demo reply to a model profile's lengthScale: a fuller model adds more plain,
// speakable sentences of the same style (deterministic for a given seed); a scale below 1 keeps fewer sentences.

/** Added after the first extra sentence, in turn from a seed-chosen start, until the reply is long enough. */
const MORE_SENTENCES: readonly string[] = [
  'That is on purpose: the simulator gives each model of the family its own pace and length, so you can hear the difference.',
  'asi1-mini answers first and briefly, asi1 takes about twice as long to begin, and asi1-ultra takes longer still.',
  'When the fast model hands a question over, the deeper model continues the same reply instead of starting again.',
  'Every sentence here is plain text without lists or markup, so it can be spoken as soon as it is complete.',
  'If you interrupt me now, the rest of this answer is dropped, and only what you heard stays in the conversation.',
  'A real deeper model would of course talk about your question rather than about the simulator.',
  'You can change these speeds and lengths in the simulator settings, or turn the differences off entirely.',
  'Meanwhile the gateway keeps streaming each word to you the moment it arrives.',
  'Long answers like this one are a good test of how smoothly the speech keeps up with the text.',
  'Asking for depth on purpose is a good way to hear the hand-over from the fast model to a deeper one.',
];

/** No reply grows beyond this many words, whatever the scale. */
const MAX_WORDS = 2_000;

function wordCount(text: string): number {
  return text.split(/\s+/).filter((w) => w !== '').length;
}

/**
 * `reply` resized to about `lengthScale` times its word count: longer by whole sentences (the first one naming
 * `model`), or shorter by dropping trailing sentences (at least one is kept). A scale of 1 returns it unchanged.
 */
export function fitReplyLength(reply: string, model: string, lengthScale: number, seed: number): string {
  if (!(lengthScale >= 0) || lengthScale === 1) return reply;
  const words = wordCount(reply);
  const target = Math.min(MAX_WORDS, Math.max(1, Math.round(words * lengthScale)));
  if (target < words) return trimToWords(reply, target);
  const parts = [reply, `Speaking as the simulated ${model}, I take a little longer to start and say more.`];
  let total = words + wordCount(parts[1]!);
  for (let i = 0; total < target; i++) {
    const next = MORE_SENTENCES[(seed + i) % MORE_SENTENCES.length]!;
    parts.push(next);
    total += wordCount(next);
  }
  return parts.join(' ');
}

/** The leading whole sentences of `text` while they stay within `target` words (always at least one). */
function trimToWords(text: string, target: number): string {
  const sentences = text.match(/[^.!?]+(?:[.!?]+["']?|$)\s*/g) ?? [text];
  let out = sentences[0] ?? text;
  let total = wordCount(out);
  for (const sentence of sentences.slice(1)) {
    total += wordCount(sentence);
    if (total > target) break;
    out += sentence;
  }
  return out.trim();
}
