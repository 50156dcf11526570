// GET /v1/realtime: the OpenAI Realtime API (text subset, GA and beta dialects) as a second front door onto the
// same Session core as /v1/voice. The shared admission hook runs before the upgrade; app.ts selects the
// `realtime` subprotocol. docs/realtime.md describes what is supported.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { openRealtimeConnection, type RealtimeConnectionDeps } from './connection.js';

export interface RealtimeTransportOptions extends RealtimeConnectionDeps {
  /** Rejects the upgrade (HTTP 401/403/429/503) before any WebSocket exists: the same hook as /v1/voice. */
  admission: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
}

export const REALTIME_PATH = '/v1/realtime';

export function registerRealtimeTransport(app: FastifyInstance, options: RealtimeTransportOptions): void {
  const { admission, ...deps } = options;
  app.get(REALTIME_PATH, { websocket: true, onRequest: admission }, (socket: WebSocket, request) => {
    openRealtimeConnection(socket, request, deps);
  });
}
