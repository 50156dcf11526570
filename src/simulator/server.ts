// The ASI:One simulator's HTTP server (plain node:http, so sockets are fully controllable): routing, auth,
// minimal request validation, error bodies, request recording and the scenario queue. Streaming is stream.ts.

import { EventEmitter } from 'node:events';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { GateRegistry, type Gate } from './gates.js';
import { buildPlan } from './plan.js';
import { DEFAULT_SCENARIO, mergeScenario, type SimScenario } from './scenario.js';
import { SimStream, type StreamEnd } from './stream.js';
import { createGen1Encoder } from './wire-gen1.js';
import { createGen2Encoder } from './wire-gen2.js';

export type { Gate } from './gates.js';
export type { StreamEnd, StreamEndReason } from './stream.js';

export interface RecordedRequest {
  id: number;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, or the raw text when it was not valid JSON. */
  body: unknown;
  /** performance.now() when the body had been read. */
  receivedAt: number;
}

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

/** The models GET /v1/models lists and chat requests accept; anything else is 404 model_not_found (OpenAI style). */
export const SIMULATED_MODELS = ['asi1', 'asi1-mini', 'asi1-ultra'] as const;

const MAX_BODY_BYTES = 8 * 1024 * 1024;
const MAX_RECORDED = 10_000;
const MODELS_CREATED = 1_760_000_000;
const AUTH_FAILED_BODY = '{"message":"failed to authenticate user"}';
const ERROR_MESSAGES: Record<number, string> = {
  401: 'failed to authenticate user',
  429: 'Rate limit exceeded. Please try again later.',
  503: 'The service is temporarily unavailable.',
};
const ERROR_KINDS: Record<number, [type: string, code: string]> = {
  400: ['invalid_request_error', 'bad_request'],
  401: ['authentication_error', 'invalid_api_key'],
  403: ['permission_error', 'forbidden'],
  404: ['invalid_request_error', 'model_not_found'],
  413: ['invalid_request_error', 'request_too_large'],
  422: ['invalid_request_error', 'unprocessable_entity'],
  429: ['rate_limit_error', 'rate_limit_exceeded'],
};

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  let defaults = mergeScenario(DEFAULT_SCENARIO, options.defaults);
  const queue: Partial<SimScenario>[] = [];
  const requests: RecordedRequest[] = [];
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const gates = new GateRegistry();
  const streams = new Set<SimStream>();
  const sockets = new Set<Socket>();
  const expectedAuth = options.apiKey === undefined ? undefined : `Bearer ${options.apiKey}`;
  let nextId = 1;

  const server = createServer({ noDelay: true, keepAliveTimeout: 5_000 }, (req, res) => {
    res.on('error', () => {});
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === '/healthz' && req.method === 'GET') return sendJson(res, 200, '{"status":"ok"}');
    if (path === '/v1/models' && req.method === 'GET') return authorised(req, res) && sendJson(res, 200, MODELS_BODY);
    if (path === '/v1/chat/completions' && req.method === 'POST') {
      void readBody(req).then((raw) => handleChat(req, res, raw));
      return;
    }
    sendError(res, path === '/v1/chat/completions' || path === '/v1/models' ? 405 : 404, 'error-object', `No route for ${req.method ?? 'GET'} ${path ?? '/'}.`);
  });
  server.on('connection', (socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  /** Observed real 401 body (§4): a bare message, no error object. */
  function authorised(req: IncomingMessage, res: ServerResponse): boolean {
    if (expectedAuth === undefined || req.headers.authorization === expectedAuth) return true;
    sendJson(res, 401, AUTH_FAILED_BODY);
    return false;
  }

  function record(req: IncomingMessage, raw: string | null): { record: RecordedRequest; json: unknown } {
    let json: unknown = raw;
    try {
      json = raw === null ? null : JSON.parse(raw);
    } catch {
      json = undefined;
    }
    const entry: RecordedRequest = { id: nextId++, headers: { ...req.headers }, body: json === undefined ? raw : json, receivedAt: performance.now() };
    if (requests.length >= MAX_RECORDED) requests.splice(0, MAX_RECORDED / 10);
    requests.push(entry);
    events.emit('request', entry);
    return { record: entry, json };
  }

  function handleChat(req: IncomingMessage, res: ServerResponse, raw: string | null): void {
    if (raw === null) return sendError(res, 413, 'error-object', 'Request body too large.');
    const { record: entry, json } = record(req, raw);
    if (!authorised(req, res)) return;
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return sendError(res, 400, 'error-object', 'Invalid JSON body.');
    const body = json as Record<string, unknown>;
    if (typeof body.model !== 'string') return sendError(res, 400, 'error-object', 'Field required: model.');
    if (!Array.isArray(body.messages) || body.messages.length === 0) return sendError(res, 400, 'error-object', 'Field required: messages (a non-empty array).');
    if (!(SIMULATED_MODELS as readonly string[]).includes(body.model)) {
      return sendError(res, 404, 'error-object', `The model \`${body.model}\` does not exist.`);
    }
    const scenario = mergeScenario(defaults, queue.shift() ?? options.scenarioFor?.(body));
    const stream = body.stream === true;
    if (options.logRequests === true) {
      process.stderr.write(`[simulator] #${entry.id} ${scenario.profile} model=${body.model} stream=${stream}${scenario.status === undefined ? '' : ` status=${scenario.status}`}\n`);
    }
    if (scenario.status !== undefined && scenario.status >= 300) {
      const shape = scenario.errorBody ?? (scenario.status === 401 ? 'message' : 'error-object');
      return sendError(res, scenario.status, shape, ERROR_MESSAGES[scenario.status] ?? STATUS_CODES[scenario.status] ?? 'Error', scenario.retryAfter);
    }
    const ctx = { model: body.model, stampEmitTime: scenario.stampEmitTime === true };
    const streamOptions = body.stream_options as { include_usage?: unknown } | undefined;
    const sim = new SimStream({
      id: entry.id,
      res,
      scenario,
      plan: buildPlan(scenario, body),
      encoder: scenario.profile === 'gen1' ? createGen1Encoder(ctx) : createGen2Encoder(ctx),
      mode: stream && scenario.plainJson !== true ? 'sse' : 'json',
      includeUsage: streamOptions?.include_usage === true,
      gates,
      onEnd(end: StreamEnd) {
        streams.delete(sim);
        events.emit('stream-end', end);
      },
    });
    streams.add(sim);
    sim.start();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 0);
  const url = `http://${urlHost(options.host ?? '127.0.0.1')}:${port}/v1`;
  let closing: Promise<void> | null = null;

  return {
    url,
    port,
    requests,
    events,
    enqueue: (...scenarios) => void queue.push(...scenarios),
    setDefaults(partial) {
      defaults = mergeScenario(defaults, partial);
    },
    gate: (name) => gates.get(name),
    activeStreams: () => streams.size,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const stream of streams) stream.halt();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

const MODELS_BODY = JSON.stringify({
  object: 'list',
  data: SIMULATED_MODELS.map((id) => ({ id, object: 'model', created: MODELS_CREATED, owned_by: 'fetch.ai' })),
});

/** Reads the whole body as UTF-8; null when it exceeds MAX_BODY_BYTES. */
function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(null));
  });
}

function sendJson(res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}): true {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
  return true;
}

/** Error bodies in the shapes ASI clients must parse (§4): an error object, a bare message, or a proxy's HTML page. */
function sendError(res: ServerResponse, status: number, shape: NonNullable<SimScenario['errorBody']>, message: string, retryAfter?: string): void {
  const extra: Record<string, string> = retryAfter === undefined ? {} : { 'retry-after': retryAfter };
  if (shape === 'html') {
    const title = `${status} ${STATUS_CODES[status] ?? 'Error'}`;
    const body = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
    res.writeHead(status, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(body), ...extra });
    res.end(body);
    return;
  }
  if (shape === 'message') {
    sendJson(res, status, JSON.stringify({ message }), extra);
    return;
  }
  const [type, code] = ERROR_KINDS[status] ?? (status >= 500 ? ['server_error', `http_${status}`] : ['invalid_request_error', `http_${status}`]);
  sendJson(res, status, JSON.stringify({ error: { message, type, code } }), extra);
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
