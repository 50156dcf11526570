// The ASI:One simulator's HTTP server (node:http, node:https, or node:http2 with HTTP/1.1 still answered; its
// sockets fully controllable): starting and closing it, and its API (scenario queue, defaults, gates, connection
// counts). Routes are routes.ts; streaming is stream.ts; connections and their cost are connections.ts.

import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { Server, Socket } from 'node:net';
import { ConnectionTracker, type ConnectionStats } from './connections.js';
import { GateRegistry, type Gate } from './gates.js';
import { resolveModelProfiles, type ModelProfilesOption } from './model-profiles.js';
import { route, type RecordedRequest, type SimState } from './routes.js';
import { DEFAULT_SCENARIO, mergeScenario, type SimScenario } from './scenario.js';

export type { ConnectionStats } from './connections.js';
export type { Gate } from './gates.js';
export { FAMILY_PROFILES, parseModelProfiles, type ModelProfile, type ModelProfilesOption } from './model-profiles.js';
export { SIMULATED_MODELS, type RecordedRequest } from './routes.js';
export type { StreamEnd, StreamEndReason } from './stream.js';

export interface SimulatorOptions {
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  defaults?: Partial<SimScenario>;
  /** Picks a scenario per request when the queue is empty (soak tests inject random faults with it). */
  scenarioFor?: (body: unknown) => Partial<SimScenario> | undefined;
  /** When set, /v1 requests without `Authorization: Bearer <apiKey>` get 401 {"message":"failed to authenticate user"}. */
  apiKey?: string;
  /** One line per chat request on stderr (never the message text). */
  logRequests?: boolean;
  /**
   * Per-model pace and demo-reply length (model-profiles.ts). Default `'off'`: every model behaves alike.
   * `'family'`: asi1-mini ×1, asi1 ×2 first-token time (×1.5 between tokens, ×2 words), asi1-ultra ×4 (×2, ×3);
   * a map overrides those per model. Scripted replies keep their text; only their timing scales.
   */
  modelProfiles?: ModelProfilesOption;
  /** Serve HTTPS with this key and certificate (PEM); the URL is then https://. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** With `tls`: offer HTTP/2 by ALPN, HTTP/1.1 still answered (node:http2 with allowHTTP1). */
  http2?: boolean;
  /**
   * The price of a new connection, in ms: its responses wait until this long after it opened (TLS: after the
   * handshake), as the round trips of a real API's TCP + TLS set-up make a first request wait. Default 0.
   */
  connectionCostMs?: number;
}

export interface Simulator {
  /** Base URL including /v1, e.g. http://127.0.0.1:PORT/v1. */
  readonly url: string;
  readonly port: number;
  /** Chat requests in arrival order (the most recent ~10,000 are kept, so long benchmarks do not grow without bound). */
  readonly requests: readonly RecordedRequest[];
  /** Emits 'request' (RecordedRequest) and 'stream-end' (StreamEnd). */
  readonly events: EventEmitter;
  /** Connections opened, open now, the most open at once, and requests of any kind (each chat request records its `connection`). */
  connectionStats(): ConnectionStats;
  /** FIFO: each scenario is consumed by one valid, authorised chat request, merged over the defaults at that moment. */
  enqueue(...scenarios: Partial<SimScenario>[]): void;
  setDefaults(partial: Partial<SimScenario>): void;
  gate(name: string): Gate;
  activeStreams(): number;
  /** Closes the server and destroys every socket, including stalled and gated streams. */
  close(): Promise<void>;
}

/** Keep-alive of idle HTTP/1.1 connections (Node's default), announced as `Keep-Alive: timeout=5`. */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  if (options.http2 === true && options.tls === undefined) throw new Error('the simulator offers HTTP/2 only over TLS');
  const state = createState(options);
  const sockets = new Set<Socket>();
  const server = createHttpServer(options, (req, res) => route(state, req, res));
  state.connections.watch(server, options.tls !== undefined);
  server.on('connection', (socket: Socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await listen(server, options);
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 0);
  const scheme = options.tls === undefined ? 'http' : 'https';
  const url = `${scheme}://${urlHost(options.host ?? '127.0.0.1')}:${port}/v1`;
  return simulatorApi(state, server, sockets, url, port);
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void;
type Http2Listener = (req: Http2ServerRequest, res: Http2ServerResponse) => void;

/**
 * Plain HTTP/1.1, HTTPS, or HTTP/2 over TLS with HTTP/1.1 still answered. The HTTP/2 compatibility API's request
 * and response offer everything the routes use (url, method, headers, body events, writeHead, write, end, close).
 */
function createHttpServer(options: SimulatorOptions, listener: Listener): Server {
  const { tls } = options;
  // A connection cost holds each accepted socket before the server reads it (connections.ts).
  const pauseOnConnect = (options.connectionCostMs ?? 0) > 0;
  const common = { noDelay: true, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, pauseOnConnect };
  if (tls === undefined) return createServer(common, listener);
  if (options.http2 !== true) return createHttpsServer({ ...tls, ...common }, listener);
  const server = createSecureServer({ ...tls, allowHTTP1: true, pauseOnConnect }, listener as unknown as Http2Listener);
  // Its HTTP/1.1 connections follow the http server's rules, keep-alive included.
  Object.assign(server, { keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS });
  return server;
}

function createState(options: SimulatorOptions): SimState {
  const events = new EventEmitter();
  events.setMaxListeners(0);
  return {
    defaults: mergeScenario(DEFAULT_SCENARIO, options.defaults),
    queue: [],
    requests: [],
    events,
    gates: new GateRegistry(),
    streams: new Set(),
    connections: new ConnectionTracker(options.connectionCostMs ?? 0),
    expectedAuth: options.apiKey === undefined ? undefined : `Bearer ${options.apiKey}`,
    nextId: 1,
    profiles: resolveModelProfiles(options.modelProfiles),
    options,
  };
}

function listen(server: Server, options: SimulatorOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function simulatorApi(state: SimState, server: Server, sockets: Set<Socket>, url: string, port: number): Simulator {
  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    requests: state.requests,
    events: state.events,
    enqueue: (...scenarios) => void state.queue.push(...scenarios),
    setDefaults(partial) {
      state.defaults = mergeScenario(state.defaults, partial);
    },
    gate: (name) => state.gates.get(name),
    activeStreams: () => state.streams.size,
    connectionStats: () => state.connections.stats(),
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const stream of state.streams) stream.halt();
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
