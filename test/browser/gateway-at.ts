// Starts the gateway on a chosen port, so the reconnect test can restart "the server" where the page expects
// it. Same wiring as startGatewayFor in test/helpers.ts, which always listens on port 0.
import { pino } from 'pino';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { loadTools } from '../../src/tools/load-tools.js';
import { ChatClient, createUpstreamPool } from '../../src/upstream/chat-client.js';

export interface RunningGateway {
  httpUrl: string;
  port: number;
  close(): Promise<void>;
}

/** The gateway in front of `upstreamUrl` on 127.0.0.1:`port` (0: any free port); `env` overrides configuration. */
export async function startGatewayAt(upstreamUrl: string, port: number, env: Record<string, string> = {}): Promise<RunningGateway> {
  const config = loadConfig({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env });
  const pool = createUpstreamPool(upstreamUrl, { connections: 16, keepAliveTimeoutMs: 1_000 });
  const chat = new ChatClient({
    baseUrl: upstreamUrl,
    apiKey: config.apiKey,
    dispatcher: pool,
    firstTokenTimeoutMs: config.upstreamFirstTokenTimeoutMs,
    stallTimeoutMs: config.upstreamStallTimeoutMs,
    maxRetries: config.upstreamMaxRetries,
    retryBaseDelayMs: 1,
  });
  const gateway = await buildApp({
    config,
    chat,
    tools: await loadTools(config),
    logger: pino({ level: 'silent' }),
    upstreamReadiness: () => ({ ready: true }),
  });
  await gateway.app.listen({ port, host: '127.0.0.1' });
  const address = gateway.app.server.address();
  const actualPort = typeof address === 'object' && address !== null ? address.port : port;
  return {
    httpUrl: `http://127.0.0.1:${actualPort}`,
    port: actualPort,
    async close() {
      await gateway.drain(0);
      await gateway.app.close();
      await chat.close();
      await pool.destroy();
    },
  };
}
