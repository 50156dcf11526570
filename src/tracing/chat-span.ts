// The span of one model call (`chat <model>`, kind CLIENT, GenAI conventions): its attempts and retries (with their
// reasons), time to headers and to the first token, the upstream's response id and model, tokens and finish
// reason. The upstream request carries its traceparent, so a tracing-aware upstream or proxy joins the trace.
import {
  defaultTextMapSetter,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
} from '@opentelemetry/semantic-conventions';
import { ERROR_CATALOGUE } from '../errors.js';
import { GEN_AI, GW } from './attributes.js';
import type { ChatCallTrace, Tracing } from './tracing.js';

/** What a model call asked for. */
export interface ChatCall {
  model: string;
  /** The step of the response (0 first; each tool round adds one). */
  step: number;
  maxTokens?: number | undefined;
  temperature?: number | undefined;
}

/** What the call settled with (the upstream client's ChatOutcome). */
export interface CallOutcome {
  finishReason: string | null;
  usage: { promptTokens: number; completionTokens: number } | null;
  aborted: boolean;
  attempts: number;
}

/** The failure of a call: a GatewayError (its code is the span's error.type), or anything else (GW_INTERNAL). */
export function errorOf(err: unknown): { code: string; message: string; status: number | undefined } {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    const { message, status } = err as { message?: unknown; status?: unknown };
    return {
      code: err.code,
      message: typeof message === 'string' ? message : err.code,
      status: typeof status === 'number' ? status : undefined,
    };
  }
  return { code: 'GW_INTERNAL', message: 'Internal gateway error.', status: undefined };
}

/**
 * Marks `span` failed with its GW_* code: error.type, an ERROR status and an exception event (no stack). A model
 * service's own words (an error that came with an HTTP status) may quote the prompt: unless text may be recorded,
 * the catalogue's sentence stands in for them.
 */
export function recordFailure(span: Span, err: unknown, captureText: boolean): void {
  const error = errorOf(err);
  const catalogued = (ERROR_CATALOGUE as Record<string, { message: string } | undefined>)[error.code]?.message;
  const message = error.status === undefined || captureText ? error.message : (catalogued ?? error.code);
  span.setAttribute(ATTR_ERROR_TYPE, error.code);
  span.recordException({ name: 'GatewayError', code: error.code, message });
  span.setStatus({ code: SpanStatusCode.ERROR, message: `${error.code}: ${message}` });
}

export class ChatSpan implements ChatCallTrace {
  readonly headers: Record<string, string> = {};
  private readonly span: Span;
  private readonly startedAt = performance.now();
  private attemptAt = 0;
  private attempts = 0;
  private readonly retryReasons: string[] = [];

  constructor(
    private readonly tracing: Tracing,
    parent: Context,
    call: ChatCall,
    base: Attributes,
    /** The response's first token, for its first-speech span. */
    private readonly onFirstToken: () => void,
  ) {
    const attributes: Attributes = { ...base, [GEN_AI.operation]: 'chat', [GEN_AI.requestModel]: call.model };
    attributes[GW.step] = call.step;
    if (call.maxTokens !== undefined) attributes[GEN_AI.requestMaxTokens] = call.maxTokens;
    if (call.temperature !== undefined) attributes[GEN_AI.requestTemperature] = call.temperature;
    this.span = tracing.tracer.startSpan(`chat ${call.model}`, { kind: SpanKind.CLIENT, attributes }, parent);
    tracing.propagator.inject(trace.setSpan(parent, this.span), this.headers, defaultTextMapSetter);
  }

  attemptStarted(attempt: number, server: { address: string; port: number }): void {
    this.attempts = attempt;
    this.attemptAt = performance.now();
    if (attempt > 1) return;
    this.span.setAttributes({
      [ATTR_SERVER_ADDRESS]: server.address,
      [ATTR_SERVER_PORT]: server.port,
      // The concurrency cap's queue, the circuit breaker and a warm connection on its way, before the first send.
      [GW.waitMs]: round(this.attemptAt - this.startedAt),
    });
  }

  responseStarted(status: number): void {
    this.span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    this.span.setAttribute(GW.timeToHeadersMs, round(performance.now() - this.attemptAt));
  }

  firstToken(): void {
    this.span.setAttribute(GW.timeToFirstTokenMs, round(performance.now() - this.attemptAt));
    this.onFirstToken();
  }

  finished(responseId: string | undefined, model: string | undefined): void {
    if (responseId !== undefined) this.span.setAttribute(GEN_AI.responseId, responseId);
    if (model !== undefined) this.span.setAttribute(GEN_AI.responseModel, model);
  }

  retrying(attempt: number, code: string, status: number | undefined, delayMs: number): void {
    this.retryReasons.push(code);
    const event: Attributes = { [GW.attempt]: attempt, [ATTR_ERROR_TYPE]: code, [GW.retryDelayMs]: delayMs };
    if (status !== undefined) event[ATTR_HTTP_RESPONSE_STATUS_CODE] = status;
    this.span.addEvent('retry', event);
  }

  /** Ends the span when `streaming` settles, and passes its outcome (or failure) on unchanged. */
  track<T extends CallOutcome>(streaming: Promise<T>): Promise<T> {
    return streaming.then(
      (outcome) => {
        this.end(outcome);
        return outcome;
      },
      (err: unknown) => {
        this.fail(err);
        throw err;
      },
    );
  }

  private end(outcome: CallOutcome): void {
    const { span } = this;
    this.counts(outcome.attempts);
    if (outcome.finishReason !== null) span.setAttribute(GEN_AI.finishReasons, [outcome.finishReason]);
    if (outcome.usage !== null) {
      span.setAttribute(GEN_AI.inputTokens, outcome.usage.promptTokens);
      span.setAttribute(GEN_AI.outputTokens, outcome.usage.completionTokens);
    }
    // A barge-in aborted it: cancellation is a status of the response, not an error of the call.
    if (outcome.aborted) span.setAttribute(GW.aborted, true);
    span.end();
  }

  private fail(err: unknown): void {
    this.counts(this.attempts);
    recordFailure(this.span, err, this.tracing.captureText);
    this.span.end();
  }

  private counts(attempts: number): void {
    this.span.setAttribute(GW.attempts, attempts);
    if (this.retryReasons.length > 0) this.span.setAttribute(GW.retryReasons, this.retryReasons);
  }
}

export function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
