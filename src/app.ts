// Builds the gateway's HTTP app (never listens; src/server.ts owns the process): the browser page with security
// headers, the /v1/voice and /v1/realtime WebSockets behind admission checks, health checks and /metrics. The upstream is wrapped in
// a concurrency cap and a circuit breaker here. Everything is injected, so tests build it on port 0.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import fastify, { type FastifyInstance } from 'fastify';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { AccessLogController, accessLogger } from './access-log.js';
import { startScaleOut, type ScaleOut } from './cluster/scale-out.js';
import type { Config } from './config.js';
import { MemoryFiguresStore } from './experiments/figures.js';
import { QualityRecorder } from './experiments/quality-recorder.js';
import { GatewayMetrics, type UpstreamConnectionStats } from './metrics.js';
import { registerHttpRoutes, type Readiness } from './http-routes.js';
import { selectSubprotocol, TokenSet } from './transports/admission.js';
import { realtimeTransport } from './transports/realtime/route.js';
import { ConnectionLedger } from './hosting/connection-ledger.js';
import { SessionRegistry } from './hosting/session-registry.js';
import { TurnGate } from './transports/turn-gate.js';
import type { TransportDeps } from './transports/transport-deps.js';
import { voiceTransport } from './transports/voice/route.js';
import type { ToolRegistry } from './tools/registry.js';
import type { Tracing } from './tracing/tracing.js';
import { CircuitBreaker } from './upstream/circuit-breaker.js';
import { ConcurrencyLimiter } from './upstream/concurrency-limiter.js';
import type { ChatStreamer } from './upstream/types.js';
import { createAdmission } from './upgrade-admission.js';

export type { Readiness };

/** ws closes the connection (1009) above this; between maxFrameBytes and it, frames get a typed error. */
export function hardFrameCap(maxFrameBytes: number): number {
  return Math.max(maxFrameBytes * 4, 1024 * 1024);
}

