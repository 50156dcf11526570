// The link's vocabulary: connection states, what the link tells its owner (the session), and its options.
import type { Backoff } from './backoff.js';
import type { VoiceGatewayError } from './errors.js';
import type { TokenTransport, WebSocketConstructor } from './socket.js';
import type { ClientEvent, ServerEvent, SessionReady, SessionResumed } from './wire.js';

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';
/** Every client event, `turn.interim` included (sent only to a gateway announcing 1.2 or newer). */
export type OutgoingEvent = ClientEvent;

export interface StateDetail {
  /** While reconnecting: the attempt about to be made (1 for the first) and the wait before it. */
  attempt?: number;
  retryInMs?: number;
  /** The close code of the socket that went away. */
  closeCode?: number;
  /** Why the link closed, when it was not session.close(). */
  error?: VoiceGatewayError;
}

/** What the link tells the session. Every callback runs synchronously, in server order. */
export interface LinkOwner {
  /** A server event of the current session, each once, replayed ones included. */
  event(event: ServerEvent): void;
  state(state: ConnectionState, detail: StateDetail): void;
  /** The socket dropped; frames already written to it may never have reached the gateway. */
  dropped(): void;
  /** Our session.resume succeeded. Frames sent from here go out before the queued ones. */
  resumed(event: SessionResumed): void;
  /** A new session replaced ours (resume refused, or off). Frames sent from here go out before the queued ones. */
  reset(ready: SessionReady, reason: VoiceGatewayError): void;
  /** Closed for good: `error` is null after close(). */
  closed(error: VoiceGatewayError | null): void;
}

export interface LinkOptions {
  url: string;
  token: string | undefined;
  WebSocket: WebSocketConstructor;
  tokenVia: TokenTransport;
  /** null: never reconnect. */
  backoff: Backoff | null;
  pingIntervalMs: number;
}
