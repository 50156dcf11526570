// One reply to a turn: its text deltas, speech segments and tool calls as async sequences, `done` (the
// response.done event), and barge-in. The session routes the response's events here by turnId, then responseId;
// a final the gateway absorbed into a server-committed turn repeats that turn's reply.
import { Channel } from './channel.js';
import type { VoiceGatewayError } from './errors.js';
import { HeardTracker, type SpeechSegment } from './heard.js';
import type { ResponseDone, ServerEvent, ToolCall } from './wire.js';

export interface CancelOptions {
  /**
   * Characters of the reply's speech text the user heard (see HeardTracker). Omitted: what `reply.heard` tracked,
   * if anything; otherwise the gateway counts everything it sent as heard.
   */
  heardChars?: number;
}

export interface Reply {
  /** The turnId sent with the turn, or the one of the turn the server committed (response.created echoes it). */
  readonly turnId: string;
  /** Set when response.created arrives. */
  readonly responseId: string | null;
  /** Raw reply text for display, as it streams. Each iteration starts from the first delta. */
  readonly deltas: AsyncIterable<string>;
  /** Speakable segments (normalised, never markdown), in order. */
  readonly speech: AsyncIterable<SpeechSegment>;
  /** Tool calls of this reply, server and client ones (client ones are answered by the session). */
  readonly toolCalls: AsyncIterable<ToolCall>;
  /**
   * The response.done event, whatever its status (completed, interrupted, failed). Rejects with a
   * VoiceGatewayError only when no response.done will come: the turn was refused, the session closed or was lost.
   */
  readonly done: Promise<ResponseDone>;
  /** The deltas received so far, joined. */
  readonly text: string;
  /** Feed it what the speaker has said; cancel() then sends the matching heardChars. */
  readonly heard: HeardTracker;
  /** True once done has settled. */
  readonly finished: boolean;
  /**
   * Set when the gateway absorbed this final turn into a turn it had committed itself (`turn.absorbed`): that
   * turn's Reply (from the session's `committed` event). This Reply then repeats it from its first event (deltas,
   * speech, tool calls, done, the same response), and shares its `heard` and `cancel()`. Set before this Reply
   * yields anything, so a front-end already speaking the committed reply can tell not to speak this one again.
   */
  readonly absorbedInto: Reply | null;
  /**
   * Barge-in: stops the reply while it streams, or, once it completed, truncates the stored reply to what was
   * heard (a reply is often still being spoken after it finished streaming). Resolves like `done`.
   */
  cancel(options?: CancelOptions): Promise<ResponseDone>;
}

/** What a reply needs from its session. */
export interface ReplyHost {
  sendCancel(responseId: string | null, heardChars: number | undefined): void;
}

/** The session's side of a Reply: it feeds events in and settles it. */
export class ReplyStream implements Reply {
  readonly done: Promise<ResponseDone>;
  responseId: string | null = null;
  finished = false;
  absorbedInto: ReplyStream | null = null;
  private readonly ownHeard = new HeardTracker();
  private readonly deltaChannel = new Channel<string>();
  private readonly speechChannel = new Channel<SpeechSegment>();
  private readonly toolChannel = new Channel<ToolCall>();
  private settle!: { resolve: (done: ResponseDone) => void; reject: (error: VoiceGatewayError) => void };
  private doneEvent: ResponseDone | null = null;
  private failure: VoiceGatewayError | null = null;
  /** Replies repeating this one (finals absorbed into it), while it streams. */
  private followers: ReplyStream[] = [];

  constructor(
    readonly turnId: string,
    private readonly host: ReplyHost,
  ) {
    this.done = new Promise<ResponseDone>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // A caller that only reads the deltas must not get an unhandled rejection from `done`.
    this.done.catch(() => undefined);
  }

  get deltas(): AsyncIterable<string> {
    return this.deltaChannel;
  }

  get speech(): AsyncIterable<SpeechSegment> {
    return this.speechChannel;
  }

  get toolCalls(): AsyncIterable<ToolCall> {
    return this.toolChannel;
  }

  get text(): string {
    return this.deltaChannel.values.join('');
  }

  get heard(): HeardTracker {
    return this.absorbedInto?.heard ?? this.ownHeard;
  }

  cancel(options: CancelOptions = {}): Promise<ResponseDone> {
    if (this.absorbedInto !== null) {
      void this.absorbedInto.cancel(options);
      return this.done;
    }
    if (this.finished && this.doneEvent === null) return this.done;
    const heardChars = options.heardChars ?? (this.heard.used ? this.heard.chars : undefined);
    if (this.doneEvent !== null) {
      // Finished streaming: only a completed reply that was not heard in full has anything to truncate.
      if (this.doneEvent.status === 'completed' && heardChars !== undefined)
        this.host.sendCancel(this.doneEvent.responseId, heardChars);
      return this.done;
    }
    // Before response.created the reply is (or is about to be) the active response: a cancel without id stops it.
    this.host.sendCancel(this.responseId, heardChars);
    return this.done;
  }

  /** response.created for this reply's turn. */
  bind(responseId: string): void {
    this.responseId = responseId;
    for (const follower of this.followers) follower.bind(responseId);
  }

  /** turn.absorbed: `committed` answers this final: repeat it, what it already had and what is still to come. */
  follow(committed: ReplyStream): void {
    if (this.finished) return;
    this.absorbedInto = committed;
    this.responseId = committed.responseId;
    for (const text of committed.deltaChannel.values) this.deltaChannel.push(text);
    for (const segment of committed.speechChannel.values) this.speechChannel.push(segment);
    for (const call of committed.toolChannel.values) this.toolChannel.push(call);
    if (committed.doneEvent !== null) this.handle(committed.doneEvent);
    else if (committed.failure !== null) this.fail(committed.failure);
    else committed.followers.push(this);
  }

  /** One event of this reply's response. */
  handle(event: ServerEvent): void {
    if (this.finished) return;
    for (const follower of this.followers) follower.handle(event);
    switch (event.type) {
      case 'response.delta':
        return this.deltaChannel.push(event.text);
      case 'response.speech':
        return this.speechChannel.push({ index: event.index, text: event.text });
      case 'response.tool_call':
        return this.toolChannel.push(event);
      case 'response.done':
        this.doneEvent = event;
        this.finished = true;
        this.followers = [];
        for (const channel of [this.deltaChannel, this.speechChannel, this.toolChannel]) channel.end();
        return this.settle.resolve(event);
      default:
        return;
    }
  }

  /** No response.done will come: iterators throw `error` after what they already yielded, `done` rejects. */
  fail(error: VoiceGatewayError): void {
    if (this.finished) return;
    for (const follower of this.followers.splice(0)) follower.fail(error);
    this.failure = error;
    this.finished = true;
    for (const channel of [this.deltaChannel, this.speechChannel, this.toolChannel]) channel.fail(error);
    this.settle.reject(error);
  }
}
