// The life of one assistant reply: its states (run-state.ts), the step loop against the upstream, each event
// forwarded the moment it arrives, and exactly one response.done. Tool calls are in tool-step.ts; text, steps,
// usage, timings and what history gets are in reply-record.ts. The session commits what historyMessages() returns.
import { GatewayError, toGatewayError } from '../errors.js';
import type { ResponseStatus, ServerEventBody } from '../protocol.js';
import type { SpeechSegment } from '../speech/segmenter.js';
import type { InterruptCause, TurnTrace } from '../tracing/turn-trace.js';
import type { ChatEvent, ChatMessage, ChatOutcome } from '../upstream/types.js';
import { HeldOutput } from './held-output.js';
import { ReplyRecord } from './reply-record.js';
import type { ResponseRunOptions } from './run-options.js';
import { reportSettled } from './run-report.js';
import { RunLifecycle, type ResponseState } from './run-state.js';
import { SpeechTrack } from './speech-track.js';
import { SpokenReply } from './spoken-reply.js';
import { callModel } from './step-call.js';
import { handOffFor, keptCalls, withoutEscalation, type HandOff } from './escalation.js';
import { Filler, ToolStep, toolsFor, type ToolStepContext } from './tool-step.js';

export type { ResponseState } from './run-state.js';
export type { ResponseRunOptions } from './run-options.js';
export { FILLER_DELAY_MS, FILLER_TEXT, type ToolChoice } from './tool-step.js';

/**
 * The abort reason of a barge-in, created once: `abort()` without a reason builds a new DOMException and
 * captures its stack on every cancel. Same name and message as the default, so tools see an ordinary AbortError.
 */
const INTERRUPTED = new DOMException('This operation was aborted', 'AbortError');

export class ResponseRun {
  readonly responseId: string;
  private currentTurnId: string;
  private readonly lifecycle: RunLifecycle;
  private readonly record: ReplyRecord;
  private readonly abort = new AbortController();
  private readonly track = new SpeechTrack((segment) => this.emitSpeech(segment));
  private readonly filler = new Filler(this.track, () => this.isSettled);
  /** The tool calls of the step being streamed. */
  private step: ToolStep | null = null;
  private lastFinishReason: string | null = null;
  /** A speculation's held output; null for a reply to a committed turn. */
  private readonly hold: HeldOutput | null;
  /** Its spans (tracing on), or null. */
  readonly trace: TurnTrace | null;

  constructor(private readonly options: ResponseRunOptions) {
    this.responseId = options.responseId;
    this.trace = options.trace ?? null;
    this.currentTurnId = options.turnId;
    this.lifecycle = new RunLifecycle(options.responseId);
    this.record = new ReplyRecord(options.thinkTags === 'display');
    this.hold = options.speculative === true ? new HeldOutput() : null;
  }

  /** The turn it answers; a speculation takes the committed turn's id when adopted. */
  get turnId(): string {
    return this.currentTurnId;
  }

  /** Completion tokens spent so far: the upstream's count when it gave one, else estimated from the text. */
  get tokensSpent(): number {
    return this.record.usage?.completionTokens ?? Math.ceil(this.record.text.length / 4);
  }

  get state(): ResponseState {
    return this.lifecycle.state;
  }

  /** The ids of the client calls the response ended with (clientCalls `end-response`). */
  get deferredCallIds(): ReadonlySet<string> {
    return this.record.deferred;
  }

  /** The upstream's last finish_reason (`stop`, `length`, `tool_calls`…), null before one arrived. */
  get finishReason(): string | null {
    return this.lastFinishReason;
  }

  get isSettled(): boolean {
    return this.lifecycle.isSettled;
  }

  /**
   * Emits response.created (a speculation: only once adopted) and runs the steps. Never throws; every failure
   * ends in response.done.
   */
  start(): void {
    if (this.hold === null) this.announce();
    if (this.isSettled) return;
    this.lifecycle.moveTo('streaming');
    this.options.logger.info('response started');
    this.runSteps().catch((err: unknown) => this.fail(err));
  }

  /**
   * The turn committed with what this speculation answered: from now on it is the turn's reply. Sends
   * response.created and everything held at once, times it from now, and lets held tool calls run.
   */
  adopt(turnId: string, traceparent?: string): void {
    if (this.hold === null || !this.hold.holding) return;
    this.trace?.adopted(turnId, traceparent);
    this.currentTurnId = turnId;
    this.record.committedNow();
    this.announce();
    this.hold.release(this.options.emit);
  }

