// A session.resume for a session this instance does not host: taken over from the instance that holds it,
// through scale-out's port (its events are relayed to the client meanwhile), then hosted on this connection.
// Without scale-out the session is simply unknown here.
import type { WebSocket } from 'ws';
import { GatewayError } from '../../errors.js';
import { CLOSE_RESUME_INTERRUPTED, CLOSE_RESUMED_ELSEWHERE, CLOSE_SLOW_CONSUMER } from '../../hosting/close-codes.js';
import type { LoggedEvent } from '../../hosting/event-log.js';
import type { PendingRemoteResume, RestoredSession, ResumeFailure } from '../../hosting/scale-out-port.js';
import { hostRestored } from '../../hosting/session-hosting.js';
import type { HostedSession } from '../../hosting/session-registry.js';
import type { SessionResumeEvent } from '../../protocol.js';
import { closeOrTerminate } from '../connection-guards.js';
import type { FrameInbox } from '../frame-inbox.js';
import type { TransportDeps } from '../transport-deps.js';

/** What a resume needs of the voice connection it runs on (VoiceConnection implements it). */
export interface ResumingConnection {
  readonly deps: TransportDeps;
  readonly socket: WebSocket;
  readonly isOpen: boolean;
  readonly inbox: Pick<FrameInbox, 'dropWaiting'>;
  relay: PendingRemoteResume | null;
  switchTo(entry: HostedSession, replay: readonly LoggedEvent[]): void;
  resumeFailed(reason: ResumeFailure, eventId: string | undefined): void;
}

export function resumeFromAnotherInstance(
  conn: ResumingConnection,
  event: SessionResumeEvent,
): Promise<void> | undefined {
  const { scaleOut, config } = conn.deps;
  if (scaleOut === null || config.resumeTtlMs === 0) return void conn.resumeFailed('not_found', event.eventId);
  const pending = scaleOut.resumeRemote(event, { write: (relayed) => relayToClient(conn, relayed) });
  conn.relay = pending;
  return pending.done.then((outcome) => {
    conn.relay = null;
    if (!outcome.ok) return failed(conn, outcome.reason, outcome.relayed, event.eventId);
    const { restored } = outcome;
    // Another connection resumed it here meanwhile (two tabs at once): that one has it now.
    if (conn.deps.sessions.get(restored.sessionId) !== undefined)
      return failed(conn, 'moved', pending.hasRelayed, event.eventId);
    const entry = hostRestored(conn.deps, restored);
    if (!conn.isOpen) return conn.deps.sessions.detach(entry, { keep: true });
    conn.switchTo(entry, restored.replay);
    announce(entry, restored, event.eventId);
    // Barge-ins or tool results the old owner never got: the session is here now.
    for (const held of pending.takeHeldFrames()) {
      if (held.type !== 'session.resume' && held.type !== 'session.end') entry.session.handle(held);
    }
    conn.deps.logger.info(
      { sessionId: restored.sessionId, relayed: restored.announce === null, unfinished: restored.unfinished !== null },
      'session resumed from another instance',
    );
  });
}

/** session.resumed (unless the old owner said it), and the end of a reply a dead owner never finished. */
function announce(entry: HostedSession, restored: RestoredSession, eventId: string | undefined): void {
  if (restored.announce !== null) {
    entry.session.announce({
      type: 'session.resumed',
      sessionId: restored.sessionId,
      ...restored.announce,
      ...(eventId === undefined ? {} : { eventId }),
    });
  }
  if (restored.unfinished === null) return;
  const error = new GatewayError('GW_INSTANCE_LOST');
  entry.session.announce({
    type: 'response.done',
    responseId: restored.unfinished.responseId,
    status: 'failed',
    text: restored.unfinished.text,
    models: [],
    timings: { firstTokenMs: null, firstSpeechMs: null, totalMs: 0, speculative: false },
    error: { code: error.code, message: error.message, retryable: error.retryable },
  });
}

/** An event relayed from the session's old owner. It bypasses the outbox, so the same hard limit is checked here. */
function relayToClient(conn: ResumingConnection, event: LoggedEvent): void {
  const { socket } = conn;
  if (!conn.isOpen) return;
  socket.send(event.json);
  if (socket.bufferedAmount <= conn.deps.config.sendBufferHardBytes) return;
  conn.deps.metrics.rejectedConnections.inc({ reason: 'slow_consumer' });
  conn.deps.logger.warn(
    { sessionId: conn.relay?.sessionId, pendingBytes: socket.bufferedAmount },
    'slow consumer disconnected during a relay',
  );
  closeOrTerminate(socket, CLOSE_SLOW_CONSUMER, 'slow consumer');
}

/** The session did not arrive; `relayed`: events of it reached the client already. */
function failed(conn: ResumingConnection, reason: ResumeFailure, relayed: boolean, eventId: string | undefined): void {
  if (reason === 'aborted') return;
  // The client already holds events of the old session (or the session is still there): it must not carry on in
  // a fresh one here. Frames it sent meanwhile belonged to the old session: they are dropped, not run in this
  // socket's throwaway one (the client saw no response.created for them, so it knows).
  if (relayed && reason === 'moved') {
    conn.inbox.dropWaiting();
    return closeOrTerminate(conn.socket, CLOSE_RESUMED_ELSEWHERE, 'session resumed on another connection');
  }
  if (relayed || reason === 'timeout') {
    conn.inbox.dropWaiting();
    return closeOrTerminate(conn.socket, CLOSE_RESUME_INTERRUPTED, 'resume interrupted; resume again');
  }
  conn.resumeFailed(reason, eventId);
}
