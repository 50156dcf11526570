// How a settled reply is reported: its response.done event, one structured log line (outcome, timings and usage,
// never its text), the observer's summary for metrics and the end of its trace. Kept apart so response-run.ts
// holds the run's flow.
import type { Logger } from 'pino';
import type { GatewayError } from '../errors.js';
import type { GatewayObserver } from '../metrics.js';
import type { ResponseStatus, ServerEventBody } from '../protocol.js';
import type { TurnTrace } from '../tracing/turn-trace.js';
import type { ReplyRecord } from './reply-record.js';

export interface SettledReport {
  responseId: string;
  status: ResponseStatus;
  error: GatewayError | undefined;
  emit: (event: ServerEventBody) => void;
  logger: Logger;
  observer?: GatewayObserver | undefined;
  trace: TurnTrace | null;
}

export function reportSettled(record: ReplyRecord, report: SettledReport): void {
  const { status, error, logger } = report;
  const timings = record.timings();
  const usage = status === 'completed' ? record.usage : undefined;
  report.emit({
    type: 'response.done',
    responseId: report.responseId,
    status,
    text: record.displayText,
    models: [...record.models],
    ...(usage ? { usage } : {}),
    timings,
    ...(error ? { error: { code: error.code, message: error.message, retryable: error.retryable } } : {}),
  });
  const log = status === 'failed' ? logger.warn.bind(logger) : logger.info.bind(logger);
  log(
    {
      status,
      timings,
      usage,
      models: record.models,
      requests: record.requestModels,
      toolSteps: record.stepCount,
      chars: record.text.length,
      errorCode: error?.code,
    },
    'response done',
  );
  // Metrics first (they free the client's slot of its limits), then the trace; neither may stop the other, nor
  // cost the reply its place in history: the caller's onSettled runs after this. (A negative token count once made
  // prom-client throw here.)
  guarded(logger, () => observeSettled(record, report, usage, timings));
  guarded(logger, () =>
    report.trace?.end({
      status,
      models: record.models,
      timings,
      usage,
      toolSteps: record.stepCount,
      chars: record.text.length,
      error,
    }),
  );
}

function guarded(logger: Logger, report: () => void): void {
  try {
    report();
  } catch (err) {
    logger.error({ err }, 'reporting a settled response failed');
  }
}

/** The observer's summary: metrics, and the per-client response counts. */
function observeSettled(
  record: ReplyRecord,
  report: SettledReport,
  usage: ReplyRecord['usage'],
  timings: ReturnType<ReplyRecord['timings']>,
): void {
  const { status, error } = report;
  const addedMs = record.addedMs();
  report.observer?.responseSettled({
    status,
    timings,
    upstreamModels: [...record.requestModels],
    ...(usage ? { usage } : {}),
    ...(error ? { errorCode: error.code } : {}),
    ...(addedMs === undefined ? {} : { addedMs }),
  });
}
