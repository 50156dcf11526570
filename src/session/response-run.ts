// The life of one assistant reply: created → streaming → done | interrupted | failed. It forwards each upstream
// text delta the moment it arrives, feeds the speech segmenter, and guarantees exactly one response.done.
// It does not own history: the session commits what the run reports when it settles.
import type { Logger } from 'pino';
import { GatewayError, toGatewayError } from '../errors.js';
import type { ResponseStatus, ServerEventBody, Usage } from '../protocol.js';
import { heardDisplayLength } from '../speech/heard.js';
import { SpeechSegmenter, type SpeechSegment } from '../speech/segmenter.js';
import type { ChatEvent, ChatOutcome, ChatRequest, ChatStreamer } from '../upstream/types.js';

export type ResponseState = 'created' | 'streaming' | 'done' | 'interrupted' | 'failed';

/** What the session needs to commit once a run has settled. */
export interface SettledResponse {
  status: ResponseStatus;
  /** All display text that was forwarded as response.delta. */
  sentText: string;
  /** The part of sentText the user heard (all of it unless the run was interrupted with heardChars). */
  heardText: string;
}

export interface ResponseRunOptions {
  responseId: string;
  turnId: string;
  chat: ChatStreamer;
  request: Omit<ChatRequest, 'signal'>;
  emit: (event: ServerEventBody) => void;
  onSettled: (run: ResponseRun, settled: SettledResponse) => void;
  logger: Logger;
  now?: () => number;
}

export class ResponseRun {
  readonly responseId: string;
  readonly turnId: string;
  private stateValue: ResponseState = 'created';
  private sentText = '';
  private usage: Usage | undefined;
  private firstTokenMs: number | null = null;
  private firstSpeechMs: number | null = null;
  private readonly startedAt: number;
  private readonly abort = new AbortController();
  private readonly segmenter: SpeechSegmenter;
  private readonly options: ResponseRunOptions;
  private readonly now: () => number;

  constructor(options: ResponseRunOptions) {
    this.options = options;
    this.responseId = options.responseId;
    this.turnId = options.turnId;
    this.now = options.now ?? (() => performance.now());
    this.startedAt = this.now();
    this.segmenter = new SpeechSegmenter((segment) => this.emitSpeech(segment));
  }

  get state(): ResponseState {
    return this.stateValue;
  }

  get isSettled(): boolean {
    return this.stateValue === 'done' || this.stateValue === 'interrupted' || this.stateValue === 'failed';
  }

  /** Speech segments sent so far, and the display text they came from: needed to map heardChars later. */
  get speech(): { segments: readonly SpeechSegment[]; displayText: string } {
    return { segments: this.segmenter.segments, displayText: this.sentText };
  }

  /** Emits response.created and starts streaming. Never throws; every failure ends in response.done. */
  start(): void {
    this.options.emit({ type: 'response.created', responseId: this.responseId, turnId: this.turnId });
    this.stateValue = 'streaming';
    this.options.logger.info('response started');
    let outcome: Promise<ChatOutcome>;
    try {
      outcome = this.options.chat.stream({ ...this.options.request, signal: this.abort.signal }, (event) => this.onChatEvent(event));
    } catch (err) {
      this.fail(err);
      return;
    }
    outcome.then(
      (result) => this.complete(result),
      (err: unknown) => this.fail(err),
    );
  }

  /**
   * Barge-in. Idempotent: returns false when the run had already settled. Aborts the upstream request (its
   * socket closes at once), stops speech, and sends response.done with status "interrupted" synchronously, so
   * nothing of this response can follow it.
   */
  interrupt(heardChars?: number): boolean {
    if (this.isSettled) return false;
    this.stateValue = 'interrupted';
    this.abort.abort();
    this.segmenter.cancel();
    const heardText = heardChars === undefined ? this.sentText : heardPrefix(this.segmenter.segments, heardChars, this.sentText);
    this.options.logger.info({ heardChars, sentChars: this.sentText.length, heardLength: heardText.length }, 'response interrupted');
    this.sendDone('interrupted');
    this.options.onSettled(this, { status: 'interrupted', sentText: this.sentText, heardText });
    return true;
  }

  private onChatEvent(event: ChatEvent): void {
    // Late events of a settled response are dropped: no delta may follow response.done.
    if (this.isSettled) return;
    switch (event.type) {
      case 'text':
        if (event.text === '') return;
        if (this.firstTokenMs === null) this.firstTokenMs = this.now() - this.startedAt;
        this.sentText += event.text;
        this.options.emit({ type: 'response.delta', responseId: this.responseId, text: event.text });
        this.segmenter.push(event.text);
        return;
      case 'usage':
        this.usage = event.usage;
        return;
      case 'reasoning':
      case 'finish':
      case 'tool_call':
        // Reasoning is never reply text and never spoken. Tool calls are handled by the tools layer (issue 3).
        return;
    }
  }

  private emitSpeech(segment: SpeechSegment): void {
    if (this.firstSpeechMs === null) this.firstSpeechMs = this.now() - this.startedAt;
    this.options.emit({ type: 'response.speech', responseId: this.responseId, index: segment.index, text: segment.text });
  }

  private complete(outcome: ChatOutcome): void {
    if (this.isSettled) return;
    if (outcome.aborted) {
      // Only interrupt() aborts, and it settles first; reaching here means an abort from outside the run.
      this.fail(new GatewayError('GW_INTERNAL', { message: 'The response was aborted.' }));
      return;
    }
    this.segmenter.finish();
    this.stateValue = 'done';
    this.options.logger.info({ finishReason: outcome.finishReason, attempts: outcome.attempts }, 'response completed');
    this.sendDone('completed');
    this.options.onSettled(this, { status: 'completed', sentText: this.sentText, heardText: this.sentText });
  }

  private fail(err: unknown): void {
    if (this.isSettled) return;
    const error = toGatewayError(err);
    // Speak what was already shown, so the spoken and displayed text agree up to the failure.
    this.segmenter.finish();
    this.stateValue = 'failed';
    this.options.logger.warn({ err: error, code: error.code, cause: error.cause }, 'response failed');
    this.sendDone('failed', error);
    this.options.onSettled(this, { status: 'failed', sentText: this.sentText, heardText: this.sentText });
  }

  private sendDone(status: ResponseStatus, error?: GatewayError): void {
    this.options.emit({
      type: 'response.done',
      responseId: this.responseId,
      status,
      text: this.sentText,
      ...(this.usage && status === 'completed' ? { usage: this.usage } : {}),
      timings: { firstTokenMs: round(this.firstTokenMs), firstSpeechMs: round(this.firstSpeechMs), totalMs: round(this.now() - this.startedAt) ?? 0 },
      ...(error ? { error: { code: error.code, message: error.message, retryable: error.retryable } } : {}),
    });
  }
}

/** The display-text prefix a listener heard, given heardChars of the concatenated speech text. */
export function heardPrefix(segments: readonly SpeechSegment[], heardChars: number, displayText: string): string {
  return displayText.slice(0, heardDisplayLength(segments, heardChars, displayText));
}

function round(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms * 10) / 10;
}
