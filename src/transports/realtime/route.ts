// GET /v1/realtime: the OpenAI Realtime API (text subset, GA and beta dialects) as a second front door onto the
// same Session core as /v1/voice, as a fastify plugin. The shared admission hook runs before the upgrade; app.ts
// selects the `realtime` subprotocol. docs/realtime.md describes what is supported.
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { TransportDeps } from '../transport-deps.js';
import { openRealtimeConnection } from './connection.js';

export const REALTIME_PATH = '/v1/realtime';

export async function realtimeTransport(app: FastifyInstance, deps: TransportDeps): Promise<void> {
  app.get(REALTIME_PATH, { websocket: true, onRequest: deps.admission }, (socket: WebSocket, request) => {
    openRealtimeConnection(socket, request, deps);
  });
}
