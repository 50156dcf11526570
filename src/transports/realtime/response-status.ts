// How a native response.done reads in the Realtime API: its status and status_details (from the status and the
// upstream finish_reason), and its usage in the Realtime shape.
import type { ServerEventBody, Usage } from '../../protocol.js';
import { errorType } from './errors.js';

type DoneEvent = Extract<ServerEventBody, { type: 'response.done' }>;

/** Native status + the upstream finish_reason → Realtime status and status_details. */
export function realtimeStatus(
  done: DoneEvent,
  finishReason: string | null,
): { status: string; details: Record<string, unknown> | null } {
  switch (done.status) {
    case 'interrupted':
      return { status: 'cancelled', details: { type: 'cancelled', reason: 'client_cancelled' } };
    case 'failed':
      return {
        status: 'failed',
        details: {
          type: 'failed',
          error: {
            type: errorType(done.error?.code ?? 'GW_INTERNAL'),
            code: done.error?.code ?? 'GW_INTERNAL',
            message: done.error?.message ?? '',
          },
        },
      };
    case 'completed':
      if (finishReason === 'length')
        return { status: 'incomplete', details: { type: 'incomplete', reason: 'max_output_tokens' } };
      if (finishReason === 'content_filter')
        return { status: 'incomplete', details: { type: 'incomplete', reason: 'content_filter' } };
      return { status: 'completed', details: null };
  }
}

/** Upstream usage in the Realtime shape (all text tokens); zeros when the upstream reported none (cancelled, failed). */
export function realtimeUsage(usage: Usage | null): Record<string, unknown> {
  const input = usage?.promptTokens ?? 0;
  const output = usage?.completionTokens ?? 0;
  return {
    total_tokens: usage?.totalTokens ?? input + output,
    input_tokens: input,
    output_tokens: output,
    input_token_details: { text_tokens: input, audio_tokens: 0, image_tokens: 0, cached_tokens: 0 },
    output_token_details: { text_tokens: output, audio_tokens: 0 },
  };
}
