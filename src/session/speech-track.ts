// The speech of one response across all its steps: a segmenter per stretch of text, flushed when a tool call
// starts (so "Let me check…" is spoken at once), plus short asides such as a filler while a tool runs.
// Segment indices and display ranges are absolute within the response, so heardChars maps across steps.
import { SpeechSegmenter, type SpeechSegment } from '../speech/segmenter.js';

export class SpeechTrack {
  private segmenter: SpeechSegmenter;
  private readonly all: SpeechSegment[] = [];
  private displayLength = 0;
  private offset = 0;
  private stopped = false;

  constructor(private readonly onSegment: (segment: SpeechSegment) => void) {
    this.segmenter = this.createSegmenter();
  }

  get segments(): readonly SpeechSegment[] {
    return this.all;
  }

  get hasSpoken(): boolean {
    return this.all.length > 0;
  }

  push(delta: string): void {
    if (this.stopped) return;
    this.displayLength += delta.length;
    this.segmenter.push(delta);
  }

  /** Speaks everything buffered now (a tool call is about to run) and starts a fresh stretch after it. */
  flush(): void {
    if (this.stopped) return;
    this.segmenter.finish();
    this.offset = this.displayLength;
    this.segmenter = this.createSegmenter();
  }

  /** Speaks a sentence that is not part of the display text (e.g. "One moment."), after what is buffered. */
  aside(text: string): void {
    if (this.stopped) return;
    this.flush();
    this.record({ index: 0, text, displayStart: this.displayLength, displayEnd: this.displayLength });
  }

  /** Final flush at the end of the response. */
  finish(): void {
    if (this.stopped) return;
    this.segmenter.finish();
    this.stopped = true;
  }

  /** Barge-in: nothing more is spoken. */
  cancel(): void {
    this.segmenter.cancel();
    this.stopped = true;
  }

  private createSegmenter(): SpeechSegmenter {
    const offset = this.offset;
    return new SpeechSegmenter((segment) =>
      this.record({ ...segment, displayStart: segment.displayStart + offset, displayEnd: segment.displayEnd + offset }),
    );
  }

  private record(segment: SpeechSegment): void {
    const absolute = { ...segment, index: this.all.length };
    this.all.push(absolute);
    this.onSegment(absolute);
  }
}
