// One /v1/voice WebSocket as a class: which hosted session the socket speaks for (a resume swaps it), its outbox,
// its frames in order (validation, the frame budget, turn limits), the per-connection guards (idle, heartbeat,
// slow reader) and its close. Resuming a session another instance holds is remote-resume.ts's job; conversation
// logic is the Session's.
import type { RawData, WebSocket } from 'ws';
import { GatewayError, toGatewayError } from '../../errors.js';
import { parseClientFrame } from '../../hosting/client-frames.js';
import {
  CLOSE_HEARTBEAT_TIMEOUT,
  CLOSE_IDLE_TIMEOUT,
  CLOSE_RESUMED_ELSEWHERE,
  CLOSE_SLOW_CONSUMER,
} from '../../hosting/close-codes.js';
import type { ClientKeys } from '../../hosting/client-counts.js';
import type { LoggedEvent } from '../../hosting/event-log.js';
import { Outbox } from '../../hosting/outbox.js';
import type { PendingRemoteResume, ResumeFailure } from '../../hosting/scale-out-port.js';
import { hostSession } from '../../hosting/session-hosting.js';
import type { HostedSession } from '../../hosting/session-registry.js';
import type { ClientEvent, SessionResumeEvent, TurnEvent } from '../../protocol.js';
import { closeOrTerminate, guardFrame, IdleTimer, startHeartbeat, toBuffer } from '../connection-guards.js';
import { FrameBudget } from '../frame-budget.js';
import { FrameInbox, type FrameStep } from '../frame-inbox.js';
import { takeAll } from '../rate-limiter.js';
import type { TransportDeps } from '../transport-deps.js';
import { rateLimitedError } from '../turn-gate.js';
import { resumeFromAnotherInstance, type ResumingConnection } from './remote-resume.js';

/** Frames a connection may queue behind one that waits (a shared rate limit, a session moving here). */
const MAX_WAITING_FRAMES = 256;

const RESUME_FAILURES: Record<ResumeFailure, string> = {
  not_found: 'That session is unknown or has expired; this connection continues as a new session.',
  bad_token: 'That resume token does not match the session; this connection continues as a new session.',
  moved: 'That session was resumed on another connection meanwhile; this connection continues as a new session.',
  unavailable:
    'The shared session store is unavailable, so that session cannot be resumed here; this connection continues as a new session.',
  timeout: 'The instance holding that session did not hand it over in time; resume again.',
  aborted: 'The resume was abandoned.',
};

export class VoiceConnection implements ResumingConnection {
  /** The session this socket speaks for; a successful session.resume swaps it for the resumed one. */
  current: HostedSession;
  private outbox: Outbox;
  /** A resume of a session hosted elsewhere, while it is being taken over. */
  relay: PendingRemoteResume | null = null;
  /** Frames in order; a step that must wait holds the ones behind it. */
  readonly inbox: FrameInbox;
  private readonly budget: FrameBudget;
  private readonly idle: IdleTimer;
  private readonly heartbeat: NodeJS.Timeout;
  /** The client sent session.end: its session ends with this socket instead of waiting to be resumed. */
  private ended = false;

  constructor(
    readonly socket: WebSocket,
    readonly client: ClientKeys,
    readonly deps: TransportDeps,
  ) {
    const { config, metrics } = deps;
    this.current = hostSession(deps);
    this.outbox = this.outboxFor(this.current);
    deps.sessions.attach(this.current, socket, this.outbox, client);
    metrics.openSessions.inc();
    this.current.session.start();
    // A frame whose handling throws ends there: GW_INTERNAL to this client (logged with its stack), nobody else.
    this.inbox = new FrameInbox(MAX_WAITING_FRAMES, (err) =>
      guardFrame(
        () => this.frameFailed(err),
        () => undefined,
      ),
    );
    this.budget = new FrameBudget(config.framesPerSecond);
    this.idle = new IdleTimer(
      config.idleTimeoutMs,
      () => this.current.session.hasActiveResponse || this.relay !== null,
      () => {
        metrics.rejectedConnections.inc({ reason: 'idle_timeout' });
        closeOrTerminate(socket, CLOSE_IDLE_TIMEOUT, 'idle timeout');
      },
    );
    this.heartbeat = startHeartbeat(socket, config.heartbeatIntervalMs, () => {
      metrics.rejectedConnections.inc({ reason: 'heartbeat_timeout' });
      deps.logger.info({ sessionId: this.current.session.id }, 'peer missed a heartbeat; dropping it');
      socket.close(CLOSE_HEARTBEAT_TIMEOUT, 'heartbeat timeout');
      socket.terminate();
    });
    socket.on('message', (data: RawData, isBinary: boolean) =>
      guardFrame(
        () => this.onFrame(data, isBinary),
        (err) => this.frameFailed(err),
      ),
    );
    // ws reports protocol violations here (a frame over the hard cap: 1009; invalid UTF-8: 1007), then closes.
    socket.on('error', (err) => deps.logger.debug({ sessionId: this.current.session.id, err }, 'websocket error'));
    socket.on('close', () => this.onClose());
  }

