// What a session keeps of its last completed reply while the client may still be speaking it: the reply's text
// record, its speech segments and its trace, so a later `response.cancel` can map heardChars back to the text and
// rewrite history. Not the run: the run holds the reply's whole working set (its options, the upstream call, the
// speech segmenter, timers, the abort controller), and a voice client listens for seconds after the last delta.
// Kept, that set outlived every young-generation collection and was promoted, and a session between turns held it.
import type { ResponseStatus } from '../protocol.js';
import type { SpeechSegment } from '../speech/segmenter.js';
import type { TurnTrace } from '../tracing/turn-trace.js';
import type { ChatMessage } from '../upstream/types.js';
import type { ReplyRecord } from './reply-record.js';

export class SpokenReply {
  constructor(
    readonly responseId: string,
    private readonly record: ReplyRecord,
    private readonly segments: readonly SpeechSegment[],
    /** Its spans (tracing on), or null. */
    readonly trace: TurnTrace | null,
  ) {}

  /** Maps heardChars of the speech text to a prefix length of the display text (never mid-word). */
  heardLength(heardChars: number): number {
    return this.record.heardLength(this.segments, heardChars);
  }

  /** The messages the reply adds to history, given how much of it was heard (see ReplyRecord). */
  historyMessages(heardLength: number, status: ResponseStatus): ChatMessage[] {
    return this.record.historyMessages(heardLength, status);
  }
}
