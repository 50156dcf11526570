// The upstream as the configuration asks for it: the connection pool (size, keep-alive, HTTP version, extra CA)
// and the chat client on it, with its timeouts, retries and connection warmer. The gateway and the tests build it
// here, so both run the same wiring.
import type { Config } from '../config.js';
import { ChatClient, type ChatClientOptions } from './chat-client.js';
import type { UpstreamLogger } from './types.js';
import { createUpstreamPool, type UpstreamHttp, type UpstreamPool } from './upstream-pool.js';

export interface Upstream {
  pool: UpstreamPool;
  chat: ChatClient;
  /** The HTTP version setting in force: h1 over plain http:// whatever UPSTREAM_HTTP says (no ALPN). */
  http: UpstreamHttp;
}

/** Overrides of the client's options (tests: a short retry backoff). */
export type UpstreamOverrides = Partial<Omit<ChatClientOptions, 'baseUrl' | 'apiKey' | 'dispatcher'>>;

export function createUpstream(
  config: Readonly<Config>,
  baseUrl: string,
  logger?: UpstreamLogger,
  overrides: UpstreamOverrides = {},
): Upstream {
  const http: UpstreamHttp = /^https:/i.test(baseUrl) ? config.upstreamHttp : 'h1';
  const pool = createUpstreamPool(baseUrl, {
    // Never fewer sockets than concurrent requests allowed, or requests queue invisibly inside undici (bench: +1.8 s at 1,000 sessions).
    connections: Math.max(config.upstreamConnections, config.upstreamMaxConcurrency),
    keepAliveTimeoutMs: config.upstreamKeepAliveMs,
    http,
    ...(config.upstreamCa === undefined ? {} : { ca: config.upstreamCa }),
  });
  const warm = {
    // The warmer stays within UPSTREAM_CONNECTIONS even when the concurrency cap lets the pool grow beyond it.
    maxConnections: config.upstreamConnections,
    keepAliveMs: config.upstreamKeepAliveMs,
  };
  const chat = new ChatClient({
    baseUrl,
    apiKey: config.apiKey,
    dispatcher: pool,
    firstTokenTimeoutMs: config.upstreamFirstTokenTimeoutMs,
    stallTimeoutMs: config.upstreamStallTimeoutMs,
    pingsOnlyTimeoutMs: config.upstreamPingsOnlyTimeoutMs,
    maxRetries: config.upstreamMaxRetries,
    ...(logger === undefined ? {} : { logger }),
    ...(config.upstreamWarm ? { warm } : {}),
    ...overrides,
  });
  return { pool, chat, http };
}
