// The spans of one response: its root (`turn`, or `speculation` until one is adopted) and the children the run adds
// at points it passes anyway (a model call, a tool call, the first speech segment, a barge-in, a heard-commit),
// never per token. The root continues the client's traceparent when it sent one. docs/tracing.md lists them all.
import {
  defaultTextMapGetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { GEN_AI, GW, providerName, SPAN } from './attributes.js';
import { ChatSpan, recordFailure, round, type ChatCall } from './chat-span.js';
import type { Tracing } from './tracing.js';

export type { ChatCall } from './chat-span.js';

/** Why a response was interrupted (the `asi1_gateway.interrupt.cause` of its interrupt span). */
export type InterruptCause =
  'client_cancel' | 'new_turn' | 'user_continued' | 'session_closed' | 'drain' | 'slow_consumer';

export interface TurnStart {
  sessionId: string;
  responseId: string;
  turnId: string;
  endpoint: 'voice' | 'realtime';
  upstream: 'asi1' | 'simulator' | 'custom';
  model: string;
  /** Started on an interim transcript, before its turn committed. */
  speculative: boolean;
  experiment?: { name: string; arm: string; counted: boolean } | undefined;
  /** The client's W3C traceparent (validated at the edge): the root is its child. */
  traceparent?: string | undefined;
  /** What the user said, read only when TRACE_USER_TEXT allows it. */
  userText: () => string | undefined;
}

/** How the response ended, as its response.done said. */
export interface TurnEnd {
  status: 'completed' | 'interrupted' | 'failed';
  models: readonly string[];
  timings: { firstTokenMs: number | null; firstSpeechMs: number | null; totalMs: number };
  usage: { promptTokens: number; completionTokens: number } | undefined;
  toolSteps: number;
  chars: number;
  error: unknown;
}

/** Ends a tool call's span with its outcome. */
export type ToolSpanEnd = (outcome: { ok: true } | { ok: false; error: string }) => void;

/** Longest text an attribute gets (turn text, tool arguments): a trace is not a transcript store. */
const MAX_TEXT_CHARS = 8_192;

export class TurnTrace {
  /** When the first token of the response arrived (performance.now()), for the first-speech span. */
  private firstTokenAt: number | null = null;

  private constructor(
    private readonly tracing: Tracing,
    private readonly root: Span,
    /** The root's context: every child's parent. */
    private readonly context: Context,
    /** What every model call of the response carries: the conversation and the provider. */
    private readonly callBase: Attributes,
  ) {}

  static start(tracing: Tracing, start: TurnStart): TurnTrace {
    const parent =
      start.traceparent === undefined
        ? ROOT_CONTEXT
        : tracing.propagator.extract(ROOT_CONTEXT, { traceparent: start.traceparent }, defaultTextMapGetter);
    const attributes: Attributes = {
      [GW.sessionId]: start.sessionId,
      [GW.responseId]: start.responseId,
      [GW.turnId]: start.turnId,
      [GW.endpoint]: start.endpoint,
      [GW.upstreamKind]: start.upstream,
      [GW.model]: start.model,
      [GW.speculative]: start.speculative,
    };
    if (start.experiment !== undefined) {
      attributes[GW.experimentName] = start.experiment.name;
      attributes[GW.experimentArm] = start.experiment.arm;
      attributes[GW.experimentCounted] = start.experiment.counted;
    }
    const text = tracing.captureText ? start.userText() : undefined;
    if (text !== undefined) attributes[GW.userText] = clip(text);
    const name = start.speculative ? SPAN.speculation : SPAN.turn;
    const root = tracing.tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
    return new TurnTrace(tracing, root, trace.setSpan(parent, root), {
      [GEN_AI.provider]: providerName(start.upstream),
      [GEN_AI.conversationId]: start.sessionId,
      [GW.upstreamKind]: start.upstream,
    });
  }

  get traceId(): string {
    return this.root.spanContext().traceId;
  }

  /** The root as a W3C traceparent (what another instance continues the trace from). */
  get traceparent(): string {
    const { traceId, spanId, traceFlags } = this.root.spanContext();
    return `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, '0')}`;
  }

  /** The fields that tie the response's log lines to its trace (the names OpenTelemetry's log bridges use). */
  get logFields(): { trace_id: string; span_id: string } {
    const { traceId, spanId } = this.root.spanContext();
    return { trace_id: traceId, span_id: spanId };
  }

  /** A model call of the response: its span, which the upstream client reports into and propagates. */
  chat(call: ChatCall): ChatSpan {
    return new ChatSpan(this.tracing, this.context, call, this.callBase, () => {
      this.firstTokenAt ??= performance.now();
    });
  }

  /**
   * A tool call, from the moment it runs until its outcome (a client tool: until the client's tool.result). Returns
   * what ends it. `deferred`: a Realtime client call that ends the response instead of being waited for.
   */
  tool(call: { id: string; name: string; runsOn: string; argumentsText: string; deferred: boolean }): ToolSpanEnd {
    const attributes: Attributes = {
      [GEN_AI.operation]: 'execute_tool',
      [GEN_AI.toolName]: call.name,
      [GEN_AI.toolCallId]: call.id,
      // The conventions' words: `extension` runs in the agent (here, the gateway), `function` in the client.
      [GEN_AI.toolType]: call.runsOn === 'client' ? 'function' : 'extension',
      [GW.runsOn]: call.runsOn,
      [GW.toolDeferred]: call.deferred,
    };
    if (this.tracing.captureText) attributes[GEN_AI.toolArguments] = clip(call.argumentsText);
    const span = this.tracing.tracer.startSpan(`execute_tool ${call.name}`, { attributes }, this.context);
    return (outcome) => {
      if (!outcome.ok) {
        span.setAttribute(ATTR_ERROR_TYPE, 'tool_error');
        // The tool's own words may carry what the user asked for.
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: this.tracing.captureText ? clip(outcome.error) : 'tool_error',
        });
      }
      span.end();
    };
  }

  /** The first speech segment went out: a span from the first token (or the start) to it. */
  firstSpeech(chars: number, filler: boolean): void {
    const span = this.tracing.tracer.startSpan(
      SPAN.firstSpeech,
      {
        startTime: this.firstTokenAt ?? undefined,
        attributes: { [GW.speechChars]: chars, [GW.speechFiller]: filler },
      },
      this.context,
    );
    span.end(performance.now());
  }

  /** A barge-in (or another interruption) begins; the returned function ends its span once response.done is out. */
  interrupting(
    cause: InterruptCause,
    heardChars: number | undefined,
  ): (heardLength: number, sentChars: number) => void {
    const attributes: Attributes = { [GW.interruptCause]: cause };
    if (heardChars !== undefined) attributes[GW.heardChars] = heardChars;
    const span = this.tracing.tracer.startSpan(SPAN.interrupt, { attributes }, this.context);
    return (heardLength, sentChars) => {
      span.setAttributes({ [GW.heardLength]: heardLength, [GW.sentChars]: sentChars });
      span.end();
    };
  }

  /** A completed reply the client was still speaking was cut to what was heard (after its root ended). */
  heardCommit(heardChars: number, heardLength: number, sentChars: number): void {
    const attributes = { [GW.heardChars]: heardChars, [GW.heardLength]: heardLength, [GW.sentChars]: sentChars };
    this.tracing.tracer.startSpan(SPAN.heardCommit, { attributes }, this.context).end();
  }

  /**
   * The speculation answers the committed turn: from now on it is the turn's reply. A final whose own traceparent
   * belongs to another trace is linked (the root's parent cannot change once it started).
   */
  adopted(turnId: string, traceparent: string | undefined): void {
    const { root } = this;
    root.updateName(SPAN.turn);
    root.setAttributes({ [GW.turnId]: turnId, [GW.speculationOutcome]: 'adopted' });
    root.addEvent('adopted', { [GW.turnId]: turnId });
    if (traceparent === undefined) return;
    const linked = trace.getSpanContext(
      this.tracing.propagator.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter),
    );
    if (linked !== undefined && linked.traceId !== this.traceId) root.addLink({ context: linked });
  }

  /** The speculation was dropped (other words, a changed prompt): its root ends here, marked discarded. */
  discarded(reason: string): void {
    this.root.setAttributes({ [GW.speculationOutcome]: 'discarded', [GW.discardReason]: reason });
    this.root.end();
  }

  /** The client resumed the session while the response ran (here, or on the instance it moves to). */
  resumed(replayed: number, missedEvents: boolean): void {
    this.root.addEvent('session.resumed', { [GW.resumeReplayed]: replayed, [GW.missedEvents]: missedEvents });
  }

  /** The response settled: its outcome, timings, usage and models; an error's GW_* code. */
  end(end: TurnEnd): void {
    const { root } = this;
    const attributes: Attributes = {
      [GW.status]: end.status,
      [GW.models]: [...end.models],
      [GW.totalMs]: round(end.timings.totalMs),
      [GW.toolSteps]: end.toolSteps,
      [GW.chars]: end.chars,
    };
    if (end.timings.firstTokenMs !== null) attributes[GW.firstTokenMs] = end.timings.firstTokenMs;
    if (end.timings.firstSpeechMs !== null) attributes[GW.firstSpeechMs] = end.timings.firstSpeechMs;
    // Not gen_ai.usage.*: the model calls carry those, and a dashboard summing them must not count a turn twice.
    if (end.usage !== undefined) {
      attributes[GW.inputTokens] = end.usage.promptTokens;
      attributes[GW.outputTokens] = end.usage.completionTokens;
    }
    root.setAttributes(attributes);
    if (end.status === 'failed') recordFailure(root, end.error, this.tracing.captureText);
    root.end();
  }
}

function clip(text: string): string {
  return text.length > MAX_TEXT_CHARS ? `${text.slice(0, MAX_TEXT_CHARS)}…` : text;
}
