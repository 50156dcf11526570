// The native protocol v1 transport on GET /v1/voice: ws framing, frame validation, per-connection limits
// (turn rate, idle timeout, heartbeats) and the backpressured outbox. No conversation logic: that is the Session.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import type { Config } from '../config.js';
import { GatewayError } from '../errors.js';
import type { GatewayMetrics } from '../metrics.js';
import { EventLog } from '../session/event-log.js';
import { Session } from '../session/session.js';
import type { SessionResumeEvent } from '../protocol.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { ChatStreamer } from '../upstream/types.js';
import { parseClientFrame } from './client-frames.js';
import { closeOrTerminate, IdleTimer, startHeartbeat, toBuffer } from './connection-guards.js';
import { CLOSE_GOING_AWAY, CLOSE_HEARTBEAT_TIMEOUT, CLOSE_IDLE_TIMEOUT, CLOSE_RESUMED_ELSEWHERE, CLOSE_SLOW_CONSUMER } from './close-codes.js';
import { Outbox } from './outbox.js';
import { SlidingWindowLimiter } from './rate-limiter.js';
import { createResumeToken, type HostedSession, type SessionRegistry } from './session-registry.js';

export interface VoiceTransportOptions {
  config: Readonly<Config>;
  chat: ChatStreamer;
  tools: ToolRegistry;
  sessions: SessionRegistry;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Rejects the upgrade (HTTP 401/403/429/503) before any WebSocket exists. */
  admission: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
}

const MINUTE_MS = 60_000;
/** Upper bound of one session's replay buffer, whatever REPLAY_BUFFER_EVENTS says. */
const REPLAY_BUFFER_MAX_BYTES = 1024 * 1024;

export function registerVoiceTransport(app: FastifyInstance, options: VoiceTransportOptions): void {
  const { config, sessions, metrics, logger } = options;
  const tokenTurns = new SlidingWindowLimiter(config.turnsPerMinutePerToken, MINUTE_MS);

  app.get('/v1/voice', { websocket: true, onRequest: options.admission }, (socket: WebSocket, request) => {
    if (sessions.isDraining) {
      socket.close(CLOSE_GOING_AWAY, 'server is shutting down');
      return;
    }
    const tokenId = request.gatewayTokenId;
    const outboxOptions = {
      softLimitBytes: config.sendBufferSoftBytes,
      hardLimitBytes: config.sendBufferHardBytes,
      onOverflow: () => disconnectSlowConsumer(),
    };
    // The session this socket speaks for; a successful session.resume swaps it for the resumed one.
    let current = hostSession(options);
    let outbox = new Outbox(socket, current.log, outboxOptions);
    sessions.attach(current, socket, outbox, request.ip);
    metrics.openSessions.inc();
    current.session.start();

    // A reader this slow would grow memory without bound: interrupt its response, flush, and close.
    const disconnectSlowConsumer = () => {
      metrics.rejectedConnections.inc({ reason: 'slow_consumer' });
      logger.warn({ sessionId: current.session.id, pendingBytes: outbox.pendingBytes }, 'slow consumer disconnected');
      current.session.interruptActive();
      outbox.flushAll();
      closeOrTerminate(socket, CLOSE_SLOW_CONSUMER, 'slow consumer');
    };

    const resume = (event: SessionResumeEvent) => {
      const claimed = sessions.claim(event.sessionId, event.resumeToken);
      if (claimed === null || claimed === current) {
        metrics.rejectedConnections.inc({ reason: 'resume_failed' });
        return current.session.reportError(new GatewayError('GW_RESUME_FAILED'), event.eventId);
      }
      claimed.socket?.close(CLOSE_RESUMED_ELSEWHERE, 'session resumed on another connection');
      const replay = claimed.log.since(event.lastSeq);
      // The fresh session this socket started with is dropped, unless the client already talked in it.
      sessions.detach(current, { keep: !current.session.isPristine });
      current = claimed;
      outbox = new Outbox(socket, claimed.log, outboxOptions);
      sessions.attach(claimed, socket, outbox, request.ip);
      const events = replay ?? claimed.log.buffered();
      outbox.replay(events);
      claimed.session.announce({ type: 'session.resumed', sessionId: claimed.session.id, resumedFrom: event.lastSeq, replayed: events.length, missedEvents: replay === null });
      logger.info({ sessionId: claimed.session.id, replayed: events.length, missedEvents: replay === null }, 'session resumed');
    };

    const sessionTurns = new SlidingWindowLimiter(config.turnsPerMinute, MINUTE_MS);
    const idle = new IdleTimer(config.idleTimeoutMs, () => current.session.hasActiveResponse, () => {
      metrics.rejectedConnections.inc({ reason: 'idle_timeout' });
      closeOrTerminate(socket, CLOSE_IDLE_TIMEOUT, 'idle timeout');
    });
    const heartbeat = startHeartbeat(socket, config.heartbeatIntervalMs, () => {
      metrics.rejectedConnections.inc({ reason: 'heartbeat_timeout' });
      logger.info({ sessionId: current.session.id }, 'peer missed a heartbeat; dropping it');
      socket.close(CLOSE_HEARTBEAT_TIMEOUT, 'heartbeat timeout');
      socket.terminate();
    });

    socket.on('message', (data: RawData, isBinary: boolean) => {
      idle.touch();
      const { session } = current;
      const frame = parseClientFrame(toBuffer(data), isBinary, config.maxFrameBytes);
      if (!frame.ok) return session.reportError(frame.error, frame.eventId);
      const event = frame.event;
      if (event.type === 'session.resume') return resume(event);
      if (event.type === 'turn') {
        const waitMs = Math.max(sessionTurns.take(session.id), tokenId === null ? 0 : tokenTurns.take(tokenId));
        if (waitMs > 0) {
          return session.reportError(
            new GatewayError('GW_RATE_LIMITED', { message: `Too many turns; try again in ${Math.ceil(waitMs / 1000)} s.`, retryAfterMs: waitMs }),
            event.eventId,
          );
        }
      }
      session.handle(event);
    });
    socket.on('error', (err) => {
      // ws reports protocol violations here (a frame over the hard cap: 1009; invalid UTF-8: 1007), then closes.
      logger.debug({ sessionId: current.session.id, err }, 'websocket error');
    });
    socket.on('close', () => {
      idle.stop();
      clearInterval(heartbeat);
      // The session may already belong to a newer connection (resumed elsewhere); only detach it from this one.
      if (current.socket === socket) sessions.detach(current, { keep: true });
      metrics.openSessions.dec();
    });
  });
}

/** A new session with its event log and resume token, registered but not yet attached to a socket. */
function hostSession(options: VoiceTransportOptions): HostedSession {
  const { config } = options;
  const log = new EventLog(config.resumeTtlMs > 0 ? config.replayBufferEvents : 0, REPLAY_BUFFER_MAX_BYTES);
  const resumeToken = createResumeToken();
  // The session's sink needs its registry entry, which needs the session: a holder breaks the cycle.
  const holder: { entry?: HostedSession } = {};
  const session = new Session({
    config,
    chat: options.chat,
    tools: options.tools,
    observer: options.metrics,
    logger: options.logger,
    // Attached: through the socket's outbox. Detached: into the log only, for the resume replay.
    send: (body) => (holder.entry?.outbox ? holder.entry.outbox.send(body) : log.append(body)),
    ...(config.resumeTtlMs > 0 ? { resume: { token: resumeToken, ttlMs: config.resumeTtlMs } } : {}),
  });
  holder.entry = options.sessions.host(session, log, resumeToken);
  return holder.entry;
}
