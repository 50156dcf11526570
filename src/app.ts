// Builds the gateway's HTTP app (never listens; src/server.ts owns the process): the browser page with security
// headers, the /v1/voice and /v1/realtime WebSockets behind admission checks, health checks and /metrics. The upstream is wrapped in
// a concurrency cap and a circuit breaker here. Everything is injected, so tests build it on port 0.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { AccessLogController, accessLogger } from './access-log.js';
import { startScaleOut, type ScaleOut } from './cluster/scale-out.js';
import type { Config } from './config.js';
import { ERROR_CATALOGUE } from './errors.js';
import { GatewayMetrics } from './metrics.js';
import { PROTOCOL_MINOR, PROTOCOL_VERSION } from './protocol.js';
import { admit, selectSubprotocol, TokenSet, type Admission } from './transports/admission.js';
import { registerRealtimeTransport } from './transports/realtime/route.js';
import { ConnectionLedger } from './hosting/connection-ledger.js';
import { SessionRegistry } from './hosting/session-registry.js';
import { TurnGate } from './transports/turn-gate.js';
import { registerVoiceTransport } from './transports/voice-ws.js';
import type { ToolRegistry } from './tools/registry.js';
import { CircuitBreaker } from './upstream/circuit-breaker.js';
import { ConcurrencyLimiter } from './upstream/concurrency-limiter.js';
import type { ChatStreamer } from './upstream/types.js';

/** ws closes the connection (1009) above this; between maxFrameBytes and it, frames get a typed error. */
export function hardFrameCap(maxFrameBytes: number): number {
  return Math.max(maxFrameBytes * 4, 1024 * 1024);
}

export interface Readiness {
  ready: boolean;
  reason?: string;
}

export interface AppOptions {
  config: Readonly<Config>;
  chat: ChatStreamer;
  /** Server tools offered to the model in every session. */
  tools: ToolRegistry;
  logger: Logger;
  /** Upstream readiness for /readyz (reachable, or the simulator is up). */
  upstreamReadiness: () => Readiness | Promise<Readiness>;
}

export interface GatewayApp {
  app: FastifyInstance;
  sessions: SessionRegistry;
  metrics: GatewayMetrics;
  breaker: CircuitBreaker;
  /** Scale-out through Redis (REDIS_URL), or null. */
  scaleOut: ScaleOut | null;
  /** Graceful drain: readiness goes false, active responses get `graceMs` to finish, sockets close with 1001. */
  drain(graceMs: number): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Short id of the gateway token the client presented (never the token), or null. */
    gatewayTokenId: string | null;
  }
}

/** The page's Content Security Policy: everything from this origin, nothing inline, nothing framed. */
const CSP_DIRECTIVES = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  frameAncestors: ["'none'"],
  formAction: ["'self'"],
  // Off: it would upgrade ws:// to wss:// and break the demo on plain http://localhost.
  upgradeInsecureRequests: null,
};

