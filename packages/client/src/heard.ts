// How much of a reply the user heard, as the gateway's `heardChars` counts it: the lengths of the response.speech
// texts fully spoken, plus the spoken part of the current one (speech texts joined with no separator).

/** A speech segment as `response.speech` delivers it. */
export interface SpeechSegment {
  /** Counts from 0 within the response. */
  index: number;
  text: string;
}

/**
 * heardChars from the segments fully spoken and, optionally, the one being spoken when the user cut in
 * (`spokenChars` of its text, e.g. a SpeechSynthesisUtterance boundary event's charIndex).
 */
export function countHeardChars(
  spoken: Iterable<string | SpeechSegment>,
  current?: { text: string; spokenChars: number },
): number {
  let chars = 0;
  for (const segment of spoken) chars += typeof segment === 'string' ? segment.length : segment.text.length;
  if (current !== undefined) chars += clamp(current.spokenChars, current.text.length);
  return chars;
}

/**
 * Follows a speaker through one reply's segments: call `spoken(segment)` when a segment has been said in full and
 * `speaking(segment, chars)` as the current one progresses; `chars` is the heardChars to send on barge-in.
 */
export class HeardTracker {
  private readonly finished = new Map<number, number>();
  private current: { index: number; chars: number } | null = null;

  /** The segment was spoken in full. */
  spoken(segment: SpeechSegment): void {
    this.finished.set(segment.index, segment.text.length);
    if (this.current?.index === segment.index) this.current = null;
  }

  /** `chars` characters of the segment have been spoken so far (clamped to its length). */
  speaking(segment: SpeechSegment, chars: number): void {
    if (this.finished.has(segment.index)) return;
    this.current = { index: segment.index, chars: clamp(chars, segment.text.length) };
  }

  /** Whether the speaker reported anything yet (reply.cancel() only sends heardChars when it did). */
  get used(): boolean {
    return this.finished.size > 0 || this.current !== null;
  }

  get chars(): number {
    let chars = this.current?.chars ?? 0;
    for (const length of this.finished.values()) chars += length;
    return chars;
  }
}

function clamp(chars: number, length: number): number {
  if (!Number.isFinite(chars) || chars <= 0) return 0;
  return Math.min(Math.floor(chars), length);
}
