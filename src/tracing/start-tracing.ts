// Tracing's switch. startTracing() loads the OpenTelemetry SDK (a dynamic import of otel-sdk.ts) only when an OTLP
// endpoint is configured; otherwise it returns null, and every per-turn call site checks for null once, so a
// gateway without an endpoint loads no SDK and does no tracing work per turn.
import type { Logger } from 'pino';
import type { TracingConfig } from '../config-tracing.js';
import type { Tracing } from './tracing.js';

/**
 * The gateway's tracing, or null when no OTLP endpoint is configured (then the SDK is never even loaded). The
 * SDK reads the standard OTEL_* variables itself (headers, timeout, sampler, service name and resource).
 */
export async function startTracing(config: TracingConfig, logger: Logger): Promise<Tracing | null> {
  if (!config.enabled) return null;
  const { startOtlpTracing } = await import('./otel-sdk.js');
  const tracing = startOtlpTracing({ captureText: config.userText, logger });
  logger.info({ endpoint: config.endpoint, userText: config.userText }, 'exporting traces over OTLP/HTTP');
  return tracing;
}

/** How long a stopping gateway waits for its last spans to be exported (a collector that is down must not hold it). */
export const FINAL_EXPORT_MS = 3_000;

/** Exports the spans still queued and stops tracing, giving up after `timeoutMs`. Never throws. */
export async function stopTracing(tracing: Tracing, logger: Logger, timeoutMs = FINAL_EXPORT_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const outcome = await Promise.race([tracing.shutdown().then(() => 'done' as const), timedOut]).catch((err: unknown) =>
    String(err instanceof Error ? err.message : err),
  );
  clearTimeout(timer);
  if (outcome !== 'done') logger.warn({ reason: outcome }, 'the last traces could not be exported before stopping');
}