export async function buildApp(options: AppOptions): Promise<GatewayApp> {
  const { config, logger } = options;
  // URLs in access lines carry no query values (a refused client may have put a token there).
  const loggerInstance = accessLogger(logger);
  const app = fastify({
    loggerInstance,
    trustProxy: config.trustProxy,
    // Probes hit /healthz, /readyz and /metrics every few seconds (with any query string): no access lines for them.
    logController: new AccessLogController(),
    return503OnClosing: true,
  });
  const connections = new ConnectionLedger();
  const sessions = new SessionRegistry(connections, config.resumeTtlMs, config.maxConnections);
  const metrics = new GatewayMetrics();
  const scaleOut = config.redisUrl === undefined ? null : await startScaleOut(config, config.redisUrl, sessions, metrics, logger);
  if (scaleOut !== null) app.addHook('onClose', () => scaleOut.close());
  const tokens = new TokenSet(config.gatewayTokens);
  const turns = new TurnGate(config, connections);
  const breaker = new CircuitBreaker(
    new ConcurrencyLimiter(options.chat, {
      maxConcurrent: config.upstreamMaxConcurrency,
      queueSize: config.upstreamQueueSize,
      queueTimeoutMs: config.upstreamQueueTimeoutMs,
    }),
    {
      failureThreshold: config.breakerFailureThreshold,
      cooldownMs: config.breakerCooldownMs,
      onStateChange: (state) => {
        metrics.breakerState.set(state === 'closed' ? 0 : 1);
        logger.warn({ state }, 'upstream circuit breaker');
      },
    },
  );

  app.decorateRequest('gatewayTokenId', null);
  await app.register(fastifyHelmet, { contentSecurityPolicy: { directives: CSP_DIRECTIVES } });
  await app.register(fastifyWebsocket, {
    options: {
      maxPayload: hardFrameCap(config.maxFrameBytes),
      perMessageDeflate: false,
      // Select our protocol name (or `realtime` for OpenAI Realtime clients); a token entry is never echoed back.
      handleProtocols: (offered: Set<string>) => selectSubprotocol(offered),
    },
  });
  await app.register(fastifyStatic, { root: findPublicDir(), index: 'index.html' });

  app.get('/healthz', async () => ({ status: 'ok' }));
  // What a front-end needs before it connects: browsers cannot read the HTTP status of a refused WebSocket,
  // so the page asks here whether it must prompt for a gateway token.
  app.get('/v1/info', async () => ({ protocol: PROTOCOL_VERSION, minor: PROTOCOL_MINOR, tokenRequired: tokens.enabled, upstream: config.upstream }));
  app.get('/readyz', async (_request, reply) => {
    const readiness = sessions.isDraining ? { ready: false, reason: 'draining' } : await options.upstreamReadiness();
    const redis = scaleOut === null ? 'off' : scaleOut.status();
    // Redis down is degraded, not unready: new conversations still work from memory, and taking every instance
    // out of the load balancer at once would turn a Redis outage into a full outage.
    const status = !readiness.ready ? 'not ready' : redis === 'down' ? 'degraded' : 'ready';
    return reply.code(readiness.ready ? 200 : 503).send({ status, ...readiness, upstream: config.upstream, breaker: breaker.state, redis });
  });
  const metricsTokens = new TokenSet(config.metricsToken === undefined ? [] : [config.metricsToken]);
  app.get('/metrics', async (request, reply) => {
    if (metricsTokens.enabled) {
      const auth = request.headers.authorization ?? '';
      if (!/^bearer\s+/i.test(auth) || metricsTokens.match(auth.replace(/^bearer\s+/i, '').trim()) === null) {
        return reply.code(401).send({ error: { code: 'GW_UNAUTHORIZED', message: ERROR_CATALOGUE.GW_UNAUTHORIZED.message } });
      }
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  /** Admission before the upgrade: a rejected client gets a plain HTTP error, never a WebSocket. */
  const admission = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    let verdict: Admission = sessions.isDraining
      ? { ok: false, status: 503, code: 'GW_SHUTTING_DOWN', reason: 'draining' }
      : admit({ headers: request.headers, ip: request.ip }, config, tokens, connections);
    if (verdict.ok) {
      request.gatewayTokenId = verdict.tokenId;
      // A plain GET (no upgrade) becomes no connection: it must not hold a count for its keep-alive socket's life.
      if (scaleOut === null || !request.ws) return;
      // Per-address limit over all instances; while Redis cannot answer, the local count above decides.
      const shared = await scaleOut.limits.acquireConnection(request.ip);
      if (shared !== 'over_limit') {
        const ip = request.ip;
        // An upgraded socket is the connection: its close releases the count (at once if it closed meanwhile).
        const socket = request.raw.socket;
        if (socket.destroyed) scaleOut.limits.releaseConnection(ip);
        else socket.once('close', () => scaleOut.limits.releaseConnection(ip));
        return;
      }
      verdict = { ok: false, status: 429, code: 'GW_TOO_MANY_CONNECTIONS', reason: 'max_connections_per_ip' };
    }
    metrics.rejectedConnections.inc({ reason: verdict.reason });
    request.log.info({ reason: verdict.reason, ip: request.ip }, 'upgrade refused');
    await reply
      .code(verdict.status)
      .header('connection', 'close')
      .send({ error: { code: verdict.code, message: ERROR_CATALOGUE[verdict.code].message } });
  };

  registerVoiceTransport(app, {
    config,
    chat: breaker,
    tools: options.tools,
    sessions,
    metrics,
    logger,
    admission,
    cluster: scaleOut?.cluster ?? null,
    sharedLimits: scaleOut?.limits ?? null,
    turns,
  });
  registerRealtimeTransport(app, { config, chat: breaker, tools: options.tools, connections, metrics, logger, admission, turns });

  const drain = async (graceMs: number): Promise<void> => {
    await sessions.drain(graceMs);
    // Drained sessions are left in Redis for the other instances: make sure those writes landed.
    await scaleOut?.cluster?.settle();
  };
  return { app, sessions, metrics, breaker, scaleOut, drain };
}

/** public/ sits at the project root: one level above src/, two above dist/src/. */
function findPublicDir(): string {
  for (const relative of ['../public/', '../../public/']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new Error('public/index.html not found next to the gateway');
}
