// Test helpers: start the real stack (simulator + gateway) on ephemeral ports, and a WebSocket client that
// records server events and lets a test wait on them (never on sleeps).
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import WebSocket from 'ws';
import { buildApp, type GatewayApp } from '../src/app.js';
import { loadConfig, type Config } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import type { ServerEvent } from '../src/protocol.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../src/simulator/server.js';
import { loadTools } from '../src/tools/load-tools.js';
import type { ToolDefinition } from '../src/tools/types.js';
import type { Tracing } from '../src/tracing/tracing.js';
import { ChatClient, createUpstreamPool } from '../src/upstream/chat-client.js';
import { RecordingSocket } from './recording-socket.js';

export interface GatewayUnderTest {
  gateway: GatewayApp;
  config: Readonly<Config>;
  chat: ChatClient;
  /** ws://127.0.0.1:PORT/v1/voice */
  voiceUrl: string;
  httpUrl: string;
  close(): Promise<void>;
}

export interface GatewayTestOptions {
  /** Configuration overrides, as environment strings. */
  env?: Record<string, string>;
  logger?: Logger;
  /** Extra server tools registered next to the configured ones. */
  tools?: ToolDefinition[];
  /** Listen on this port (default 0: any free port); the reconnect tests restart a gateway where it was. */
  port?: number;
  /** Tracing (test/tracing/ builds one around an in-memory exporter); default: off. */
  tracing?: Tracing | null;
}

/** Starts the gateway (on port 0 unless told otherwise) in front of any OpenAI-compatible upstream at `upstreamUrl`. */
/**
 * Polls `condition` until it holds. Its own deadline (below vitest's per-test timeout) ends the loop with a
 * clear error, so a failed wait never keeps polling into the tests after it.
 */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 9_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function startGatewayFor(
  upstreamUrl: string,
  options: GatewayTestOptions = {},
): Promise<GatewayUnderTest> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...options.env });
  const pool = createUpstreamPool(upstreamUrl, { connections: 16, keepAliveTimeoutMs: 1_000 });
  const chat = new ChatClient({
    baseUrl: upstreamUrl,
    apiKey: config.apiKey,
    dispatcher: pool,
    firstTokenTimeoutMs: config.upstreamFirstTokenTimeoutMs,
    stallTimeoutMs: config.upstreamStallTimeoutMs,
    pingsOnlyTimeoutMs: config.upstreamPingsOnlyTimeoutMs,
    maxRetries: config.upstreamMaxRetries,
    retryBaseDelayMs: 1,
    ...(options.logger ? { logger: options.logger.child({ component: 'upstream' }) } : {}),
  });
  const tools = await loadTools(config);
  for (const tool of options.tools ?? []) tools.register(tool);
  const gateway = await buildApp({
    config,
    chat,
    tools,
    logger: options.logger ?? pino({ level: 'silent' }),
    upstreamReadiness: () => ({ ready: true }),
    tracing: options.tracing ?? null,
  });
  await gateway.app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  const { port } = gateway.app.server.address() as AddressInfo;
  return {
    gateway,
    config,
    chat,
    voiceUrl: `ws://127.0.0.1:${port}/v1/voice`,
    httpUrl: `http://127.0.0.1:${port}`,
    async close() {
      await gateway.drain(0);
      await gateway.app.close();
      await chat.close();
      await pool.destroy();
    },
  };
}

export interface Stack extends GatewayUnderTest {
  simulator: Simulator;
}

/** Starts the simulator (instant by default) and the gateway in front of it, both on port 0. */
export async function startStack(options: GatewayTestOptions & { simulator?: SimulatorOptions } = {}): Promise<Stack> {
  const simulator = await startSimulator({
    port: 0,
    host: '127.0.0.1',
    ...options.simulator,
    defaults: { ttftMs: 0, interTokenMs: 0, ...options.simulator?.defaults },
  });
  const under = await startGatewayFor(simulator.url, options);
  return {
    ...under,
    simulator,
    async close() {
      await under.close();
      await simulator.close();
    },
  };
}

/** A protocol v1 client that records every server event in order. */
export class VoiceClient extends RecordingSocket<ServerEvent> {
  static async connect(url: string, options?: WebSocket.ClientOptions): Promise<VoiceClient> {
    const socket = new WebSocket(url, options);
    const client = new VoiceClient(socket);
    await RecordingSocket.opened(socket);
    await client.waitFor((e) => e.type === 'session.ready');
    return client;
  }

  waitForType<T extends ServerEvent['type']>(type: T, from = 0): Promise<Extract<ServerEvent, { type: T }>> {
    return this.waitFor((e) => e.type === type, from) as Promise<Extract<ServerEvent, { type: T }>>;
  }

  /** Sends a turn and resolves with that response's response.done. */
  async turn(text: string): Promise<Extract<ServerEvent, { type: 'response.done' }>> {
    const from = this.events.length;
    this.send({ type: 'turn', text });
    const created = await this.waitForType('response.created', from);
    return (await this.waitFor(
      (e) => e.type === 'response.done' && e.responseId === created.responseId,
      from,
    )) as Extract<ServerEvent, { type: 'response.done' }>;
  }

  ofResponse(responseId: string): ServerEvent[] {
    return this.events.filter((e) => 'responseId' in e && e.responseId === responseId);
  }

  close(): Promise<{ code: number; reason: string }> {
    this.socket.close();
    return this.closed;
  }
}

/** The problems loadConfig lists for `env` (none: an empty list). */
export function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}
