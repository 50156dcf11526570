// One Realtime WebSocket: a Session counted in the connection ledger (so connection limits, metrics and drain
// apply as on /v1/voice; no resume is offered here, so nothing else is hosted), wires the session's events through the translator to the sender, and the socket's frames
// through the edge parser to the conversation. Idle timeout, heartbeats and the slow-reader cut-off live here.
import type { FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { MODELS, type ModelName } from '../../protocol.js';
import { Session } from '../../session/session.js';
import {
  CLOSE_GOING_AWAY,
  CLOSE_HEARTBEAT_TIMEOUT,
  CLOSE_IDLE_TIMEOUT,
  CLOSE_SLOW_CONSUMER,
} from '../../hosting/close-codes.js';
import type { TransportDeps } from '../transport-deps.js';
import { ledgerEntry, type LedgerEntry } from '../../hosting/connection-ledger.js';
import { RealtimeConversation } from './conversation.js';
import { detectDialect, type Dialect } from './dialect.js';
import { parseRealtimeFrame } from './events-in.js';
import { closeOrTerminate, guardFrame, IdleTimer, startHeartbeat, toBuffer } from '../connection-guards.js';
import { FrameBudget } from '../frame-budget.js';
import { RequestWindow } from './guards.js';
import { ItemOrder } from './items.js';
import { RealtimeSender } from './sender.js';
import { createRealtimeOnlySettings } from './session-object.js';
import { RealtimeTranslator } from './translator.js';

const MINUTE_MS = 60_000;

export function openRealtimeConnection(socket: WebSocket, request: FastifyRequest, deps: TransportDeps): void {
  const { connections, metrics } = deps;
  if (connections.isDraining) {
    socket.close(CLOSE_GOING_AWAY, 'server is shutting down');
    return;
  }
  const { session, conversation, entry } = createConversation(socket, request, deps);
  // The ledger counts, limits and drains this connection like a /v1/voice one.
  connections.connect(entry, socket, { ip: request.ip, tokenId: request.gatewayTokenId });
  metrics.openSessions.inc();
  const model = (request.query as Record<string, unknown> | undefined)?.model;
  if (typeof model === 'string' && (MODELS as readonly string[]).includes(model))
    session.configure({ model: model as ModelName });
  session.start(); // → session.created, at once
  deps.chat.prepare?.(); // a connection ready upstream for the first response, off its critical path
  watchSocket(socket, conversation, entry, deps);
}

/** The Session, the translator of its events into Realtime ones, and the conversation applying client events. */
function createConversation(socket: WebSocket, request: FastifyRequest, deps: TransportDeps) {
  const { config, connections, metrics, logger } = deps;
  const dialect: { value: Dialect } = { value: detectDialect(request.headers) };
  const sender = new RealtimeSender(socket, {
    dialect: () => dialect.value,
    hardLimitBytes: config.sendBufferHardBytes,
    onOverflow: () => {
      metrics.rejectedConnections.inc({ reason: 'slow_consumer' });
      logger.warn(
        { sessionId: session.id, pendingBytes: socket.bufferedAmount },
        'slow realtime consumer disconnected',
      );
      session.interruptActive('slow_consumer');
      closeOrTerminate(socket, CLOSE_SLOW_CONSUMER, 'slow consumer');
    },
  });
  const order = new ItemOrder();
  const responses = new RequestWindow(config.turnsPerMinute, MINUTE_MS);
  // The session's sink needs the translator, which needs the session: a holder breaks the cycle.
  const holder: { translator?: RealtimeTranslator } = {};
  const session: Session = new Session({
    config,
    chat: deps.chat,
    tools: deps.tools,
    observer: connections.observe(metrics, () => entry),
    quality: deps.quality,
    tracing: deps.tracing,
    logger,
    send: (body) => {
      try {
        holder.translator?.onNative(body);
      } catch (err) {
        logger.error({ err, sessionId: session.id }, 'realtime translation failed');
      }
    },
  });
  const entry = ledgerEntry(session);
  const translator = new RealtimeTranslator({
    conversationId: `conv_${session.id.replace(/^sess_/, '')}`,
    order,
    emit: (event) => sender.send(event),
    sessionCreated: () => ({ type: 'session.created', session: conversation.sessionObject() }),
    rateLimits: () => [
      {
        name: 'requests',
        limit: responses.limit,
        remaining: responses.remaining,
        reset_seconds: responses.resetSeconds,
      },
    ],
  });
  holder.translator = translator;
  const conversation: RealtimeConversation = new RealtimeConversation({
    session,
    config,
    translator,
    order,
    settings: createRealtimeOnlySettings(),
    serverToolNames: deps.tools.names,
    emit: (event) => sender.send(event),
    dialect,
    admitResponse: () => deps.turns.admit(entry, responses),
    logger: logger.child({ sessionId: session.id, transport: 'realtime' }),
  });
  return { session, conversation, entry };
}

/** Frames in (the budget, the edge parser, a guard around each), the idle and heartbeat guards, and the close. */
function watchSocket(
  socket: WebSocket,
  conversation: RealtimeConversation,
  entry: LedgerEntry,
  deps: TransportDeps,
): void {
  const { config, connections, metrics, logger } = deps;
  const { session } = entry;
  const idle = new IdleTimer(
    config.idleTimeoutMs,
    () => session.hasActiveResponse,
    () => {
      metrics.rejectedConnections.inc({ reason: 'idle_timeout' });
      closeOrTerminate(socket, CLOSE_IDLE_TIMEOUT, 'idle timeout');
    },
  );
  const heartbeat = startHeartbeat(socket, config.heartbeatIntervalMs, () => {
    metrics.rejectedConnections.inc({ reason: 'heartbeat_timeout' });
    socket.close(CLOSE_HEARTBEAT_TIMEOUT, 'heartbeat timeout');
    socket.terminate();
  });
  const budget = new FrameBudget(config.framesPerSecond);
  const onFrame = (data: RawData, isBinary: boolean) => {
    idle.touch();
    const verdict = budget.take();
    if (verdict === 'drop_and_notify') conversation.reportError(budget.dropNotice(), undefined);
    if (verdict !== 'handle') return;
    const frame = parseRealtimeFrame(toBuffer(data), isBinary, config.maxFrameBytes);
    if (!frame.ok) return conversation.reportError(frame.error, frame.eventId);
    conversation.handle(frame.event);
  };
  // A frame whose handling throws ends there: GW_INTERNAL to this client (logged with its stack), nobody else.
  socket.on('message', (data: RawData, isBinary: boolean) =>
    guardFrame(
      () => onFrame(data, isBinary),
      (err) => conversation.reportError(err, undefined),
    ),
  );
  socket.on('error', (err) => logger.debug({ sessionId: session.id, err }, 'realtime websocket error'));
  socket.on('close', () => {
    idle.stop();
    clearInterval(heartbeat);
    // No resume on this transport: the session (and its running response) ends with the connection.
    session.close();
    connections.release(entry);
    metrics.openSessions.dec();
  });
}
