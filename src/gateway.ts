// Starts the whole gateway in this process: tracing (when an OTLP endpoint is configured), the upstream (ASI:One, or
// the built-in simulator when there is no key), a warmed connection pool (kept warm by the chat client), and the
// HTTP app listening. Returns a stop() that drains gracefully, then flushes the traces.
import type { Logger } from 'pino';
import { buildApp, type Readiness } from './app.js';
import type { Config } from './config.js';
import { parseModelProfiles, startSimulator, type Simulator } from './simulator/server.js';
import { loadTools } from './tools/load-tools.js';
import { startTracing, stopTracing } from './tracing/start-tracing.js';
import type { Tracing } from './tracing/tracing.js';
import { createUpstream } from './upstream/upstream-setup.js';

/** Readiness is re-probed at most this often while the upstream is unreachable. */
const READINESS_REPROBE_MS = 5_000;

export interface GatewayOptions {
  /** Tracing to use instead of what the configuration starts (tests inject an in-memory exporter); null: off. */
  tracing?: Tracing | null;
}

export async function startGateway(config: Readonly<Config>, logger: Logger, options: GatewayOptions = {}) {
  // Off (no OTEL_EXPORTER_OTLP_ENDPOINT): null, and the SDK is never loaded.
  const tracing = options.tracing !== undefined ? options.tracing : await startTracing(config.tracing, logger);
  let simulator: Simulator | undefined;
  let baseUrl = config.baseUrl;
  if (config.upstream === 'simulator') {
    simulator = await startSimulator({
      host: '127.0.0.1',
      port: 0,
      defaults: { ttftMs: config.simulatorTtftMs, interTokenMs: config.simulatorTokenIntervalMs },
      // The demo lets you hear the family apart: asi1-mini fastest and shortest, asi1-ultra slowest and longest.
      modelProfiles: parseModelProfiles(config.simulatorModelProfiles),
    });
    baseUrl = simulator.url;
    announceSimulatorMode(logger, baseUrl);
  }

  const { pool, chat, http } = createUpstream(config, baseUrl, logger.child({ component: 'upstream' }));
  // Only the built-in simulator gets here (the configuration refuses h2 with a key and an http:// URL).
  if (config.upstreamHttp === 'h2' && http !== 'h2')
    logger.warn({ baseUrl }, 'UPSTREAM_HTTP=h2: the built-in simulator speaks plain HTTP/1.1; using h1');

  let readiness: Readiness = { ready: false, reason: 'upstream not probed yet' };
  let lastProbeAt = 0;
  const probe = async (): Promise<Readiness> => {
    lastProbeAt = Date.now();
    const warmed = await chat.warm();
    readiness = warmed.ok
      ? { ready: true }
      : { ready: false, reason: `upstream unreachable: ${warmed.error ?? 'unknown'}` };
    return readiness;
  };
  // Warm before listening, so the first turn does not pay TCP/TLS set-up.
  const firstProbe = await probe();
  if (firstProbe.ready) logger.info({ upstream: config.upstream, baseUrl }, 'upstream connection warmed');
  else logger.warn({ upstream: config.upstream, baseUrl, reason: firstProbe.reason }, 'upstream not reachable yet');

  announceOpenAccess(config, logger);
  const tools = await loadTools(config);
  logger.info({ tools: tools.names }, 'server tools loaded');
  const gateway = await buildApp({
    config,
    chat,
    tools,
    logger,
    tracing,
    upstreamReadiness: () => (readiness.ready || Date.now() - lastProbeAt < READINESS_REPROBE_MS ? readiness : probe()),
    upstreamConnections: () => chat.connectionStats(),
  });
  await gateway.app.listen({ port: config.port, host: config.host });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ sessions: gateway.sessions.size, graceMs: config.shutdownGraceMs }, 'draining');
      await gateway.drain(config.shutdownGraceMs);
      await gateway.app.close();
      await chat.close();
      await pool.close();
      await simulator?.close();
      // Last: the spans of the responses the drain ended are exported (within a bound) before the process exits.
      // An injected provider belongs to whoever passed it in, as an injected dispatcher does.
      if (tracing) await (options.tracing === undefined ? stopTracing(tracing, logger) : tracing.forceFlush());
      logger.info('stopped');
    })();
    return stopping;
  };
  return { app: gateway.app, stop, simulator, tracing };
}

function announceSimulatorMode(logger: Logger, url: string): void {
  logger.warn(
    { upstream: 'simulator', url },
    'ASI_ONE_API_KEY is not set: using the built-in OFFLINE SIMULATOR, not asi1-mini',
  );
  process.stderr.write(
    [
      '',
      '  ┌──────────────────────────────────────────────────────────────────────┐',
      '  │  OFFLINE SIMULATOR MODE: ASI_ONE_API_KEY is not set.                 │',
      '  │  Replies come from the built-in asi1 simulator, NOT from asi1-mini.  │',
      '  │  Set ASI_ONE_API_KEY=... to talk to the real model.                  │',
      '  └──────────────────────────────────────────────────────────────────────┘',
      '',
      '',
    ].join('\n'),
  );
}

/** Addresses that only this machine can reach. */
function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Listening beyond loopback without GATEWAY_TOKENS lets anyone who reaches the port talk to the model on the
 * operator's key; without PUBLIC_ORIGIN the browser check trusts the Host header (DNS rebinding). Say so loudly.
 */
function announceOpenAccess(config: Readonly<Config>, logger: Logger): void {
  if (config.gatewayTokens.length > 0 || isLoopbackHost(config.host)) return;
  const originCheck =
    config.publicOrigin !== undefined || config.allowedOrigins.length > 0 ? 'configured' : 'Host header only';
  logger.warn(
    { host: config.host, originCheck },
    'GATEWAY_TOKENS is not set and the gateway listens beyond loopback: anyone who can reach it can use it',
  );
  process.stderr.write(
    [
      '',
      '  ┌──────────────────────────────────────────────────────────────────────┐',
      '  │  OPEN ACCESS: no GATEWAY_TOKENS, listening beyond loopback.          │',
      '  │  Anyone who can reach this port can talk to the model on your key.   │',
      '  │  Set GATEWAY_TOKENS (and PUBLIC_ORIGIN), or HOST=127.0.0.1.          │',
      '  └──────────────────────────────────────────────────────────────────────┘',
      '',
      '',
    ].join('\n'),
  );
}