export interface AppOptions {
  config: Readonly<Config>;
  chat: ChatStreamer;
  /** Server tools offered to the model in every session. */
  tools: ToolRegistry;
  logger: Logger;
  /** Upstream readiness for /readyz (reachable, or the simulator is up). */
  upstreamReadiness: () => Readiness | Promise<Readiness>;
  /** Tracing (src/tracing/): each response gets a trace. Null or absent: off, and no tracing code runs per turn. */
  tracing?: Tracing | null;
  /** The upstream pool's connections and warm-ups, for /metrics (ChatClient.connectionStats). */
  upstreamConnections?: () => UpstreamConnectionStats | undefined;
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

/**
 * helmet's security headers on every HTTP response, the CSP above included. Its middleware is built once here:
 * @fastify/helmet, used before, built it again for every request, WebSocket upgrades included: 6.5 µs each warm,
 * against 0.24 µs for the middleware built once (docs/benchmarks/analysis.md, the tenth pass).
 */
const securityHeaders = helmet({ contentSecurityPolicy: { directives: CSP_DIRECTIVES } });

export async function buildApp(options: AppOptions): Promise<GatewayApp> {
  const { config, logger } = options;
  const tracing = options.tracing ?? null;
  const app = fastify({
    // URLs in access lines carry no query values (a refused client may have put a token there).
    loggerInstance: accessLogger(logger),
    trustProxy: config.trustProxy,
    // Probes hit /healthz, /readyz and /metrics every few seconds (with any query string): no access lines for them.
    logController: new AccessLogController(),
    return503OnClosing: true,
  });
  const connections = new ConnectionLedger();
  const sessions = new SessionRegistry(connections, config.resumeTtlMs, config.maxConnections);
  const metrics = new GatewayMetrics();
  if (options.upstreamConnections !== undefined) metrics.watchUpstream(options.upstreamConnections);
  const scaleOut =
    config.redisUrl === undefined
      ? null
      : await startScaleOut({ config, redisUrl: config.redisUrl, registry: sessions, metrics, logger, tracing });
  if (scaleOut !== null) app.addHook('onClose', () => scaleOut.close());
  const tokens = new TokenSet(config.gatewayTokens);
  // The experiment's figures: in Redis with scale-out, so every instance reports the same sums.
  const figures = scaleOut?.figures ?? new MemoryFiguresStore();
  const quality = new QualityRecorder(metrics.registry, figures);
  const breaker = guardUpstream(options.chat, config, metrics, logger);

  app.decorateRequest('gatewayTokenId', null);
  app.addHook('onRequest', (request, reply, done) =>
    securityHeaders(request.raw, reply.raw, (err?: unknown) => done(err === undefined ? undefined : toError(err))),
  );
  await app.register(fastifyWebsocket, {
    options: {
      maxPayload: hardFrameCap(config.maxFrameBytes),
      perMessageDeflate: false,
      // Select our protocol name (or `realtime` for OpenAI Realtime clients); a token entry is never echoed back.
      handleProtocols: (offered: Set<string>) => selectSubprotocol(offered),
    },
  });
  await app.register(fastifyStatic, { root: findPublicDir(), index: 'index.html' });
  for (const [file, dir] of vendorFiles()) app.get(`/vendor/${file}`, (_request, reply) => reply.sendFile(file, dir));
  registerHttpRoutes(app, {
    config,
    tokens,
    connections,
    metrics,
    figures,
    breaker,
    scaleOut,
    upstreamReadiness: options.upstreamReadiness,
  });

  const sharedLimits = scaleOut?.limits ?? null;
  const deps: TransportDeps = {
    config,
    chat: breaker,
    tools: options.tools,
    connections,
    sessions,
    metrics,
    quality,
    logger,
    tracing,
    admission: createAdmission({ config, tokens, connections, metrics, sharedLimits }),
    turns: new TurnGate(config, connections),
    scaleOut: scaleOut?.cluster ?? null,
    sharedLimits,
  };
  await app.register(voiceTransport, deps);
  await app.register(realtimeTransport, deps);

  const drain = async (graceMs: number): Promise<void> => {
    await sessions.drain(graceMs);
    // Drained sessions are left in Redis for the other instances: make sure those writes landed.
    await scaleOut?.cluster?.settle();
  };
  return { app, sessions, metrics, breaker, scaleOut, drain };
}

/** The upstream behind a concurrency cap and a circuit breaker, whose state is a metric and a log line. */
function guardUpstream(
  chat: ChatStreamer,
  config: Readonly<Config>,
  metrics: GatewayMetrics,
  logger: Logger,
): CircuitBreaker {
  const limited = new ConcurrencyLimiter(chat, {
    maxConcurrent: config.upstreamMaxConcurrency,
    queueSize: config.upstreamQueueSize,
    queueTimeoutMs: config.upstreamQueueTimeoutMs,
  });
  return new CircuitBreaker(limited, {
    failureThreshold: config.breakerFailureThreshold,
    cooldownMs: config.breakerCooldownMs,
    onStateChange: (state) => {
      metrics.breakerState.set(state === 'closed' ? 0 : 1);
      logger.warn({ state }, 'upstream circuit breaker');
    },
  });
}

/** The browser builds public/markdown.js imports, as [file, directory]: served from the production dependencies. */
function vendorFiles(): [string, string][] {
  const require = createRequire(import.meta.url);
  const builds: [file: string, pkg: string][] = [
    ['marked.esm.js', 'marked'],
    ['purify.es.mjs', 'dompurify'],
  ];
  return builds.map(([file, pkg]) => {
    const dir = dirname(require.resolve(pkg));
    if (!existsSync(join(dir, file))) throw new Error(`${pkg}: its browser build ${file} is not in ${dir}`);
    return [file, dir];
  });
}

/** public/ sits at the project root: one level above src/, two above dist/src/. */
function findPublicDir(): string {
  for (const relative of ['../public/', '../../public/']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new Error('public/index.html not found next to the gateway');
}

const toError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));
