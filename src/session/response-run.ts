// The life of one assistant reply: created → streaming (⇄ tool steps) → done | interrupted | failed. It
// forwards each text delta the moment it arrives, feeds speech, runs tool calls as soon as their arguments are
// complete, and guarantees exactly one response.done. The session commits what historyMessages() returns.
import type { Logger } from 'pino';
import { GatewayError, toGatewayError } from '../errors.js';
import type { GatewayObserver } from '../metrics.js';
import type { ResponseStatus, ServerEventBody, Usage } from '../protocol.js';
import { heardDisplayLength } from '../speech/heard.js';
import type { SpeechSegment } from '../speech/segmenter.js';
import { ToolCallAssembler, type AssembledCall, type ToolCallFragment } from '../tools/call-assembler.js';
import type { ToolOutcome } from '../tools/registry.js';
import type { ChatEvent, ChatMessage, ChatOutcome, ChatRequest, ChatStreamer, UpstreamToolSpec } from '../upstream/types.js';
import { markReply } from './history.js';
import { SpeechTrack } from './speech-track.js';
import type { SessionToolRunner } from './tool-runner.js';

export type ResponseState = 'created' | 'streaming' | 'tool-wait' | 'done' | 'interrupted' | 'failed';

/** Spoken when a tool runs this long before anything of the response was spoken (voice-anchors.md §6). */
export const FILLER_DELAY_MS = 700;
export const FILLER_TEXT = 'One moment.';

/**
 * The abort reason of a barge-in, created once: `abort()` without a reason builds a new DOMException and
 * captures its stack on every cancel. Same name and message as the default, so tools see an ordinary AbortError.
 */
const INTERRUPTED = new DOMException('This operation was aborted', 'AbortError');

/** Which tool the model must use, for the first step of a response; later steps are always `auto`. */
export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

export interface ResponseRunOptions {
  responseId: string;
  turnId: string;
  chat: ChatStreamer;
  /** The request of the first step; later steps append the tool messages to its messages. */
  request: Omit<ChatRequest, 'signal' | 'tools' | 'toolChoice'>;
  tools: SessionToolRunner;
  maxToolSteps: number;
  /** Default `auto`. A named tool is the only one offered on the first step (as `required`). */
  toolChoice?: ToolChoice;
  /**
   * `wait` (protocol v1, the default): a client tool call waits for the client's tool.result inside the
   * response. `end-response` (Realtime): the response completes with the call; its output arrives later as
   * a conversation item and the client starts the next response. Server tools run inside the response either way.
   */
  clientCalls?: 'wait' | 'end-response';
  /**
   * Reasoning read from `<think>` tags inside `content` (config THINK_TAGS): `drop` (the default) hides it;
   * `display` also sends it, tags included, in response.delta and response.done.text. Never spoken, never in history.
   */
  thinkTags?: 'drop' | 'display';
  observer?: GatewayObserver;
  emit: (event: ServerEventBody) => void;
  onSettled: (run: ResponseRun, status: ResponseStatus, heardLength: number) => void;
  logger: Logger;
}

interface RunningCall {
  call: AssembledCall;
  outcome: Promise<ToolOutcome>;
}

/** A finished tool step: its text range in the response's display text, its calls and their outcomes. */
interface ToolStep {
  textStart: number;
  textEnd: number;
  calls: AssembledCall[];
  outcomes: ToolOutcome[];
}

export class ResponseRun {
  readonly responseId: string;
  readonly turnId: string;
  private stateValue: ResponseState = 'created';
  private sentText = '';
  private usage: Usage | undefined;
  private firstTokenMs: number | null = null;
  private firstSpeechMs: number | null = null;
  private readonly startedAt = performance.now();
  /** When the first upstream request was handed to the chat client: the gateway's own pre-request time. */
  private requestedAt: number | null = null;
  private readonly abort = new AbortController();
  private readonly track = new SpeechTrack((segment) => this.emitSpeech(segment));
  private readonly steps: ToolStep[] = [];
  private onToolFragment: (fragment: ToolCallFragment) => void = () => {};
  private fillerTimer: NodeJS.Timeout | undefined;
  /** Where the current step's text starts in sentText. */
  private stepTextStart = 0;
  /** Client calls that ended the response (clientCalls `end-response`); history has no tool message for them. */
  private readonly deferred = new Set<string>();
  private lastFinishReason: string | null = null;
  /** THINK_TAGS=display: the text shown (sentText with the think blocks), which then differs from sentText. */
  private readonly showThinking: boolean;
  private shownText = '';

