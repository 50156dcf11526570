// The native protocol v1 transport on GET /v1/voice: ws framing, frame validation, per-connection limits
// (turn rate, idle timeout, heartbeats), the backpressured outbox, and which session a socket speaks for
// (session.resume, here or, with Redis, from another instance). No conversation logic: that is the Session.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import type { Config } from '../config.js';
import { GatewayError, toGatewayError } from '../errors.js';
import type { GatewayMetrics } from '../metrics.js';
import type { PendingRemoteResume, ResumeFailure, SessionScaleOut, SharedTurnLimits } from '../hosting/scale-out-port.js';
import type { ClientEvent, SessionResumeEvent, TurnEvent } from '../protocol.js';
import type { LoggedEvent } from '../hosting/event-log.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { ChatStreamer } from '../upstream/types.js';
import { parseClientFrame } from '../hosting/client-frames.js';
import { closeOrTerminate, guardFrame, IdleTimer, startHeartbeat, toBuffer } from './connection-guards.js';
import {
  CLOSE_GOING_AWAY,
  CLOSE_HEARTBEAT_TIMEOUT,
  CLOSE_IDLE_TIMEOUT,
  CLOSE_RESUME_INTERRUPTED,
  CLOSE_RESUMED_ELSEWHERE,
  CLOSE_SLOW_CONSUMER,
} from '../hosting/close-codes.js';
import { FrameInbox, type FrameStep } from './frame-inbox.js';
import { Outbox } from '../hosting/outbox.js';
import { FrameBudget } from './frame-budget.js';
import { takeAll } from './rate-limiter.js';
import { hostRestored, hostSession } from '../hosting/session-hosting.js';
import type { HostedSession, SessionRegistry } from '../hosting/session-registry.js';
import { rateLimitedError, type TurnGate } from './turn-gate.js';

export interface VoiceTransportOptions {
  config: Readonly<Config>;
  chat: ChatStreamer;
  tools: ToolRegistry;
  sessions: SessionRegistry;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Rejects the upgrade (HTTP 401/403/429/503) before any WebSocket exists. */
  admission: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** Scale-out (REDIS_URL): sessions mirrored to Redis and resumable on any instance. Null: memory only. */
  cluster: SessionScaleOut | null;
  /** Scale-out: turn limits shared by every instance (the local ones apply while Redis is down). */
  sharedLimits: SharedTurnLimits | null;
  /** Response caps and turn rates per session, address and token, shared with /v1/realtime. */
  turns: TurnGate;
}

/** Frames a connection may queue behind one that waits (a shared rate limit, a session moving here). */
const MAX_WAITING_FRAMES = 256;

const RESUME_FAILURES: Record<ResumeFailure, string> = {
  not_found: 'That session is unknown or has expired; this connection continues as a new session.',
  bad_token: 'That resume token does not match the session; this connection continues as a new session.',
  moved: 'That session was resumed on another connection meanwhile; this connection continues as a new session.',
  unavailable: 'The shared session store is unavailable, so that session cannot be resumed here; this connection continues as a new session.',
  timeout: 'The instance holding that session did not hand it over in time; resume again.',
  aborted: 'The resume was abandoned.',
};

