// The OpenTelemetry SDK, set up: a tracer provider of its own (never the global one, so two gateways in one process
// and the host application keep theirs), the W3C propagator, and the gateway's resource. Imported only when tracing
// is on (tracing.ts imports it dynamically); tests build one around an in-memory exporter with createTracing().
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { setGlobalErrorHandler, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
  type Resource,
} from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Logger } from 'pino';
import type { Tracing } from './tracing.js';

/** service.name unless OTEL_SERVICE_NAME (or service.name in OTEL_RESOURCE_ATTRIBUTES) says otherwise. */
export const SERVICE_NAME = 'asi1-voice-gateway';
/** The instrumentation scope of every span the gateway makes. */
export const SCOPE_NAME = 'asi1-voice-gateway';

export interface TracingOptions {
  spanProcessors: SpanProcessor[];
  captureText?: boolean;
  /** Default: the gateway's resource (gatewayResource()). */
  resource?: Resource;
}

/**
 * A Tracing around its own BasicTracerProvider, which reads OTEL_TRACES_SAMPLER(_ARG) and the span limits from
 * the environment. No context manager is installed: spans are parented explicitly, through the response.
 */
export function createTracing(options: TracingOptions): Tracing {
  const version = packageVersion();
  const provider = new BasicTracerProvider({
    resource: options.resource ?? gatewayResource(version),
    spanProcessors: options.spanProcessors,
  });
  return {
    tracer: provider.getTracer(SCOPE_NAME, version),
    propagator: new W3CTraceContextPropagator(),
    captureText: options.captureText ?? false,
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/**
 * Traces exported over OTLP/HTTP (JSON) in batches. The exporter reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT,
 * _HEADERS, _TIMEOUT, _COMPRESSION and the certificate variables; the batch processor OTEL_BSP_*. A failed export
 * (the collector down) is logged at warn, and the SDK's other diagnostics at their level; a turn never waits on it.
 */
export function startOtlpTracing(options: { captureText: boolean; logger: Logger }): Tracing {
  const log = options.logger.child({ component: 'tracing' });
  diag.setLogger(diagLogger(log), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  setGlobalErrorHandler((err) =>
    log.warn({ err: String(err instanceof Error ? err.message : err) }, 'trace export failed'),
  );
  return createTracing({
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
    captureText: options.captureText,
  });
}

/** The SDK's defaults (telemetry.sdk.*), the gateway's name and version, then whatever OTEL_* variables say. */
export function gatewayResource(version = packageVersion()): Resource {
  return defaultResource()
    .merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: SERVICE_NAME,
        [ATTR_SERVICE_VERSION]: version,
        // Tells replicas apart (docker compose runs two); a fresh one per process, as the conventions suggest.
        'service.instance.id': randomUUID(),
        'host.name': hostname(),
      }),
    )
    .merge(detectResources({ detectors: [envDetector] }));
}

/** The gateway's package version: package.json is two levels up from src/tracing, three from dist/src/tracing. */
function packageVersion(): string {
  for (const relative of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'asi1-voice-gateway' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not there: try the next place
    }
  }
  return 'unknown';
}

function diagLogger(logger: Logger): DiagLogger {
  const write =
    (level: 'error' | 'warn' | 'info' | 'debug' | 'trace') =>
    (message: string, ...args: unknown[]): void =>
      logger[level]({ details: args.map(String) }, message);
  return {
    error: write('error'),
    warn: write('warn'),
    info: write('info'),
    debug: write('debug'),
    verbose: write('trace'),
  };
}