  constructor(private readonly options: ResponseRunOptions) {
    this.responseId = options.responseId;
    this.turnId = options.turnId;
    this.showThinking = options.thinkTags === 'display';
  }

  get state(): ResponseState {
    return this.stateValue;
  }

  /** The ids of the client calls the response ended with (clientCalls `end-response`). */
  get deferredCallIds(): ReadonlySet<string> {
    return this.deferred;
  }

  /** The upstream's last finish_reason (`stop`, `length`, `tool_calls`…), null before one arrived. */
  get finishReason(): string | null {
    return this.lastFinishReason;
  }

  get isSettled(): boolean {
    return this.stateValue === 'done' || this.stateValue === 'interrupted' || this.stateValue === 'failed';
  }

  /** Emits response.created and runs the steps. Never throws; every failure ends in response.done. */
  start(): void {
    this.options.emit({ type: 'response.created', responseId: this.responseId, turnId: this.turnId });
    this.stateValue = 'streaming';
    this.options.observer?.responseStarted();
    this.options.logger.info('response started');
    this.runSteps().catch((err: unknown) => this.fail(err));
  }

  /**
   * Barge-in. Idempotent: returns false when already settled. Aborts the upstream request (its socket closes at
   * once) and running tools (their signal aborts), stops speech, and sends response.done synchronously, so
   * nothing of this response can follow it. `heardChars` counts speech characters the listener heard.
   */
  interrupt(heardChars?: number): boolean {
    if (this.isSettled) return false;
    this.stateValue = 'interrupted';
    this.abort.abort(INTERRUPTED);
    this.track.cancel();
    clearTimeout(this.fillerTimer);
    const heardLength = heardChars === undefined ? this.sentText.length : this.heardLength(heardChars);
    this.options.logger.debug({ heardChars, sentChars: this.sentText.length, heardLength }, 'response interrupted');
    this.settle('interrupted', heardLength);
    return true;
  }

  /** Maps heardChars of the speech text to a prefix length of the display text (never mid-word). */
  heardLength(heardChars: number): number {
    return heardDisplayLength(this.track.segments, heardChars, this.sentText);
  }

  /**
   * The messages this reply adds to history, given how much of it was heard: each finished tool step (its
   * heard text, its calls, one tool message per call) and then the heard final text, marked if cut short.
   */
  historyMessages(heardLength: number, status: ResponseStatus): ChatMessage[] {
    const messages = this.stepMessages(heardLength);
    const finalStart = this.steps.at(-1)?.textEnd ?? 0;
    const finalText = this.sentText.slice(finalStart, Math.max(finalStart, heardLength));
    if (finalText.trim() !== '') {
      messages.push({ role: 'assistant', content: markReply(finalText, status === 'completed' ? 'none' : status) });
    }
    return messages;
  }

  /** Each finished tool step as the upstream expects it: the assistant's tool_calls, then one tool message per call. */
  private stepMessages(heardLength: number): ChatMessage[] {
    const messages: ChatMessage[] = [];
    for (const step of this.steps) {
      const text = this.sentText.slice(step.textStart, Math.max(step.textStart, Math.min(step.textEnd, heardLength)));
      messages.push({
        role: 'assistant',
        content: text.trim() === '' ? null : text,
        tool_calls: step.calls.map((c) => ({
          id: c.id,
          type: 'function',
          function: { name: c.name, arguments: c.args.ok && c.argumentsText.trim() !== '' ? c.argumentsText : '{}' },
        })),
      });
      step.calls.forEach((call, i) => {
        if (this.deferred.has(call.id)) return;
        const outcome = step.outcomes[i];
        const content = outcome === undefined ? '' : outcome.ok ? outcome.output : JSON.stringify({ error: outcome.error });
        messages.push({ role: 'tool', tool_call_id: call.id, content });
      });
    }
    return messages;
  }

