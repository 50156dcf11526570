// One step's model call: the run's first request with the step's model, messages and tools, streamed to the run's
// sink, and (tracing on) its `chat <model>` span, which the upstream client reports into and sends upstream as the
// traceparent. Kept apart so response-run.ts holds the step loop itself.
import type { TurnTrace } from '../tracing/turn-trace.js';
import type { ChatEventSink, ChatMessage, ChatOutcome, UpstreamToolSpec } from '../upstream/types.js';
import type { ResponseRunOptions } from './run-options.js';

export interface StepCall {
  /** 0 for the first step; each tool round adds one. */
  index: number;
  model: string;
  /** What follows the first request's messages: the tool steps so far, and an escalation's hand-off. */
  messages: ChatMessage[];
  offered: { tools: UpstreamToolSpec[]; toolChoice: 'auto' | 'none' | 'required' };
  signal: AbortSignal;
}

export function callModel(
  options: Pick<ResponseRunOptions, 'chat' | 'request' | 'logger'>,
  trace: TurnTrace | null,
  step: StepCall,
  sink: ChatEventSink,
): Promise<ChatOutcome> {
  const base = options.request;
  const span =
    trace?.chat({ model: step.model, step: step.index, maxTokens: base.maxTokens, temperature: base.temperature }) ??
    null;
  const streaming = options.chat.stream(
    {
      ...base,
      model: step.model,
      messages: [...base.messages, ...step.messages],
      ...(step.offered.tools.length > 0 ? step.offered : {}),
      signal: step.signal,
      logger: options.logger,
      ...(span === null ? {} : { trace: span }),
    },
    sink,
  );
  return span === null ? streaming : span.track(streaming);
}
