// Tracing's facade: what the gateway needs of an OpenTelemetry tracer provider, and what the upstream client tells
// a model call's span. `Tracing | null` is passed around; null (no OTLP endpoint) means no tracing work at all.
// Starting it: start-tracing.ts; the SDK: otel-sdk.ts; a turn's spans: turn-trace.ts.
import type { TextMapPropagator, Tracer } from '@opentelemetry/api';

/** An SDK tracer provider and what the gateway needs of it. */
export interface Tracing {
  readonly tracer: Tracer;
  /** W3C Trace Context: reads a client's traceparent, writes the upstream request's. */
  readonly propagator: TextMapPropagator;
  /** TRACE_USER_TEXT: spans may carry what the user said (turn text, tool arguments, the upstream's error words). */
  readonly captureText: boolean;
  /** Exports every ended span now. */
  forceFlush(): Promise<void>;
  /** Exports what is left and stops; spans ended later are dropped. */
  shutdown(): Promise<void>;
}

/**
 * What the upstream client tells the span of one model call (chat-span.ts). Every call happens at a point the
 * client passes anyway (an attempt, a response head, the first token, a finish, a retry), never per token.
 */
export interface ChatCallTrace {
  /** The headers that carry the call's trace context upstream (traceparent, and tracestate when there is one). */
  readonly headers: Readonly<Record<string, string>>;
  /** Attempt `attempt` (1 for the first) is being sent to `server`. */
  attemptStarted(attempt: number, server: { address: string; port: number }): void;
  /** The response head of the current attempt arrived. */
  responseStarted(status: number): void;
  /** The first real token of the current attempt (text, reasoning, a tool call or a finish). */
  firstToken(): void;
  /** The finish chunk named the upstream's response id and model. */
  finished(responseId: string | undefined, model: string | undefined): void;
  /** Attempt `attempt` failed with `code` (and HTTP `status`); the next starts after `delayMs`. */
  retrying(attempt: number, code: string, status: number | undefined, delayMs: number): void;
}