  /** The turn committed with other words, or the speculation went stale: stop it, and drop all it held. */
  discard(reason = 'stale'): void {
    if (this.hold === null || !this.hold.holding) return;
    this.hold.drop();
    this.trace?.discarded(reason);
    if (this.isSettled) return;
    this.lifecycle.moveTo('interrupted');
    this.stop();
  }

  /**
   * Barge-in. Idempotent: returns false when already settled. Aborts the upstream request (its socket closes at
   * once) and running tools (their signal aborts), stops speech, and sends response.done synchronously, so
   * nothing of this response can follow it. `heardChars` counts speech characters the listener heard; `cause`
   * is for the trace.
   */
  interrupt(heardChars?: number, cause: InterruptCause = 'client_cancel'): boolean {
    if (this.isSettled) return false;
    // While an adopted speculation's held events go out, a barge-in waits for them: deltas add up to done.text.
    if (this.hold?.flushing === true) return this.hold.afterFlush(() => this.interrupt(heardChars, cause));
    const traced = this.trace?.interrupting(cause, heardChars);
    this.lifecycle.moveTo('interrupted');
    this.stop();
    const sentChars = this.record.text.length;
    const heardLength = heardChars === undefined ? sentChars : this.record.heardLength(this.track.segments, heardChars);
    this.options.logger.debug({ heardChars, sentChars, heardLength, cause }, 'response interrupted');
    // Ended before settle() ends the turn's span: a child never outlives its parent in a trace viewer.
    traced?.(heardLength, sentChars);
    this.settle('interrupted', heardLength);
    return true;
  }

  /** What outlives the run once it settled, for a client still speaking it (see SpokenReply). */
  spoken(): SpokenReply {
    return new SpokenReply(this.responseId, this.record, this.track.segments, this.trace);
  }

  /** What the quality figures read of a settled reply (see ReplyLedger). */
  get figures(): ReplyRecord {
    return this.record;
  }

  /** The messages this reply adds to history, given how much of it was heard (see ReplyRecord). */
  historyMessages(heardLength: number, status: ResponseStatus): ChatMessage[] {
    return this.record.historyMessages(heardLength, status);
  }

  private async runSteps(): Promise<void> {
    const base = this.options.request;
    /** Set once the fast model escalated: the deeper model answers the rest, without tools. */
    let handOff: HandOff | null = null;
    for (let index = 0; ; index += 1) {
      // Past the cap the model is asked for a final answer without tools (tools stay declared: history refers to them).
      const toolsAllowed = handOff === null && index < this.options.maxToolSteps;
      const model = handOff?.model ?? base.model;
      const textStart = this.record.beginStep(model);
      const step = new ToolStep(this.stepContext(), toolsAllowed);
      this.step = step;
      const offered = withoutEscalation(
        toolsFor(index, toolsAllowed, this.options.tools.specs(), this.options.toolChoice),
        handOff !== null,
      );
      const messages = [...this.record.stepMessages(this.record.text.length), ...(handOff?.messages ?? [])];
      const call = { index, model, messages, offered, signal: this.abort.signal };
      const outcome = await callModel(this.options, this.trace, call, (event) => this.onChatEvent(event));
      if (this.isSettled) return;
      if (outcome.aborted) throw new GatewayError('GW_INTERNAL', { message: 'The response was aborted.' });
      this.lastFinishReason = outcome.finishReason;
      this.record.addUsage(outcome.usage);
      const running = step.finish();
      // Announcing a call may have interrupted the run (a send that drops a slow consumer).
      if (this.isSettled) return;
      // finish_reason "tool_calls" with no calls (a recorded asi1 quirk) is simply the end of the answer.
      if (running.length === 0) return this.complete(outcome);
      this.lifecycle.moveTo('tool-wait');
      const outcomes = await Promise.all(running.map((r) => r.outcome));
      this.filler.clear();
      if (this.isSettled) return;
      this.lifecycle.moveTo('streaming');
      if (handOff === null) {
        handOff = handOffFor(running, this.options.tools.escalation(), this.record.text.slice(textStart));
        if (handOff !== null) this.options.logger.info({ model: handOff.model }, 'escalated to a deeper model');
      }
      // The escalation call itself is not kept: history holds one assistant turn, the fast and deep parts joined.
      const kept = keptCalls(running, outcomes, handOff !== null);
      if (kept.calls.length > 0) this.record.addStep({ textStart, textEnd: this.record.text.length, ...kept });
      if (running.some((r) => this.record.deferred.has(r.call.id))) return this.complete(outcome);
    }
  }

