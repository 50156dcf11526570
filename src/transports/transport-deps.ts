// What every WebSocket transport is given (one type for /v1/voice and /v1/realtime, both fastify plugins): the
// configuration, the upstream, tools, hosting, the per-client limits, metrics, and the admission hook that runs
// before an upgrade. Scale-out arrives only as hosting's port interfaces, never as cluster/ classes.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { ConnectionLedger } from '../hosting/connection-ledger.js';
import type { SessionScaleOut, SharedTurnLimits } from '../hosting/scale-out-port.js';
import type { SessionRegistry } from '../hosting/session-registry.js';
import type { GatewayMetrics, QualityObserver } from '../metrics.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { Tracing } from '../tracing/tracing.js';
import type { ChatStreamer } from '../upstream/types.js';
import type { TurnGate } from './turn-gate.js';

export interface TransportDeps {
  config: Readonly<Config>;
  chat: ChatStreamer;
  tools: ToolRegistry;
  /** Every open connection: counts, per-client limits and drain. */
  connections: ConnectionLedger;
  /** Resumable sessions (/v1/voice). */
  sessions: SessionRegistry;
  metrics: GatewayMetrics;
  /** Quality signals by model and experiment arm (Prometheus and the experiment's figures). */
  quality: QualityObserver;
  logger: Logger;
  /** Tracing (an OTLP endpoint is configured), or null: no spans, at no cost. */
  tracing: Tracing | null;
  /** Rejects the upgrade (HTTP 401/403/429/503) before any WebSocket exists. */
  admission: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** Response caps and turn rates per session, address and token, shared by both endpoints. */
  turns: TurnGate;
  /** Scale-out (REDIS_URL): sessions mirrored and resumable on any instance. Null: memory only. */
  scaleOut: SessionScaleOut | null;
  /** Scale-out: turn windows shared by every instance (the local ones apply while Redis is down). */
  sharedLimits: SharedTurnLimits | null;
}