  private async runSteps(): Promise<void> {
    const tools = this.options.tools.specs();
    const base = this.options.request;
    for (let step = 0; ; step += 1) {
      // Past the cap the model is asked for a final answer without tools (tools stay declared: history refers to them).
      const toolsAllowed = step < this.options.maxToolSteps;
      const textStart = this.sentText.length;
      const assembler = new ToolCallAssembler();
      const running: RunningCall[] = [];
      let flushed = false;
      this.onToolFragment = (fragment) => {
        if (!toolsAllowed) return;
        // Speak what the model said before the call ("Let me check…") at the first sign of a call, not when
        // the call's arguments are complete or the tool has returned.
        if (!flushed) this.track.flush();
        flushed = true;
        for (const call of assembler.add(fragment)) running.push(this.startCall(call, running.length === 0));
      };
      this.stepTextStart = textStart;
      this.requestedAt ??= performance.now();
      const offered = this.toolsFor(step, toolsAllowed, tools);
      const outcome: ChatOutcome = await this.options.chat.stream(
        {
          ...base,
          messages: [...base.messages, ...this.stepMessages(this.sentText.length)],
          ...(offered.tools.length > 0 ? offered : {}),
          signal: this.abort.signal,
          logger: this.options.logger,
        },
        (event) => this.onChatEvent(event),
      );
      if (this.isSettled) return;
      if (outcome.aborted) throw new GatewayError('GW_INTERNAL', { message: 'The response was aborted.' });
      this.lastFinishReason = outcome.finishReason;
      this.addUsage(outcome.usage);
      if (toolsAllowed) for (const call of assembler.finish()) running.push(this.startCall(call, running.length === 0));
      // finish_reason "tool_calls" with no calls (a recorded asi1 quirk) is simply the end of the answer.
      if (running.length === 0) return this.complete(outcome);
      this.stateValue = 'tool-wait';
      // Calls start in completion order; history lists them in the model's own (index) order.
      running.sort((a, b) => a.call.index - b.call.index);
      const outcomes = await Promise.all(running.map((r) => r.outcome));
      clearTimeout(this.fillerTimer);
      if (this.isSettled) return;
      this.stateValue = 'streaming';
      this.steps.push({ textStart, textEnd: this.sentText.length, calls: running.map((r) => r.call), outcomes });
      if (running.some((r) => this.deferred.has(r.call.id))) return this.complete(outcome);
    }
  }

  /** The tools and tool_choice of one step: toolChoice applies to the first step only, so tool steps can end. */
  private toolsFor(step: number, toolsAllowed: boolean, all: UpstreamToolSpec[]): { tools: UpstreamToolSpec[]; toolChoice: 'auto' | 'none' | 'required' } {
    const choice = this.options.toolChoice ?? 'auto';
    if (!toolsAllowed || choice === 'none') return { tools: all, toolChoice: 'none' };
    if (step > 0 || choice === 'auto') return { tools: all, toolChoice: 'auto' };
    if (choice === 'required') return { tools: all, toolChoice: 'required' };
    const named = all.filter((t) => t.function.name === choice.name);
    return named.length > 0 ? { tools: named, toolChoice: 'required' } : { tools: all, toolChoice: 'auto' };
  }

  private startCall(call: AssembledCall, firstOfStep: boolean): RunningCall {
    if (firstOfStep) this.track.flush();
    const runsOn = this.options.tools.runsOn(call.name);
    const deferred = runsOn === 'client' && this.options.clientCalls === 'end-response';
    this.options.emit({
      type: 'response.tool_call',
      responseId: this.responseId,
      callId: call.id,
      name: call.name,
      arguments: call.argumentsText,
      runsOn: runsOn === 'client' ? 'client' : 'server',
    });
    this.options.logger.info({ callId: call.id, tool: call.name, runsOn }, 'tool call');
    if (deferred) {
      this.deferred.add(call.id);
      return { call, outcome: Promise.resolve<ToolOutcome>({ ok: true, output: '' }) };
    }
    if (firstOfStep && !this.track.hasSpoken) {
      clearTimeout(this.fillerTimer);
      this.fillerTimer = setTimeout(() => {
        if (!this.isSettled && !this.track.hasSpoken) this.track.aside(FILLER_TEXT);
      }, FILLER_DELAY_MS);
    }
    const outcome = call.args.ok
      ? this.options.tools.run(call.id, call.name, call.args.value, this.abort.signal)
      : Promise.resolve<ToolOutcome>({ ok: false, error: call.args.error });
    return { call, outcome };
  }

