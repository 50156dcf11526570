// The rig of the upstream connection tests: the simulator over TLS (HTTP/2 optional, a connection cost optional)
// and the gateway in front of it, its upstream built from the configuration exactly as src/gateway.ts builds it
// (createUpstream: pool, HTTP version, UPSTREAM_CA_FILE, warmer). No start-up warm-up unless asked: what a test
// sees of the upstream's connections is the warmer's doing (or the turns' own).
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, afterEach } from 'vitest';
import { buildApp, type GatewayApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import {
  startSimulator,
  type RecordedRequest,
  type Simulator,
  type SimulatorOptions,
} from '../../src/simulator/server.js';
import { loadTools } from '../../src/tools/load-tools.js';
import type { ChatClient } from '../../src/upstream/chat-client.js';
import { createUpstream } from '../../src/upstream/upstream-setup.js';
import type { UpstreamPool } from '../../src/upstream/upstream-pool.js';
import { VoiceClient } from '../helpers.js';
import { testCertificates } from '../tls-certificates.js';

export interface TlsStack {
  simulator: Simulator;
  gateway: GatewayApp;
  config: Readonly<Config>;
  chat: ChatClient;
  pool: UpstreamPool;
  voiceUrl: string;
  /** The chat requests the simulator received (warm-ups are GET /models and not recorded). */
  chatRequests(): readonly RecordedRequest[];
  close(): Promise<void>;
}

export interface TlsStackOptions {
  /** Configuration overrides, as environment strings (UPSTREAM_CA_FILE is the test CA unless given, '' unsets). */
  env?: Record<string, string>;
  simulator?: Partial<SimulatorOptions>;
  /** Warm up before listening, as src/gateway.ts does (default: no). */
  warmAtStart?: boolean;
}

export async function startTlsStack(options: TlsStackOptions = {}): Promise<TlsStack> {
  const certificates = testCertificates();
  const simulator = await startSimulator({
    port: 0,
    host: '127.0.0.1',
    tls: { key: certificates.key, cert: certificates.cert },
    ...options.simulator,
    defaults: { ttftMs: 0, interTokenMs: 0, ...options.simulator?.defaults },
  });
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    ASI_ONE_API_KEY: 'sk_test_tls',
    ASI_BASE_URL: simulator.url,
    UPSTREAM_CA_FILE: certificates.caFile,
    ...options.env,
  });
  const { chat, pool } = createUpstream(config, simulator.url, undefined, { retryBaseDelayMs: 1 });
  if (options.warmAtStart === true) await chat.warm();
  const gateway = await buildApp({
    config,
    chat,
    tools: await loadTools(config),
    logger: pino({ level: 'silent' }),
    upstreamReadiness: () => ({ ready: true }),
  });
  await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = gateway.app.server.address() as AddressInfo;
  return {
    simulator,
    gateway,
    config,
    chat,
    pool,
    voiceUrl: `ws://127.0.0.1:${port}/v1/voice`,
    chatRequests: () => simulator.requests,
    async close() {
      await gateway.drain(0);
      await gateway.app.close();
      await chat.close();
      await pool.destroy();
      await simulator.close();
    },
  };
}

/** Resolves with the next stream the simulator sees end for `reason`. */
export function nextStreamEnd(simulator: Simulator, reason: string): Promise<{ id: number; reason: string }> {
  return new Promise((resolve) => {
    const onEnd = (end: { id: number; reason: string }): void => {
      if (end.reason !== reason) return;
      simulator.events.off('stream-end', onEnd);
      resolve(end);
    };
    simulator.events.on('stream-end', onEnd);
  });
}

/** A file's TLS stacks and voice clients: each test's closed after it, the test certificates removed at the end. */
export interface TlsRig {
  start(options?: TlsStackOptions): Promise<TlsStack>;
  /** Opens `count` voice sessions on the test's stack at once. */
  connect(count: number): Promise<VoiceClient[]>;
}

export function useTlsRig(): TlsRig {
  let stack: TlsStack | undefined;
  const clients: VoiceClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    await stack?.close();
    stack = undefined;
  });
  afterAll(() => testCertificates().remove());
  return {
    async start(options) {
      stack = await startTlsStack(options);
      return stack;
    },
    async connect(count) {
      const url = stack?.voiceUrl;
      if (url === undefined) throw new Error('start a stack first');
      const opened = await Promise.all(Array.from({ length: count }, () => VoiceClient.connect(url)));
      clients.push(...opened);
      return opened;
    },
  };
}
