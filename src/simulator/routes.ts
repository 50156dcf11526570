// The simulator's request routing and the chat endpoint: /healthz, GET /v1/models, POST /v1/chat/completions
// (recording, auth, minimal validation, the scenario queue, then a SimStream), and 404/405 for the rest.

import type { EventEmitter } from 'node:events';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { ConnectionTracker, RequestConnection } from './connections.js';
import type { GateRegistry } from './gates.js';
import { readBody, sendError, sendJson } from './http-io.js';
import { profileFor, scaleTiming, type ModelProfile, type ModelProfiles } from './model-profiles.js';
import { buildPlan } from './plan.js';
import { mergeScenario, type SimScenario } from './scenario.js';
import { SimStream, type StreamEnd } from './stream.js';
import { createGen1Encoder } from './wire-gen1.js';
import { createGen2Encoder } from './wire-gen2.js';

export interface RecordedRequest {
  id: number;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, or the raw text when it was not valid JSON. */
  body: unknown;
  /** performance.now() when the body had been read. */
  receivedAt: number;
  /** The connection it came on (1, 2… in the order they opened; HTTP/2 streams share their connection's). */
  connection: number;
  /** True when it was the first request of any kind on its connection. */
  newConnection: boolean;
  /**
   * When the client asked for its connection (the TCP accept; epoch ms with fractions), null if unknown. A request
   * sent before that and first on the connection waited for the connection's set-up (its cost): it paid for it. A
   * connection opened ahead (by a warm-up, or reopened by the client in the background) was asked for before.
   */
  connectionRequestedAt: number | null;
  /**
   * The scenario the request was answered with: the defaults merged with the queued (or scenarioFor) one, with
   * the model profile's timing when profiles are on. Absent when the request was rejected before that.
   */
  scenario?: SimScenario;
}

/** The models GET /v1/models lists and chat requests accept; anything else is 404 model_not_found (OpenAI style). */
export const SIMULATED_MODELS = ['asi1', 'asi1-mini', 'asi1-ultra'] as const;

/** What one simulator instance shares between its routes and its API (startSimulator owns it). */
export interface SimState {
  /** The scenario every request starts from (setDefaults merges into it). */
  defaults: SimScenario;
  /** FIFO of scenarios, one per valid, authorised chat request. */
  readonly queue: Partial<SimScenario>[];
  readonly requests: RecordedRequest[];
  readonly events: EventEmitter;
  readonly gates: GateRegistry;
  readonly streams: Set<SimStream>;
  readonly connections: ConnectionTracker;
  /** `Bearer <apiKey>`, or undefined when no key is required. */
  readonly expectedAuth: string | undefined;
  /** The id the next recorded request gets. */
  nextId: number;
  /** Per-model timing and reply length (model-profiles.ts), or null when every model behaves alike. */
  readonly profiles: ModelProfiles | null;
  /** The options read on every chat request (the caller's SimulatorOptions object). */
  readonly options: {
    scenarioFor?: (body: unknown) => Partial<SimScenario> | undefined;
    logRequests?: boolean;
  };
}

const MAX_RECORDED = 10_000;
const MODELS_CREATED = 1_760_000_000;
/** The real API's 401 body: a bare message, no error object. */
const AUTH_FAILED_BODY = '{"message":"failed to authenticate user"}';
const ERROR_MESSAGES: Record<number, string> = {
  401: 'failed to authenticate user',
  429: 'Rate limit exceeded. Please try again later.',
  503: 'The service is temporarily unavailable.',
};
const MODELS_BODY = JSON.stringify({
  object: 'list',
  data: SIMULATED_MODELS.map((id) => ({ id, object: 'model', created: MODELS_CREATED, owned_by: 'fetch.ai' })),
});

/** The request listener: answers health and models at once; a chat request once its body has been read. */
export function route(state: SimState, req: IncomingMessage, res: ServerResponse): void {
  res.on('error', () => {});
  serve(state, req, res, state.connections.arrive(req));
}

function serve(state: SimState, req: IncomingMessage, res: ServerResponse, connection: RequestConnection): void {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (path === '/healthz' && req.method === 'GET') {
    sendJson(res, 200, '{"status":"ok"}');
    return;
  }
  if (path === '/v1/models' && req.method === 'GET') {
    if (authorised(state, req, res)) sendJson(res, 200, MODELS_BODY);
    return;
  }
  if (path === '/v1/chat/completions' && req.method === 'POST') {
    void readBody(req).then((raw) => handleChat(state, { req, res, connection }, raw));
    return;
  }
  sendError(
    res,
    path === '/v1/chat/completions' || path === '/v1/models' ? 405 : 404,
    'error-object',
    `No route for ${req.method ?? 'GET'} ${path ?? '/'}.`,
  );
}

