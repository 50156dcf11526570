// A speech segment: what the segmenter emits, and the small helpers its rules share.

/**
 * One utterance. `text` is normalised speech text and never empty. `[displayStart, displayEnd)` is the part
 * of the display text (all pushed deltas, concatenated) it came from. Ranges are contiguous and in order:
 * each segment starts where the previous one ended (the first at 0). Text that normalises to nothing (pure
 * emoji or markdown) is not emitted on its own and uses no index: its range is merged into the next emitted
 * segment. Only such a remainder at finish() is skipped, so the last `displayEnd` may be short of the end.
 */
export interface SpeechSegment {
  index: number;
  text: string;
  displayStart: number;
  displayEnd: number;
}

/** Where a segment ends (absolute display offset) and what it says. */
export interface Cut {
  end: number;
  text: string;
}

/** Words (runs with a letter or digit) in `text`, counting no further than `atLeast`. */
export function countWords(text: string, atLeast: number): number {
  let words = 0;
  for (const word of text.split(' ')) {
    if (/[\p{L}\p{N}]/u.test(word) && ++words >= atLeast) break;
  }
  return words;
}
