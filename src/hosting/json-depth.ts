// The nesting bound for client JSON, checked at the edge before anything reads the value. V8's JSON.parse accepts any depth, but
// JSON.stringify, structuredClone and schema validators recurse, so a value nested 20,000 levels deep would
// throw a RangeError far from the edge (after settings were applied, or in every later upstream request).

/** Deepest nesting of objects and arrays accepted in one client frame (the frame's own object is level 1). */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * Whether the JSON text nests deeper than `maxDepth`. One pass over the bytes with no allocation, skipping
 * string contents (UTF-8 continuation bytes are never ASCII, so multi-byte characters cannot be mistaken for
 * brackets). Malformed JSON is left to JSON.parse; this only has to be right for well-formed input.
 */
export function exceedsJsonDepth(data: Buffer, maxDepth: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < data.length; i += 1) {
    const byte = data[i];
    if (inString) {
      if (byte === BACKSLASH) i += 1;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      depth += 1;
      if (depth > maxDepth) return true;
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth -= 1;
    }
  }
  return false;
}

export function depthMessage(maxDepth: number = MAX_JSON_DEPTH): string {
  return `The frame nests JSON objects and arrays deeper than ${maxDepth} levels, the limit.`;
}
