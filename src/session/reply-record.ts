// The bookkeeping of one reply: its text (sent and shown), finished tool steps, usage and timings, and what it
// adds to history given how much was heard. Pure state: it sends nothing and never calls the upstream or tools.
import type { ResponseStatus, ResponseTimings, Usage } from '../protocol.js';
import { heardDisplayLength } from '../speech/heard.js';
import type { SpeechSegment } from '../speech/segmenter.js';
import type { AssembledCall } from '../tools/call-assembler.js';
import type { ToolOutcome } from '../tools/registry.js';
import type { ChatMessage, ChatUsage } from '../upstream/types.js';
import { markReply } from './history.js';

/** A finished tool step: its text range in the reply's text, its calls and their outcomes (index order). */
export interface FinishedStep {
  textStart: number;
  textEnd: number;
  calls: AssembledCall[];
  outcomes: ToolOutcome[];
}

export class ReplyRecord {
  private sent = '';
  /** THINK_TAGS=display: the text shown (the sent text with the think blocks), which then differs from it. */
  private shown = '';
  private stepStart = 0;
  private readonly steps: FinishedStep[] = [];
  /** Client calls that ended the response (clientCalls `end-response`); history has no tool message for them. */
  readonly deferred = new Set<string>();
  private usageSum: Usage | undefined;
  /** When the turn committed: timings count from here (for a speculation, from its adoption). */
  private startedAt = performance.now();
  private speculative = false;
  private firstTokenAt: number | null = null;
  private firstSpeechAt: number | null = null;
  private stepModel = '';
  /** The model of each upstream request, in order. */
  readonly requestModels: string[] = [];
  /** Every model that produced part of the reply (text or a tool call), in order, each once in a row. */
  readonly models: string[] = [];
  /** Tokens by the model that used them (an escalated reply has two), for cost estimates. */
  readonly usageByModel = new Map<string, { promptTokens: number; completionTokens: number }>();
  /** When the first upstream request was handed to the chat client: the gateway's own pre-request time. */
  private requestedAt: number | null = null;

  constructor(private readonly showThinking: boolean) {}

  /** The reply text as sent in response.delta (think blocks aside): what speech and history are cut from. */
  get text(): string {
    return this.sent;
  }

  /** The text of response.done: the sent text, or with THINK_TAGS=display the shown one. */
  get displayText(): string {
    return this.showThinking ? this.shown : this.sent;
  }

  get usage(): Usage | undefined {
    return this.usageSum;
  }

  get stepCount(): number {
    return this.steps.length;
  }

  /** A step's request goes out to `model`: its text starts here. Returns that start. */
  beginStep(model: string): number {
    this.stepStart = this.sent.length;
    this.stepModel = model;
    this.requestModels.push(model);
    this.requestedAt ??= performance.now();
    return this.stepStart;
  }

  /** Appends reply text and returns it as it is to be sent: steps are one reply, joined by a space where needed. */
  /** The current step's model produced something (text or a tool call). */
  produced(): void {
    if (this.models.at(-1) !== this.stepModel) this.models.push(this.stepModel);
  }

  appendText(delta: string): string {
    this.produced();
    this.firstTokenAt ??= performance.now();
    // "Let me check." + "It is 84." must not run together as "check.It".
    const joined =
      this.sent.length === this.stepStart && this.stepStart > 0 && /\S$/.test(this.sent) && /^\S/.test(delta);
    const text = joined ? ` ${delta}` : delta;
    this.sent += text;
    if (this.showThinking) this.shown += text;
    return text;
  }

  /** Think-tag reasoning shown with THINK_TAGS=display: part of the shown text only. */
  appendShownReasoning(raw: string): void {
    this.shown += raw;
  }

  speechStarted(): void {
    this.firstSpeechAt ??= performance.now();
  }

  /** A speculation was adopted: its turn committed now, and whatever it held reaches the client now. */
  committedNow(): void {
    this.startedAt = performance.now();
    this.speculative = true;
  }

  addUsage(usage: ChatUsage | null): void {
    if (usage === null) return;
    const mine = this.usageByModel.get(this.stepModel) ?? { promptTokens: 0, completionTokens: 0 };
    this.usageByModel.set(this.stepModel, {
      promptTokens: mine.promptTokens + usage.promptTokens,
      completionTokens: mine.completionTokens + usage.completionTokens,
    });
    const sum = this.usageSum ?? { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
    this.usageSum = {
      promptTokens: sum.promptTokens + usage.promptTokens,
      completionTokens: sum.completionTokens + usage.completionTokens,
      totalTokens: sum.totalTokens + usage.totalTokens,
    };
  }

  addStep(step: FinishedStep): void {
    this.steps.push(step);
  }

  /** Tool calls of the finished steps, and how many of them failed. */
  toolStats(): { calls: number; errors: number } {
    const outcomes = this.steps.flatMap((step) => step.outcomes);
    return { calls: outcomes.length, errors: outcomes.filter((o) => !o.ok).length };
  }

  timings(): ResponseTimings {
    return {
      firstTokenMs: this.sinceCommit(this.firstTokenAt),
      firstSpeechMs: this.sinceCommit(this.firstSpeechAt),
      totalMs: this.sinceCommit(performance.now()) ?? 0,
      speculative: this.speculative,
    };
  }

  /** The gateway's time before its first upstream request, once a token arrived (the metric's addedMs); none for a speculation. */
  addedMs(): number | undefined {
    return this.firstTokenAt !== null && this.requestedAt !== null && !this.speculative
      ? (round(this.requestedAt - this.startedAt) ?? undefined)
      : undefined;
  }

  /** ms from the commit to `at`; what was held until the commit went out with it, at 0. */
  private sinceCommit(at: number | null): number | null {
    return at === null ? null : round(Math.max(0, at - this.startedAt));
  }

  /** Maps heardChars of the speech text to a prefix length of the reply text (never mid-word). */
  heardLength(segments: readonly SpeechSegment[], heardChars: number): number {
    return heardDisplayLength(segments, heardChars, this.sent);
  }

  /**
   * The messages this reply adds to history, given how much of it was heard: each finished tool step (its
   * heard text, its calls, one tool message per call) and then the heard final text, marked if cut short.
   */
  historyMessages(heardLength: number, status: ResponseStatus): ChatMessage[] {
    const messages = this.stepMessages(heardLength);
    const finalStart = this.steps.at(-1)?.textEnd ?? 0;
    const finalText = this.sent.slice(finalStart, Math.max(finalStart, heardLength));
    if (finalText.trim() !== '') {
      messages.push({ role: 'assistant', content: markReply(finalText, status === 'completed' ? 'none' : status) });
    } else if (status !== 'completed' && messages.length > 0) {
      // Cut off inside or right after a tool step: the model must still learn the reply did not end there.
      messages.push({ role: 'assistant', content: markReply('', status).trim() });
    }
    return messages;
  }

  /** Each finished tool step as the upstream expects it: the assistant's tool_calls, then one tool message per call. */
  stepMessages(heardLength: number): ChatMessage[] {
    const messages: ChatMessage[] = [];
    for (const step of this.steps) {
      const text = this.sent.slice(step.textStart, Math.max(step.textStart, Math.min(step.textEnd, heardLength)));
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
        const content =
          outcome === undefined ? '' : outcome.ok ? outcome.output : JSON.stringify({ error: outcome.error });
        messages.push({ role: 'tool', tool_call_id: call.id, content });
      });
    }
    return messages;
  }
}

function round(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms * 10) / 10;
}