  /** Aborts the upstream request (its socket closes at once) and running tools, and stops speech. */
  private stop(): void {
    this.abort.abort(INTERRUPTED);
    this.track.cancel();
    this.filler.clear();
  }

  private announce(): void {
    // Counted before response.created goes out: a send that interrupts this run settles it at once.
    this.options.observer?.responseStarted();
    this.options.emit({ type: 'response.created', responseId: this.responseId, turnId: this.turnId });
  }

  /** Every event of this response goes out here: held while it is a speculation. */
  private send(event: ServerEventBody): void {
    if (this.hold?.holding === true) this.hold.push(event);
    else if (this.hold?.dropped !== true) this.options.emit(event);
  }

  private stepContext(): ToolStepContext {
    return {
      responseId: this.responseId,
      tools: this.options.tools,
      maxCalls: this.options.maxToolCallsPerStep,
      endOnClientCall: this.options.clientCalls === 'end-response',
      track: this.track,
      signal: this.abort.signal,
      deferred: this.record.deferred,
      filler: this.filler,
      trace: this.trace,
      authorised: this.hold?.authorised ?? null,
      emit: (event) => this.send(event),
      logger: this.options.logger,
    };
  }

  private onChatEvent(event: ChatEvent): void {
    // Late events of a settled response are dropped: nothing may follow response.done.
    if (this.isSettled) return;
    switch (event.type) {
      case 'text': {
        if (event.text === '') return;
        const text = this.record.appendText(event.text);
        this.send({ type: 'response.delta', responseId: this.responseId, text });
        this.track.push(text);
        return;
      }
      case 'tool_call':
        this.record.produced();
        return this.step?.add(event);
      case 'finish':
        // The answer is over: speak the last sentence now rather than when the HTTP body closes.
        if (event.reason !== 'tool_calls') this.track.flush();
        return;
      case 'reasoning':
        // Reasoning is never reply text and never spoken; think blocks from `content` may be shown (THINK_TAGS).
        if (this.options.thinkTags === 'display' && event.raw !== undefined && event.raw !== '') {
          this.record.appendShownReasoning(event.raw);
          this.send({ type: 'response.delta', responseId: this.responseId, text: event.raw });
        }
        return;
      case 'usage':
        // Usage is taken from the outcome.
        return;
    }
  }

  private emitSpeech(segment: SpeechSegment): void {
    this.record.speechStarted();
    if (segment.index === 0) this.trace?.firstSpeech(segment.text.length, segment.displayStart === segment.displayEnd);
    this.send({ type: 'response.speech', responseId: this.responseId, index: segment.index, text: segment.text });
  }

  private complete(outcome: ChatOutcome): void {
    this.track.finish();
    // Speaking the last sentence may have interrupted the run (a send that drops a slow consumer).
    if (this.isSettled) return;
    this.lifecycle.moveTo('done');
    this.options.logger.debug({ finishReason: outcome.finishReason, attempts: outcome.attempts }, 'upstream finished');
    this.settle('completed', this.record.text.length);
  }

  private fail(err: unknown): void {
    if (this.isSettled) return;
    const error = toGatewayError(err);
    // Speak what was already shown, so the spoken and displayed text agree up to the failure.
    this.track.finish();
    if (this.isSettled) return; // that speech may have interrupted the run, as in complete()
    this.filler.clear();
    this.abort.abort(); // running tools stop too
    this.lifecycle.moveTo('failed');
    this.options.logger.debug({ err: error.cause ?? error }, 'response failed');
    this.settle('failed', this.record.text.length, error);
  }

  private settle(status: ResponseStatus, heardLength: number, error?: GatewayError): void {
    // A speculation that ended before its turn committed ends for the client only if it is adopted.
    if (this.hold?.holding === true) return this.hold.deferSettle(() => this.settle(status, heardLength, error));
    if (this.hold?.dropped === true) return;
    reportSettled(this.record, { ...this.options, responseId: this.responseId, status, error, trace: this.trace });
    this.options.onSettled(status, heardLength);
  }
}
