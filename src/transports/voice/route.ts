// GET /v1/voice, the native protocol, as a fastify plugin: the shared admission hook runs before the upgrade,
// then each socket becomes a VoiceConnection. docs/protocol.md describes the protocol.
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { CLOSE_GOING_AWAY } from '../../hosting/close-codes.js';
import type { TransportDeps } from '../transport-deps.js';
import { VoiceConnection } from './connection.js';

export const VOICE_PATH = '/v1/voice';

export async function voiceTransport(app: FastifyInstance, deps: TransportDeps): Promise<void> {
  app.get(VOICE_PATH, { websocket: true, onRequest: deps.admission }, (socket: WebSocket, request) => {
    if (deps.connections.isDraining) return socket.close(CLOSE_GOING_AWAY, 'server is shutting down');
    // The connection lives as long as its socket: the socket's listeners hold it.
    new VoiceConnection(socket, { ip: request.ip, tokenId: request.gatewayTokenId }, deps);
  });
}