  private onChatEvent(event: ChatEvent): void {
    // Late events of a settled response are dropped: nothing may follow response.done.
    if (this.isSettled) return;
    switch (event.type) {
      case 'text': {
        if (event.text === '') return;
        if (this.firstTokenMs === null) this.firstTokenMs = performance.now() - this.startedAt;
        // Steps are one reply: "Let me check." + "It is 84." must not run together as "check.It".
        const text = this.sentText.length === this.stepTextStart && this.stepTextStart > 0 && /\S$/.test(this.sentText) && /^\S/.test(event.text) ? ` ${event.text}` : event.text;
        this.sentText += text;
        if (this.showThinking) this.shownText += text;
        this.options.emit({ type: 'response.delta', responseId: this.responseId, text });
        this.track.push(text);
        return;
      }
      case 'tool_call':
        return this.onToolFragment(event);
      case 'finish':
        // The answer is over: speak the last sentence now rather than when the HTTP body closes.
        if (event.reason !== 'tool_calls') this.track.flush();
        return;
      case 'reasoning':
        // Reasoning is never reply text and never spoken; think blocks from `content` may be shown (THINK_TAGS).
        if (this.showThinking && event.raw !== undefined && event.raw !== '') {
          this.shownText += event.raw;
          this.options.emit({ type: 'response.delta', responseId: this.responseId, text: event.raw });
        }
        return;
      case 'usage':
        // Usage is taken from the outcome.
        return;
    }
  }

  private emitSpeech(segment: SpeechSegment): void {
    if (this.firstSpeechMs === null) this.firstSpeechMs = performance.now() - this.startedAt;
    this.options.emit({ type: 'response.speech', responseId: this.responseId, index: segment.index, text: segment.text });
  }

  private addUsage(usage: ChatOutcome['usage']): void {
    if (usage === null) return;
    const sum = this.usage ?? { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
    this.usage = {
      promptTokens: sum.promptTokens + usage.promptTokens,
      completionTokens: sum.completionTokens + usage.completionTokens,
      totalTokens: sum.totalTokens + usage.totalTokens,
    };
  }

  private complete(outcome: ChatOutcome): void {
    this.track.finish();
    this.stateValue = 'done';
    this.options.logger.debug({ finishReason: outcome.finishReason, attempts: outcome.attempts }, 'upstream finished');
    this.settle('completed', this.sentText.length);
  }

  private fail(err: unknown): void {
    if (this.isSettled) return;
    const error = toGatewayError(err);
    // Speak what was already shown, so the spoken and displayed text agree up to the failure.
    this.track.finish();
    clearTimeout(this.fillerTimer);
    this.abort.abort(); // running tools stop too
    this.stateValue = 'failed';
    this.options.logger.debug({ err: error.cause ?? error }, 'response failed');
    this.settle('failed', this.sentText.length, error);
  }

  private settle(status: ResponseStatus, heardLength: number, error?: GatewayError): void {
    const timings = {
      firstTokenMs: round(this.firstTokenMs),
      firstSpeechMs: round(this.firstSpeechMs),
      totalMs: round(performance.now() - this.startedAt) ?? 0,
    };
    const usage = status === 'completed' ? this.usage : undefined;
    this.options.emit({
      type: 'response.done',
      responseId: this.responseId,
      status,
      text: this.showThinking ? this.shownText : this.sentText,
      ...(usage ? { usage } : {}),
      timings,
      ...(error ? { error: { code: error.code, message: error.message, retryable: error.retryable } } : {}),
    });
    // One structured line per response: its outcome, timings and usage (never its text).
    const log = status === 'failed' ? this.options.logger.warn.bind(this.options.logger) : this.options.logger.info.bind(this.options.logger);
    log({ status, timings, usage, toolSteps: this.steps.length, chars: this.sentText.length, errorCode: error?.code }, 'response done');
    const addedMs = this.firstTokenMs !== null && this.requestedAt !== null ? round(this.requestedAt - this.startedAt) ?? undefined : undefined;
    this.options.observer?.responseSettled({
      status,
      timings,
      ...(usage ? { usage } : {}),
      ...(error ? { errorCode: error.code } : {}),
      ...(addedMs === undefined ? {} : { addedMs }),
    });
    this.options.onSettled(this, status, heardLength);
  }
}

function round(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms * 10) / 10;
}
