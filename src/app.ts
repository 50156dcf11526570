// Builds the gateway's HTTP app (never listens; src/server.ts owns the process): the browser page, the
// /v1/voice WebSocket, and health checks. Everything it needs is injected, so tests build it on port 0.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { SessionRegistry } from './transports/session-registry.js';
import { registerVoiceTransport } from './transports/voice-ws.js';
import type { ToolRegistry } from './tools/registry.js';
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
  /** Graceful drain: readiness goes false, active responses get `graceMs` to finish, sockets close with 1001. */
  drain(graceMs: number): Promise<void>;
}

export async function buildApp(options: AppOptions): Promise<GatewayApp> {
  const { config, chat, logger } = options;
  const loggerInstance: FastifyBaseLogger = logger;
  const app = fastify({
    loggerInstance,
    // Probes hit these every few seconds; logging each would drown the lifecycle logs.
    logController: new LogController({ disableRequestLogging: (request) => request.url === '/healthz' || request.url === '/readyz' }),
    return503OnClosing: true,
  });
  const sessions = new SessionRegistry();

  await app.register(fastifyWebsocket, {
    options: { maxPayload: hardFrameCap(config.maxFrameBytes), perMessageDeflate: false },
  });
  await app.register(fastifyStatic, { root: findPublicDir(), index: 'index.html' });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const readiness = sessions.isDraining ? { ready: false, reason: 'draining' } : await options.upstreamReadiness();
    return reply.code(readiness.ready ? 200 : 503).send({ status: readiness.ready ? 'ready' : 'not ready', ...readiness, upstream: config.upstream });
  });

  registerVoiceTransport(app, { config, chat, tools: options.tools, sessions, logger });

  return {
    app,
    sessions,
    drain: (graceMs) => sessions.drain(graceMs),
  };
}

/** public/ sits at the project root: one level above src/, two above dist/src/. */
function findPublicDir(): string {
  for (const relative of ['../public/', '../../public/']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new Error('public/index.html not found next to the gateway');
}
