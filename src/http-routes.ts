// The plain HTTP routes beside the WebSockets: liveness (/healthz), readiness (/readyz: upstream, breaker, Redis),
// what a front-end needs before it connects (/v1/info), Prometheus metrics (/metrics) and the experiment's figures
// (/v1/experiments), both behind METRICS_TOKEN.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FiguresStore } from './experiments/figures.js';
import { buildReport } from './experiments/report.js';
import type { ScaleOut } from './cluster/scale-out.js';
import type { Config } from './config.js';
import { ERROR_CATALOGUE } from './errors.js';
import type { ConnectionLedger } from './hosting/connection-ledger.js';
import type { GatewayMetrics } from './metrics.js';
import { PROTOCOL_MINOR, PROTOCOL_VERSION } from './protocol.js';
import { TokenSet } from './transports/admission.js';
import type { CircuitBreaker } from './upstream/circuit-breaker.js';

export interface Readiness {
  ready: boolean;
  reason?: string;
}

export interface HttpRouteDeps {
  config: Readonly<Config>;
  tokens: TokenSet;
  connections: ConnectionLedger;
  metrics: GatewayMetrics;
  /** The experiment's running totals (memory, or Redis with scale-out). */
  figures: FiguresStore;
  breaker: CircuitBreaker;
  scaleOut: ScaleOut | null;
  upstreamReadiness: () => Readiness | Promise<Readiness>;
}

export function registerHttpRoutes(app: FastifyInstance, deps: HttpRouteDeps): void {
  const { config, tokens, connections, metrics, breaker, scaleOut } = deps;
  app.get('/healthz', async () => ({ status: 'ok' }));
  // Browsers cannot read the HTTP status of a refused WebSocket, so the page asks here whether it needs a token.
  app.get('/v1/info', async () => ({
    protocol: PROTOCOL_VERSION,
    minor: PROTOCOL_MINOR,
    tokenRequired: tokens.enabled,
    upstream: config.upstream,
  }));
  app.get('/readyz', async (_request, reply) => {
    const readiness = connections.isDraining ? { ready: false, reason: 'draining' } : await deps.upstreamReadiness();
    const redis = scaleOut === null ? 'off' : scaleOut.status();
    // Redis down is degraded, not unready: new conversations still work from memory, and taking every instance
    // out of the load balancer at once would turn a Redis outage into a full outage.
    const status = !readiness.ready ? 'not ready' : redis === 'down' ? 'degraded' : 'ready';
    return reply
      .code(readiness.ready ? 200 : 503)
      .send({ status, ...readiness, upstream: config.upstream, breaker: breaker.state, redis });
  });
  const metricsTokens = new TokenSet(config.metricsToken === undefined ? [] : [config.metricsToken]);
  const authorised = (request: FastifyRequest): boolean => {
    if (!metricsTokens.enabled) return true;
    const auth = request.headers.authorization ?? '';
    return /^bearer\s+/i.test(auth) && metricsTokens.match(auth.replace(/^bearer\s+/i, '').trim()) !== null;
  };
  const unauthorised = { error: { code: 'GW_UNAUTHORIZED', message: ERROR_CATALOGUE.GW_UNAUTHORIZED.message } };
  app.get('/metrics', async (request, reply) => {
    if (!authorised(request)) return reply.code(401).send(unauthorised);
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  // The experiment's figures and tests, behind the same token as /metrics.
  app.get('/v1/experiments', async (request, reply) => {
    if (!authorised(request)) return reply.code(401).send(unauthorised);
    const arms = config.experiment?.arms.map((arm) => arm.name) ?? [];
    try {
      return buildReport(config.experiment, await deps.figures.read(arms));
    } catch {
      const { message } = ERROR_CATALOGUE.GW_FIGURES_UNAVAILABLE;
      return reply.code(503).send({ error: { code: 'GW_FIGURES_UNAVAILABLE', message } });
    }
  });
}