export function registerVoiceTransport(app: FastifyInstance, options: VoiceTransportOptions): void {
  const { config, sessions, metrics, logger, cluster, sharedLimits, turns } = options;

  app.get('/v1/voice', { websocket: true, onRequest: options.admission }, (socket: WebSocket, request) => {
    if (sessions.isDraining) {
      socket.close(CLOSE_GOING_AWAY, 'server is shutting down');
      return;
    }
    const client = { ip: request.ip, tokenId: request.gatewayTokenId };
    const outboxOptions = {
      softLimitBytes: config.sendBufferSoftBytes,
      hardLimitBytes: config.sendBufferHardBytes,
      onOverflow: () => disconnectSlowConsumer(),
    };
    // The session this socket speaks for; a successful session.resume swaps it for the resumed one.
    let current = hostSession(options);
    let outbox = new Outbox(socket, current.log, outboxOptions);
    sessions.attach(current, socket, outbox, client);
    metrics.openSessions.inc();
    current.session.start();
    /** A resume of a session hosted elsewhere, while it is being taken over. */
    let relay: PendingRemoteResume | null = null;

    // A reader this slow would grow memory without bound: interrupt its response, flush, and close.
    const disconnectSlowConsumer = () => {
      metrics.rejectedConnections.inc({ reason: 'slow_consumer' });
      logger.warn({ sessionId: current.session.id, pendingBytes: outbox.pendingBytes }, 'slow consumer disconnected');
      current.session.interruptActive();
      outbox.flushAll();
      closeOrTerminate(socket, CLOSE_SLOW_CONSUMER, 'slow consumer');
    };

    /** This socket now speaks for `entry`: the stale socket (if any) is closed, `replay` goes out first. */
    const switchTo = (entry: HostedSession, replay: readonly LoggedEvent[]) => {
      entry.socket?.close(CLOSE_RESUMED_ELSEWHERE, 'session resumed on another connection');
      // The fresh session this socket started with is dropped, unless the client already talked in it.
      sessions.detach(current, { keep: !current.session.isPristine });
      current = entry;
      outbox = new Outbox(socket, entry.log, outboxOptions);
      sessions.attach(entry, socket, outbox, client);
      outbox.replay(replay);
    };

    const resumeFailed = (reason: ResumeFailure, eventId: string | undefined) => {
      metrics.rejectedConnections.inc({ reason: 'resume_failed' });
      current.session.reportError(new GatewayError('GW_RESUME_FAILED', { message: RESUME_FAILURES[reason] }), eventId);
    };

    const resume = (event: SessionResumeEvent): Promise<void> | undefined => {
      const claimed = sessions.claim(event.sessionId, event.resumeToken);
      if (claimed === current) return void resumeFailed('moved', event.eventId);
      // Handed off to another instance that the client then left: take it back, or wait until the release under
      // way is over and try again (the session is then here again, or gone to its new owner).
      const back = claimed !== null && claimed.handedTo !== null && cluster !== null ? cluster.reclaim(claimed) : true;
      // (Unless this socket closed meanwhile: nothing could abort a resume started for it now.)
      if (back !== true) return back.then(() => (socket.readyState === socket.OPEN ? resume(event) : undefined));
      if (claimed !== null) {
        const replay = claimed.log.since(event.lastSeq);
        const events = replay ?? claimed.log.buffered();
        switchTo(claimed, events);
        claimed.session.announce({
          type: 'session.resumed',
          sessionId: claimed.session.id,
          resumedFrom: event.lastSeq,
          replayed: events.length,
          missedEvents: replay === null,
          ...(event.eventId === undefined ? {} : { eventId: event.eventId }),
        });
        logger.info({ sessionId: claimed.session.id, replayed: events.length, missedEvents: replay === null }, 'session resumed');
        return undefined;
      }
      return resumeElsewhere(event);
    };

    /** An event relayed from the session's old owner. It bypasses the outbox, so the same hard limit is checked here. */
    const relayToClient = (event: LoggedEvent) => {
      if (socket.readyState !== socket.OPEN) return;
      socket.send(event.json);
      if (socket.bufferedAmount <= config.sendBufferHardBytes) return;
      metrics.rejectedConnections.inc({ reason: 'slow_consumer' });
      logger.warn({ sessionId: relay?.sessionId, pendingBytes: socket.bufferedAmount }, 'slow consumer disconnected during a relay');
      closeOrTerminate(socket, CLOSE_SLOW_CONSUMER, 'slow consumer');
    };

    /** A resume from another instance did not arrive; `relayed`: events of the session reached the client already. */
    const remoteResumeFailed = (reason: ResumeFailure, relayed: boolean, eventId: string | undefined) => {
      if (reason === 'aborted') return;
      // The client already holds events of the old session (or the session is still there): it must not carry
      // on in a fresh one here. Frames it sent meanwhile belonged to the old session: they are dropped, not run
      // in this socket's throwaway one (the client saw no response.created for them, so it knows).
      if (relayed && reason === 'moved') {
        inbox.dropWaiting();
        return closeOrTerminate(socket, CLOSE_RESUMED_ELSEWHERE, 'session resumed on another connection');
      }
      if (relayed || reason === 'timeout') {
        inbox.dropWaiting();
        return closeOrTerminate(socket, CLOSE_RESUME_INTERRUPTED, 'resume interrupted; resume again');
      }
      resumeFailed(reason, eventId);
    };

    /** A resume of a session this instance does not host: through the shared store, if there is one. */
    const resumeElsewhere = (event: SessionResumeEvent): Promise<void> | undefined => {
      if (cluster === null || config.resumeTtlMs === 0) return void resumeFailed('not_found', event.eventId);
      const pending = cluster.resumeRemote(event, { write: relayToClient });
      relay = pending;
      return pending.done.then((outcome) => {
        relay = null;
        if (!outcome.ok) return remoteResumeFailed(outcome.reason, outcome.relayed, event.eventId);
        const { restored } = outcome;
        // Another connection resumed it here meanwhile (two tabs at once): that one has it now.
        if (sessions.get(restored.sessionId) !== undefined) return remoteResumeFailed('moved', pending.hasRelayed, event.eventId);
        const entry = hostRestored(options, restored);
        if (socket.readyState !== socket.OPEN) return sessions.detach(entry, { keep: true });
        switchTo(entry, restored.replay);
        if (restored.announce !== null) {
          entry.session.announce({ type: 'session.resumed', sessionId: restored.sessionId, ...restored.announce, ...(event.eventId === undefined ? {} : { eventId: event.eventId }) });
        }
        if (restored.unfinished !== null) {
          const error = new GatewayError('GW_INSTANCE_LOST');
          entry.session.announce({
            type: 'response.done',
            responseId: restored.unfinished.responseId,
            status: 'failed',
            text: restored.unfinished.text,
            timings: { firstTokenMs: null, firstSpeechMs: null, totalMs: 0 },
            error: { code: error.code, message: error.message, retryable: error.retryable },
          });
        }
        // Barge-ins or tool results the old owner never got: the session is here now.
        for (const held of pending.takeHeldFrames()) if (held.type !== 'session.resume') entry.session.handle(held);
        logger.info({ sessionId: restored.sessionId, relayed: restored.announce === null, unfinished: restored.unfinished !== null }, 'session resumed from another instance');
      });
    };

    // A turn the session or a response cap would refuse is refused before any rate allowance is spent.
    const takeTurn = (event: TurnEvent): Promise<void> | undefined => {
      const entry = current;
      const { session } = entry;
      const refused = session.turnProblem(event) ?? turns.capError(entry);
      if (refused !== null) return void session.reportError(refused, event.eventId);
      const local = () => takeAll(turns.windows(entry));
      const decide = (waitMs: number) => {
        // Checked after the wait: the session may have moved to another instance meanwhile (see handleEvent).
        if (movedAway()) return;
        if (waitMs <= 0) return session.handle(event);
        session.reportError(rateLimitedError(waitMs), event.eventId);
      };
      if (sharedLimits === null) return void decide(local());
      // Shared across instances; the local windows decide while Redis cannot answer.
      return sharedLimits.takeTurn({ sessionId: session.id, ip: entry.ip, tokenId: entry.tokenId }).then((shared) => decide(shared ?? local()));
    };

    /**
     * Frames of a closed socket are still handled (a turn said right before the drop is kept), unless its session
     * is moving to another instance: that instance owns what happens next, and a reply started here would be
     * cut off by the hand-off. The client sees no response.created for such a frame, so it knows.
     */
    const movedAway = () => current.handedTo !== null && current.socket !== socket;

    const handleEvent = (event: ClientEvent): Promise<void> | undefined => {
      if (movedAway()) return undefined;
      if (event.type === 'session.resume') return resume(event);
      if (event.type === 'turn') return takeTurn(event);
      current.session.handle(event);
      return undefined;
    };

    // Frames are handled strictly in order. A step that must wait (a shared rate limit, a session moving here
    // from another instance) holds the frames behind it; while a session moves, barge-ins go to its old owner.
    // A frame whose handling throws ends there: GW_INTERNAL to this client (logged with its stack), nobody else.
    const frameFailed = (err: unknown) => current.session.reportError(toGatewayError(err));
    const inbox = new FrameInbox(MAX_WAITING_FRAMES, (err) => guardFrame(() => frameFailed(err), () => undefined));
    const enqueue = (step: FrameStep, eventId?: string) => {
      if (inbox.enqueue(step)) return;
      // Hundreds of frames behind one that waits: a flood, not speech. The client hears which frame was dropped.
      current.session.reportError(new GatewayError('GW_RATE_LIMITED', { message: 'Too many frames are waiting to be handled; this one was dropped.' }), eventId);
    };

    const idle = new IdleTimer(config.idleTimeoutMs, () => current.session.hasActiveResponse || relay !== null, () => {
      metrics.rejectedConnections.inc({ reason: 'idle_timeout' });
      closeOrTerminate(socket, CLOSE_IDLE_TIMEOUT, 'idle timeout');
    });
    const heartbeat = startHeartbeat(socket, config.heartbeatIntervalMs, () => {
      metrics.rejectedConnections.inc({ reason: 'heartbeat_timeout' });
      logger.info({ sessionId: current.session.id }, 'peer missed a heartbeat; dropping it');
      socket.close(CLOSE_HEARTBEAT_TIMEOUT, 'heartbeat timeout');
      socket.terminate();
    });

    const budget = new FrameBudget(config.framesPerSecond);
    const onFrame = (data: RawData, isBinary: boolean) => {
      idle.touch();
      const verdict = budget.take();
      if (verdict === 'drop_and_notify') {
        current.session.reportError(new GatewayError('GW_RATE_LIMITED', { message: budget.describeDrop(), retryAfterMs: budget.retryAfterMs }));
      }
      if (verdict !== 'handle') return;
      const frame = parseClientFrame(toBuffer(data), isBinary, config.maxFrameBytes);
      if (!frame.ok) return enqueue(() => void current.session.reportError(frame.error, frame.eventId));
      const event = frame.event;
      if (relay !== null) {
        // The old owner still runs the response: a barge-in or a tool result must reach it now, not after it ends.
        if (event.type === 'response.cancel' || event.type === 'tool.result') return relay.forward(event);
        if (event.type === 'turn') relay.forward({ type: 'response.cancel' });
      }
      enqueue(() => handleEvent(event), event.eventId);
    };
    socket.on('message', (data: RawData, isBinary: boolean) => guardFrame(() => onFrame(data, isBinary), frameFailed));
    socket.on('error', (err) => {
      // ws reports protocol violations here (a frame over the hard cap: 1009; invalid UTF-8: 1007), then closes.
      logger.debug({ sessionId: current.session.id, err }, 'websocket error');
    });
    const detachFromSocket = () => {
      // The session may already belong to a newer connection (resumed elsewhere); only detach it from this one.
      if (current.socket === socket) sessions.detach(current, { keep: true });
    };
    socket.on('close', () => {
      idle.stop();
      clearInterval(heartbeat);
      metrics.openSessions.dec();
      if (relay !== null) {
        // Frames held for a session that never arrived here belong to nobody now.
        relay.abort();
        inbox.dropWaiting();
      }
      // A turn still waiting on a shared rate limit was said before the drop: handle it, then detach.
      inbox.whenIdle(detachFromSocket);
    });
  });
}
