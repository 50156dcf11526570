// The phases of one upstream attempt (chat-attempt.ts), the body reader each one holds, and the only moves
// between them: checkTransition throws on any other, so a wiring bug fails loudly instead of limping on.
import type { ErrorBodyReader } from './error-body-reader.js';
import type { JsonBodyReader } from './json-body-reader.js';
import type { SseStreamReader } from './sse-stream-reader.js';

export type PhaseName =
  /** Sent (or queued for a connection); no response head yet. */
  | 'connecting'
  /** A 1xx informational head arrived; the final head is still to come. */
  | 'interim'
  /** A 2xx head of unknown content type: waiting for the first non-blank byte ('{' → JSON, else SSE). */
  | 'sniffing'
  /** A 2xx SSE body: events reach the sink as they arrive. */
  | 'streaming'
  /** A 2xx body that is one JSON document, held whole until its end. */
  | 'reading-json'
  /** A non-2xx head: its body is read (bounded) for the error message. */
  | 'reading-error'
  /** undici reported the response's end or error: undici is done with the request, nothing to abort. */
  | 'ended'
  /** The attempt's promise resolved; every later callback is ignored. */
  | 'settled';

export type Phase =
  | { readonly name: 'connecting' }
  | { readonly name: 'interim'; readonly body: ErrorBodyReader }
  | { readonly name: 'sniffing'; readonly json: JsonBodyReader }
  | { readonly name: 'streaming'; readonly sse: SseStreamReader }
  | { readonly name: 'reading-json'; readonly json: JsonBodyReader }
  | { readonly name: 'reading-error'; readonly body: ErrorBodyReader }
  | { readonly name: 'ended' }
  | { readonly name: 'settled' };

// Shared: the phases without a reader cost no allocation.
export const CONNECTING: Phase = Object.freeze({ name: 'connecting' });
export const ENDED: Phase = Object.freeze({ name: 'ended' });
export const SETTLED: Phase = Object.freeze({ name: 'settled' });

/** The allowed moves. Any phase but 'settled' may settle (timeouts, the caller's abort, failures). */
const NEXT: Readonly<Record<PhaseName, readonly PhaseName[]>> = {
  connecting: ['interim', 'sniffing', 'streaming', 'reading-json', 'reading-error', 'ended', 'settled'],
  interim: ['interim', 'sniffing', 'streaming', 'reading-json', 'reading-error', 'ended', 'settled'],
  sniffing: ['streaming', 'reading-json', 'ended', 'settled'],
  streaming: ['ended', 'settled'],
  'reading-json': ['ended', 'settled'],
  'reading-error': ['ended', 'settled'],
  ended: ['settled'],
  settled: [],
};

/** Throws a plain Error unless `from → to` is one of the moves above. */
export function checkTransition(from: PhaseName, to: PhaseName): void {
  if (!NEXT[from].includes(to)) throw new Error(`illegal upstream attempt transition: ${from} → ${to}`);
}