  get isOpen(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  /** This socket now speaks for `entry`: the stale socket (if any) is closed, `replay` goes out first. */
  switchTo(entry: HostedSession, replay: readonly LoggedEvent[]): void {
    entry.socket?.close(CLOSE_RESUMED_ELSEWHERE, 'session resumed on another connection');
    // The fresh session this socket started with is dropped, unless the client already talked in it.
    this.deps.sessions.detach(this.current, { keep: !this.current.session.isPristine });
    this.current = entry;
    this.outbox = this.outboxFor(entry);
    this.deps.sessions.attach(entry, this.socket, this.outbox, this.client);
    this.outbox.replay(replay);
  }

  resumeFailed(reason: ResumeFailure, eventId: string | undefined): void {
    this.deps.metrics.rejectedConnections.inc({ reason: 'resume_failed' });
    this.current.session.reportError(
      new GatewayError('GW_RESUME_FAILED', { message: RESUME_FAILURES[reason] }),
      eventId,
    );
  }

  private outboxFor(entry: HostedSession): Outbox {
    const { config } = this.deps;
    return new Outbox(this.socket, entry.log, {
      softLimitBytes: config.sendBufferSoftBytes,
      hardLimitBytes: config.sendBufferHardBytes,
      onOverflow: () => this.disconnectSlowConsumer(),
    });
  }

  /** A reader this slow would grow memory without bound: interrupt its response, flush, and close. */
  private disconnectSlowConsumer(): void {
    this.deps.metrics.rejectedConnections.inc({ reason: 'slow_consumer' });
    this.deps.logger.warn(
      { sessionId: this.current.session.id, pendingBytes: this.outbox.pendingBytes },
      'slow consumer disconnected',
    );
    this.current.session.interruptActive('slow_consumer');
    this.outbox.flushAll();
    closeOrTerminate(this.socket, CLOSE_SLOW_CONSUMER, 'slow consumer');
  }

  private frameFailed(err: unknown): void {
    this.current.session.reportError(toGatewayError(err));
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    this.idle.touch();
    const verdict = this.budget.take();
    if (verdict === 'drop_and_notify') this.current.session.reportError(this.budget.dropNotice());
    if (verdict !== 'handle') return;
    const frame = parseClientFrame(toBuffer(data), isBinary, this.deps.config.maxFrameBytes);
    if (!frame.ok) return this.enqueue(() => void this.current.session.reportError(frame.error, frame.eventId));
    const event = frame.event;
    if (this.relay !== null) {
      // The old owner still runs the response: a barge-in or a tool result must reach it now, not after it ends.
      if (event.type === 'response.cancel' || event.type === 'tool.result') return this.relay.forward(event);
      if (event.type === 'turn') this.relay.forward({ type: 'response.cancel' });
    }
    this.enqueue(() => this.handleEvent(event), event.eventId);
  }

  // Frames are handled strictly in order. A step that must wait (a shared rate limit, a session moving here
  // from another instance) holds the frames behind it; while a session moves, barge-ins go to its old owner.
  private enqueue(step: FrameStep, eventId?: string): void {
    if (this.inbox.enqueue(step)) return;
    // Hundreds of frames behind one that waits: a flood, not speech. The client hears which frame was dropped.
    this.current.session.reportError(
      new GatewayError('GW_RATE_LIMITED', {
        message: 'Too many frames are waiting to be handled; this one was dropped.',
      }),
      eventId,
    );
  }

  /**
   * Frames of a closed socket are still handled (a turn said right before the drop is kept), unless its session
   * is moving to another instance: that instance owns what happens next, and a reply started here would be
   * cut off by the hand-off. The client sees no response.created for such a frame, so it knows.
   */
  private movedAway(): boolean {
    return this.current.handedTo !== null && this.current.socket !== this.socket;
  }

  private handleEvent(event: ClientEvent): Promise<void> | undefined {
    if (this.movedAway()) return undefined;
    if (event.type === 'session.resume') return this.resume(event);
    if (event.type === 'session.end') return this.end();
    if (event.type === 'turn') return this.takeTurn(event);
    this.current.session.handle(event);
    return undefined;
  }

  /** A turn the session or a response cap would refuse is refused before any rate allowance is spent. */
  private takeTurn(event: TurnEvent): Promise<void> | undefined {
    const { turns, sharedLimits } = this.deps;
    const entry = this.current;
    const { session } = entry;
    // A final the server already answered (its own commit) starts nothing: it costs no turn allowance.
    if (session.absorbs(event)) return void session.handle(event);
    const refused = session.turnProblem(event) ?? turns.capError(entry);
    if (refused !== null) return void session.reportError(refused, event.eventId);
    const local = () => takeAll(turns.windows(entry));
    const decide = (waitMs: number) => {
      // Checked after the wait: the session may have moved to another instance meanwhile (see handleEvent).
      if (this.movedAway()) return;
      if (waitMs <= 0) return session.handle(event);
      session.reportError(rateLimitedError(waitMs), event.eventId);
    };
    if (sharedLimits === null) return void decide(local());
    // Shared across instances; the local windows decide while Redis cannot answer.
    return sharedLimits
      .takeTurn({ sessionId: session.id, ip: entry.ip, tokenId: entry.tokenId })
      .then((shared) => decide(shared ?? local()));
  }

  private resume(event: SessionResumeEvent): Promise<void> | undefined {
    const { sessions, scaleOut, logger } = this.deps;
    const claimed = sessions.claim(event.sessionId, event.resumeToken);
    if (claimed === this.current) return void this.resumeFailed('moved', event.eventId);
    // Handed off to another instance that the client then left: take it back, or wait until the release under
    // way is over and try again (the session is then here again, or gone to its new owner).
    const back = claimed !== null && claimed.handedTo !== null && scaleOut !== null ? scaleOut.reclaim(claimed) : true;
    // (Unless this socket closed meanwhile: nothing could abort a resume started for it now.)
    if (back !== true) return back.then(() => (this.isOpen ? this.resume(event) : undefined));
    if (claimed === null) return resumeFromAnotherInstance(this, event);
    const replay = claimed.log.since(event.lastSeq);
    const events = replay ?? claimed.log.buffered();
    this.switchTo(claimed, events);
    claimed.session.announce({
      type: 'session.resumed',
      sessionId: claimed.session.id,
      resumedFrom: event.lastSeq,
      replayed: events.length,
      missedEvents: replay === null,
      ...(event.eventId === undefined ? {} : { eventId: event.eventId }),
    });
    logger.info(
      { sessionId: claimed.session.id, replayed: events.length, missedEvents: replay === null },
      'session resumed',
    );
    return undefined;
  }

  /** session.end: the session is over (the page's "New conversation"): close, and keep nothing to resume. */
  private end(): undefined {
    this.ended = true;
    this.socket.close(1000, 'session ended');
    return undefined;
  }

  private onClose(): void {
    this.idle.stop();
    clearInterval(this.heartbeat);
    this.deps.metrics.openSessions.dec();
    if (this.relay !== null) {
      // Frames held for a session that never arrived here belong to nobody now.
      this.relay.abort();
      this.inbox.dropWaiting();
    }
    // A turn still waiting on a shared rate limit was said before the drop: handle it, then detach. The session
    // may already belong to a newer connection (resumed elsewhere); only detach it from this one.
    this.inbox.whenIdle(() => {
      if (this.current.socket === this.socket) this.deps.sessions.detach(this.current, { keep: !this.ended });
    });
  }
}
