// The ASI:One simulator's HTTP server (plain node:http, so sockets are fully controllable): starting and
// closing it, and its API (scenario queue, defaults, gates). Routes are routes.ts; streaming is stream.ts.

import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { GateRegistry, type Gate } from './gates.js';
import { resolveModelProfiles, type ModelProfilesOption } from './model-profiles.js';
import { route, type RecordedRequest, type SimState } from './routes.js';
import { DEFAULT_SCENARIO, mergeScenario, type SimScenario } from './scenario.js';

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
}

export interface Simulator {
  /** Base URL including /v1, e.g. http://127.0.0.1:PORT/v1. */
  readonly url: string;
  readonly port: number;
  /** Chat requests in arrival order (the most recent ~10,000 are kept, so long benchmarks do not grow without bound). */
  readonly requests: readonly RecordedRequest[];
  /** Emits 'request' (RecordedRequest) and 'stream-end' (StreamEnd). */
  readonly events: EventEmitter;
  /** FIFO: each scenario is consumed by one valid, authorised chat request, merged over the defaults at that moment. */
  enqueue(...scenarios: Partial<SimScenario>[]): void;
  setDefaults(partial: Partial<SimScenario>): void;
  gate(name: string): Gate;
  activeStreams(): number;
  /** Closes the server and destroys every socket, including stalled and gated streams. */
  close(): Promise<void>;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const state = createState(options);
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true, keepAliveTimeout: 5_000 }, (req, res) => route(state, req, res));
  server.on('connection', (socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await listen(server, options);
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 0);
  const url = `http://${urlHost(options.host ?? '127.0.0.1')}:${port}/v1`;
  return simulatorApi(state, server, sockets, url, port);
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
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const stream of state.streams) stream.halt();
        server.close(() => resolve());
        server.closeAllConnections();
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