/** Checks the bearer key; a wrong or missing one gets the real API's 401 body (a bare message). */
function authorised(state: SimState, req: IncomingMessage, res: ServerResponse): boolean {
  if (state.expectedAuth === undefined || req.headers.authorization === state.expectedAuth) return true;
  sendJson(res, 401, AUTH_FAILED_BODY);
  return false;
}

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  connection: RequestConnection;
}

function record(
  state: SimState,
  { req, connection }: Exchange,
  raw: string | null,
): { record: RecordedRequest; json: unknown } {
  let json: unknown = raw;
  try {
    json = raw === null ? null : JSON.parse(raw);
  } catch {
    json = undefined;
  }
  const entry: RecordedRequest = {
    id: state.nextId++,
    headers: { ...req.headers },
    body: json === undefined ? raw : json,
    receivedAt: performance.now(),
    connection: connection.id,
    newConnection: connection.newConnection,
    connectionRequestedAt: connection.requestedAt,
  };
  if (state.requests.length >= MAX_RECORDED) state.requests.splice(0, MAX_RECORDED / 10);
  state.requests.push(entry);
  state.events.emit('request', entry);
  return { record: entry, json };
}

function handleChat(state: SimState, exchange: Exchange, raw: string | null): void {
  const { req, res } = exchange;
  if (raw === null) return sendError(res, 413, 'error-object', 'Request body too large.');
  const { record: entry, json } = record(state, exchange, raw);
  if (!authorised(state, req, res)) return;
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return sendError(res, 400, 'error-object', 'Invalid JSON body.');
  const body = json as Record<string, unknown>;
  if (typeof body.model !== 'string') return sendError(res, 400, 'error-object', 'Field required: model.');
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    return sendError(res, 400, 'error-object', 'Field required: messages (a non-empty array).');
  if (!(SIMULATED_MODELS as readonly string[]).includes(body.model)) {
    return sendError(res, 404, 'error-object', `The model \`${body.model}\` does not exist.`);
  }
  const chosen = mergeScenario(state.defaults, state.queue.shift() ?? state.options.scenarioFor?.(body));
  const profile = state.profiles === null ? undefined : profileFor(state.profiles, body.model);
  const scenario = profile === undefined ? chosen : scaleTiming(chosen, profile);
  entry.scenario = scenario;
  const stream = body.stream === true;
  if (state.options.logRequests === true) {
    process.stderr.write(
      `[simulator] #${entry.id} ${scenario.profile} model=${body.model} stream=${stream}${scenario.status === undefined ? '' : ` status=${scenario.status}`}\n`,
    );
  }
  if (scenario.status !== undefined && scenario.status >= 300) {
    const shape = scenario.errorBody ?? (scenario.status === 401 ? 'message' : 'error-object');
    return sendError(
      res,
      scenario.status,
      shape,
      ERROR_MESSAGES[scenario.status] ?? STATUS_CODES[scenario.status] ?? 'Error',
      scenario.retryAfter,
    );
  }
  startStream(state, res, { id: entry.id, scenario, body, stream, profile, http2: req.httpVersionMajor === 2 });
}

/** Hands a valid request to a SimStream, tracked until it ends (then 'stream-end' is emitted). */
function startStream(
  state: SimState,
  res: ServerResponse,
  request: {
    id: number;
    scenario: SimScenario;
    body: Record<string, unknown>;
    stream: boolean;
    profile: ModelProfile | undefined;
    http2: boolean;
  },
): void {
  const { id, scenario, body, stream, http2 } = request;
  const ctx = { model: body.model as string, stampEmitTime: scenario.stampEmitTime === true };
  const streamOptions = body.stream_options as { include_usage?: unknown } | undefined;
  const sim = new SimStream({
    id,
    res,
    scenario,
    plan: buildPlan(scenario, body, request.profile),
    encoder: scenario.profile === 'gen1' ? createGen1Encoder(ctx) : createGen2Encoder(ctx),
    mode: stream && scenario.plainJson !== true ? 'sse' : 'json',
    includeUsage: streamOptions?.include_usage === true,
    gates: state.gates,
    http2,
    onEnd(end: StreamEnd) {
      state.streams.delete(sim);
      state.events.emit('stream-end', end);
    },
  });
  state.streams.add(sim);
  sim.start();
}
