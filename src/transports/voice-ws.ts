// The native protocol v1 transport on GET /v1/voice: ws framing, frame validation, per-connection limits
// (turn rate, idle timeout, heartbeats) and the backpressured outbox. No conversation logic: that is the Session.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import type { Config } from '../config.js';
import { GatewayError } from '../errors.js';
import type { GatewayMetrics } from '../metrics.js';
import { Session } from '../session/session.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { ChatStreamer } from '../upstream/types.js';
import { parseClientFrame } from './client-frames.js';
import { CLOSE_GOING_AWAY, CLOSE_HEARTBEAT_TIMEOUT, CLOSE_IDLE_TIMEOUT, CLOSE_SLOW_CONSUMER } from './close-codes.js';
import { Outbox } from './outbox.js';
import { SlidingWindowLimiter } from './rate-limiter.js';
import type { SessionRegistry } from './session-registry.js';

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

export function registerVoiceTransport(app: FastifyInstance, options: VoiceTransportOptions): void {
  const { config, sessions, metrics, logger } = options;
  const tokenTurns = new SlidingWindowLimiter(config.turnsPerMinutePerToken, MINUTE_MS);

  app.get('/v1/voice', { websocket: true, onRequest: options.admission }, (socket: WebSocket, request) => {
    if (sessions.isDraining) {
      socket.close(CLOSE_GOING_AWAY, 'server is shutting down');
      return;
    }
    const tokenId = request.gatewayTokenId;
    const outbox = new Outbox(socket, {
      softLimitBytes: config.sendBufferSoftBytes,
      hardLimitBytes: config.sendBufferHardBytes,
      onOverflow: () => disconnectSlowConsumer(),
    });
    const live = new Session({
      config,
      chat: options.chat,
      tools: options.tools,
      observer: metrics,
      logger,
      send: (event) => outbox.send(event),
    });
    // A reader this slow would grow memory without bound: interrupt its response, flush, and close.
    const disconnectSlowConsumer = () => {
      metrics.rejectedConnections.inc({ reason: 'slow_consumer' });
      logger.warn({ sessionId: live.id, pendingBytes: outbox.pendingBytes }, 'slow consumer disconnected');
      live.interruptActive();
      outbox.flushAll();
      closeOrTerminate(socket, CLOSE_SLOW_CONSUMER, 'slow consumer');
    };
    sessions.add(live, socket, request.ip);
    metrics.openSessions.inc();
    live.start();

    const sessionTurns = new SlidingWindowLimiter(config.turnsPerMinute, MINUTE_MS);
    const idle = new IdleTimer(config.idleTimeoutMs, () => live.hasActiveResponse, () => {
      metrics.rejectedConnections.inc({ reason: 'idle_timeout' });
      closeOrTerminate(socket, CLOSE_IDLE_TIMEOUT, 'idle timeout');
    });
    const heartbeat = startHeartbeat(socket, config.heartbeatIntervalMs, () => {
      metrics.rejectedConnections.inc({ reason: 'heartbeat_timeout' });
      logger.info({ sessionId: live.id }, 'peer missed a heartbeat; dropping it');
      socket.close(CLOSE_HEARTBEAT_TIMEOUT, 'heartbeat timeout');
      socket.terminate();
    });

    socket.on('message', (data: RawData, isBinary: boolean) => {
      idle.touch();
      const frame = parseClientFrame(toBuffer(data), isBinary, config.maxFrameBytes);
      if (!frame.ok) return live.reportError(frame.error, frame.eventId);
      if (frame.event.type === 'turn') {
        const waitMs = Math.max(sessionTurns.take(live.id), tokenId === null ? 0 : tokenTurns.take(tokenId));
        if (waitMs > 0) {
          return live.reportError(
            new GatewayError('GW_RATE_LIMITED', { message: `Too many turns; try again in ${Math.ceil(waitMs / 1000)} s.`, retryAfterMs: waitMs }),
            frame.event.eventId,
          );
        }
      }
      live.handle(frame.event);
    });
    socket.on('error', (err) => {
      // ws reports protocol violations here (a frame over the hard cap: 1009; invalid UTF-8: 1007), then closes.
      logger.debug({ sessionId: live.id, err }, 'websocket error');
    });
    socket.on('close', () => {
      idle.stop();
      clearInterval(heartbeat);
      live.close();
      outbox.dispose();
      sessions.remove(live);
      metrics.openSessions.dec();
    });
  });
}

/** Closes politely, and cuts the socket if the peer does not finish the close handshake (it may not be reading). */
function closeOrTerminate(socket: WebSocket, code: number, reason: string): void {
  socket.close(code, reason);
  setTimeout(() => socket.terminate(), 2_000).unref();
}

/** ws-level pings: a peer that has not answered the previous ping by the next one is dead. */
function startHeartbeat(socket: WebSocket, intervalMs: number, onDead: () => void): NodeJS.Timeout {
  let alive = true;
  socket.on('pong', () => (alive = true));
  const timer = setInterval(() => {
    if (!alive) {
      clearInterval(timer);
      onDead();
      return;
    }
    alive = false;
    socket.ping();
  }, intervalMs);
  timer.unref();
  return timer;
}

/** Fires after `timeoutMs` without client frames, unless a response is still running (then it waits again). */
class IdleTimer {
  private timer: NodeJS.Timeout;

  constructor(
    private readonly timeoutMs: number,
    private readonly busy: () => boolean,
    private readonly onIdle: () => void,
  ) {
    this.timer = setTimeout(() => this.fire(), timeoutMs);
    this.timer.unref();
  }

  touch(): void {
    this.timer.refresh();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private fire(): void {
    if (this.busy()) {
      this.timer.refresh();
      return;
    }
    this.onIdle();
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
