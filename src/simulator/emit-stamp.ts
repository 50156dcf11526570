// The `stampEmitTimeInText` benchmark knob's format: a chunk's first word is replaced by its emit time, so a
// client behind a proxy that forwards only the text can still measure per-token delivery delay. The stamp
// is word-sized ("t" + 6 base-36 digits), so replies keep a realistic length for the speech pipeline.

/** Microseconds are stamped modulo 36^6 (about 36 minutes); decoding picks the nearest earlier time. */
const PERIOD_US = 36 ** 6;

/** Matches one stamp; group 1 is its 6 base-36 digits. */
export const EMIT_STAMP_PATTERN = /\b[tT]([0-9a-z]{6})\b/g;

/**
 * The stamp for an emit time in epoch ms (performance.timeOrigin + performance.now()). `capital` starts it
 * with "T", so a stamp replacing a sentence's first word still looks like the start of a sentence.
 */
export function encodeEmitStamp(emitMs: number, capital = false): string {
  const us = Math.round(emitMs * 1000) % PERIOD_US;
  return `${capital ? 'T' : 't'}${us.toString(36).padStart(6, '0')}`;
}

/**
 * The emit time (epoch ms, microsecond resolution) of `digits`, given when it was received: the latest time
 * with those digits that is not after `receivedAtMs` (a few microseconds of clock disagreement are allowed).
 */
export function decodeEmitStamp(digits: string, receivedAtMs: number): number {
  const receivedUs = Math.round(receivedAtMs * 1000);
  let delayUs = (receivedUs - parseInt(digits, 36)) % PERIOD_US;
  if (delayUs < 0) delayUs += PERIOD_US;
  if (delayUs > PERIOD_US / 2) delayUs -= PERIOD_US; // stamped "after" receipt by a skewed clock
  return (receivedUs - delayUs) / 1000;
}

/**
 * `"hello, "` → `"t1a2b3c, "`, `"Hello "` → `"T1a2b3c "`: the first word becomes the stamp (keeping its
 * capital); text without a word gets one in front.
 */
export function stampChunkText(text: string, emitMs: number): string {
  const match = /[\p{L}\p{N}]+/u.exec(text);
  if (match === null) return encodeEmitStamp(emitMs) + text;
  const stamp = encodeEmitStamp(emitMs, /^\p{Lu}/u.test(match[0]));
  return text.slice(0, match.index) + stamp + text.slice(match.index + match[0].length);
}
