// The hook that runs before every WebSocket upgrade, on both endpoints: who may connect (origin, token, connection
// limits, draining; see transports/admission.ts), with the per-address limit shared through Redis when there is
// one. A refused client gets a plain HTTP error with a JSON body, never a half-open WebSocket.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from './config.js';
import type { SharedLimits } from './cluster/shared-limits.js';
import { ERROR_CATALOGUE } from './errors.js';
import type { ConnectionLedger } from './hosting/connection-ledger.js';
import type { GatewayMetrics } from './metrics.js';
import { admit, type Admission, type TokenSet } from './transports/admission.js';

export interface AdmissionDeps {
  config: Readonly<Config>;
  tokens: TokenSet;
  connections: ConnectionLedger;
  metrics: GatewayMetrics;
  /** Scale-out: connections per address over every instance. Null: the local count alone. */
  sharedLimits: SharedLimits | null;
}

export type AdmissionHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

export function createAdmission(deps: AdmissionDeps): AdmissionHook {
  const { config, tokens, connections, metrics, sharedLimits } = deps;
  return async (request, reply) => {
    let verdict: Admission = connections.isDraining
      ? { ok: false, status: 503, code: 'GW_SHUTTING_DOWN', reason: 'draining' }
      : admit({ headers: request.headers, ip: request.ip }, config, tokens, connections);
    if (verdict.ok) {
      request.gatewayTokenId = verdict.tokenId;
      // A plain GET (no upgrade) becomes no connection: it must not hold a count for its keep-alive socket's life.
      if (sharedLimits === null || !request.ws) return;
      if (await holdSharedConnection(request, sharedLimits)) return;
      verdict = { ok: false, status: 429, code: 'GW_TOO_MANY_CONNECTIONS', reason: 'max_connections_per_ip' };
    }
    metrics.rejectedConnections.inc({ reason: verdict.reason });
    request.log.info({ reason: verdict.reason, ip: request.ip }, 'upgrade refused');
    await reply
      .code(verdict.status)
      .header('connection', 'close')
      .send({ error: { code: verdict.code, message: ERROR_CATALOGUE[verdict.code].message } });
  };
}

/** Per-address limit over all instances (while Redis cannot answer, the local count decides): false when over it. */
async function holdSharedConnection(request: FastifyRequest, limits: SharedLimits): Promise<boolean> {
  const ip = request.ip;
  if ((await limits.acquireConnection(ip)) === 'over_limit') return false;
  // An upgraded socket is the connection: its close releases the count (at once if it closed meanwhile).
  const socket = request.raw.socket;
  if (socket.destroyed) limits.releaseConnection(ip);
  else socket.once('close', () => limits.releaseConnection(ip));
  return true;
}
