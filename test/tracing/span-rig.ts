// The rig of the span-tree tests: a Tracing around the SDK's in-memory exporter (a SimpleSpanProcessor hands each
// span over as it ends), the finished spans read as a tree, and W3C traceparents made up for a client.
import { randomBytes } from 'node:crypto';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type Span,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { expect } from 'vitest';
import { createTracing } from '../../src/tracing/otel-sdk.js';
import type { Tracing } from '../../src/tracing/tracing.js';
import { until } from '../helpers.js';

export type { ReadableSpan };

/** A client's trace context: a fresh trace id and parent span id, sampled. */
export function clientTraceparent(): { traceparent: string; traceId: string; spanId: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceparent: `00-${traceId}-${spanId}-01`, traceId, spanId };
}

/** The traceparent a span is sent on as (what an upstream sees for the span it is called from). */
export function traceparentOf(span: ReadableSpan): string {
  const { traceId, spanId } = span.spanContext();
  return `00-${traceId}-${spanId}-01`;
}

/** The spans started and not yet ended, by span id: a span never ended is a leak in a long-running process. */
class OpenSpans implements SpanProcessor {
  readonly open = new Map<string, string>();
  onStart(span: Span): void {
    this.open.set(span.spanContext().spanId, span.name);
  }
  onEnd(span: ReadableSpan): void {
    this.open.delete(span.spanContext().spanId);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export class SpanRecorder {
  readonly exporter = new InMemorySpanExporter();
  readonly tracing: Tracing;
  private readonly openSpans = new OpenSpans();

  constructor(options: { captureText?: boolean } = {}) {
    this.tracing = createTracing({
      spanProcessors: [this.openSpans, new SimpleSpanProcessor(this.exporter)],
      captureText: options.captureText ?? false,
    });
  }

  get spans(): ReadableSpan[] {
    return this.exporter.getFinishedSpans();
  }

  named(name: string): ReadableSpan[] {
    return this.spans.filter((span) => span.name === name);
  }

  /** The one finished span called `name` (fails when there are none or several). */
  one(name: string): ReadableSpan {
    const found = this.named(name);
    expect(
      found.map((span) => span.name),
      `spans called ${name}`,
    ).toEqual([name]);
    return found[0]!;
  }

  /** Waits until a span called `name` has ended (spans end after the events a client waits for). */
  async ended(name: string, count = 1): Promise<ReadableSpan[]> {
    await until(() => this.named(name).length >= count);
    return this.named(name);
  }

  /** The finished spans whose parent is `span`, in the order they started. */
  childrenOf(span: ReadableSpan): ReadableSpan[] {
    const { spanId } = span.spanContext();
    return this.spans
      .filter((child) => child.parentSpanContext?.spanId === spanId)
      .sort((a, b) => hrMs(a.startTime) - hrMs(b.startTime));
  }

  /** `span`'s subtree as names (children indented by two spaces), for one readable assertion. */
  tree(span: ReadableSpan, depth = 0): string[] {
    return [`${'  '.repeat(depth)}${span.name}`, ...this.childrenOf(span).flatMap((c) => this.tree(c, depth + 1))];
  }

  reset(): void {
    this.exporter.reset();
  }

  /** Call once the gateway is closed: every span its turns started has ended, none twice (the SDK warns then). */
  async close(): Promise<void> {
    await until(() => this.openSpans.open.size === 0, 2_000).catch(() => undefined);
    expect([...this.openSpans.open.values()], 'spans started and never ended').toEqual([]);
    await this.tracing.shutdown();
  }
}

/** A span's HrTime as milliseconds since the epoch. */
export function hrMs(time: [number, number]): number {
  return time[0] * 1000 + time[1] / 1e6;
}
