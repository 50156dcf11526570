// The native protocol v1 transport on GET /v1/voice: ws framing, frame validation and serialisation.
// It holds no conversation logic: each connection gets a Session, and events flow through it.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import type { Config } from '../config.js';
import type { ServerEvent } from '../protocol.js';
import { Session } from '../session/session.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { ChatStreamer } from '../upstream/types.js';
import { parseClientFrame } from './client-frames.js';
import { CLOSE_GOING_AWAY } from './close-codes.js';
import type { SessionRegistry } from './session-registry.js';

export interface VoiceTransportOptions {
  config: Readonly<Config>;
  chat: ChatStreamer;
  tools: ToolRegistry;
  sessions: SessionRegistry;
  logger: Logger;
}

export function registerVoiceTransport(app: FastifyInstance, options: VoiceTransportOptions): void {
  const { config, chat, tools, sessions, logger } = options;
  app.get('/v1/voice', { websocket: true }, (socket: WebSocket) => {
    if (sessions.isDraining) {
      socket.close(CLOSE_GOING_AWAY, 'server is shutting down');
      return;
    }
    const session = new Session({
      config,
      chat,
      tools,
      logger,
      send: (event) => sendEvent(socket, event, logger),
    });
    sessions.add(session, socket);
    session.start();

    socket.on('message', (data: RawData, isBinary: boolean) => {
      const frame = parseClientFrame(toBuffer(data), isBinary, config.maxFrameBytes);
      if (frame.ok) session.handle(frame.event);
      else session.reportError(frame.error, frame.eventId);
    });
    socket.on('error', (err) => {
      // ws reports protocol violations (e.g. a frame over the hard cap: 1009) here, then closes the socket.
      logger.debug({ sessionId: session.id, err }, 'websocket error');
    });
    socket.on('close', () => {
      session.close();
      sessions.remove(session);
    });
  });
}

function sendEvent(socket: WebSocket, event: ServerEvent, logger: Logger): void {
  if (socket.readyState !== socket.OPEN) return;
  // Sent the moment it is produced: no batching (DESIGN: stream through). Serialisation cannot throw here:
  // every event is plain JSON data built by the session.
  socket.send(JSON.stringify(event), (err) => {
    if (err) logger.debug({ err }, 'send failed');
  });
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
