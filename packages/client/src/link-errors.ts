// The errors the link ends with, each with its client-facing message, and two small rules about frames: the seq
// of an event, and which queued frames belong to the session they were made for.
import { VoiceGatewayError } from './errors.js';
import type { OutgoingEvent } from './link-types.js';
import type { ServerEvent } from './wire.js';

export function openFailed(url: string, err: unknown): VoiceGatewayError {
  return new VoiceGatewayError('CLIENT_CONNECT_FAILED', `Could not open a WebSocket to ${url}: ${String(err)}`, {
    cause: err,
  });
}

/** A browser cannot read why an upgrade was refused: the message says where to look. */
export function closedBeforeReady(url: string, closeCode: number | undefined): VoiceGatewayError {
  const hint = 'the gateway may have refused the token or origin (GET /v1/info says whether a token is required)';
  const message = `The connection to ${url} closed before session.ready (${closeCode ?? 'no close code'}); ${hint}.`;
  return new VoiceGatewayError('CLIENT_CONNECT_FAILED', message, { retryable: true, ...codeOf(closeCode) });
}

export function finalClose(closeCode: number): VoiceGatewayError {
  const message = `The gateway closed the connection with ${closeCode}; reconnecting would not help.`;
  return new VoiceGatewayError('CLIENT_CONNECTION_LOST', message, { closeCode });
}

export function reconnectsFailed(attempts: number, closeCode: number | undefined): VoiceGatewayError {
  const message = `The connection dropped and ${attempts} reconnect attempts failed.`;
  return new VoiceGatewayError('CLIENT_CONNECTION_LOST', message, { retryable: true, ...codeOf(closeCode) });
}

export function closedBeforeReadyByClient(): VoiceGatewayError {
  return new VoiceGatewayError('CLIENT_CLOSED', 'The session was closed before it was ready.');
}

export function noResume(): VoiceGatewayError {
  const message = 'The gateway does not offer session resume; the client continues in a new session.';
  return new VoiceGatewayError('CLIENT_SESSION_LOST', message, { retryable: true });
}

function codeOf(closeCode: number | undefined): { closeCode?: number } {
  return closeCode === undefined ? {} : { closeCode };
}

/** An event's seq, or 0 when a (non-conforming) server sent none. */
export function seqOf(event: ServerEvent): number {
  return typeof event.seq === 'number' ? event.seq : 0;
}

/** Frames that only make sense in the session they were made for (a reset drops them from the queue). */
export function sessionBound(event: OutgoingEvent): boolean {
  // A cancel without responseId stops the active response: it follows a queued turn into the new session.
  return (
    event.type === 'tool.result' ||
    event.type === 'ping' ||
    (event.type === 'response.cancel' && event.responseId !== undefined)
  );
}
