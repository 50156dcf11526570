// /v1/realtime driven by the REAL client libraries, unchanged: openai@6's GA and beta `OpenAIRealtimeWS` (Node,
// `ws`) and @openai/agents-realtime's `OpenAIRealtimeWebSocket` transport. Each test waits on the clients' own
// events (never on sleeps); a guard fails a wait that hangs, naming the events seen so far.
import net from 'node:net';
import {
  OpenAIRealtimeWebSocket,
  RealtimeAgent,
  RealtimeSession,
  tool,
  type RealtimeItem,
  type TransportError,
  type TransportEvent,
  type TransportLayerOutputTextDelta,
  type TransportLayerResponseCompleted,
  type TransportToolCallEvent,
} from '@openai/agents-realtime';
import OpenAI from 'openai';
import { OpenAIRealtimeWS as BetaRealtimeWS } from 'openai/beta/realtime/ws';
import type { OpenAIRealtimeError } from 'openai/realtime/index';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import type { RealtimeServerEvent as BetaServerEvent } from 'openai/resources/beta/realtime/realtime';
import type { RealtimeServerEvent } from 'openai/resources/realtime/realtime';
import type WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startStack, type Stack } from '../helpers.js';
import { realtimeUrl } from '../realtime-client.js';

const WAIT_MS = 3_000;

/** Records what a client emits, in order, and lets a test wait for one of them (from index `from` on). */
class Recorder<E> {
  readonly items: E[] = [];
  private waiters: { predicate: (item: E) => boolean; from: number; resolve: (item: E) => void }[] = [];

  constructor(private readonly describeItem: (item: E) => string) {}

  readonly push = (item: E): void => {
    this.items.push(item);
    const index = this.items.length - 1;
    this.waiters = this.waiters.filter((w) => {
      if (index >= w.from && w.predicate(item)) {
        w.resolve(item);
        return false;
      }
      return true;
    });
  };

  waitFor(predicate: (item: E) => boolean, from = 0, what = 'an event'): Promise<E> {
    const found = this.items.slice(from).find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<E>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `timed out waiting for ${what}; saw: ${this.items.slice(from).map(this.describeItem).join(', ')}`,
            ),
          ),
        WAIT_MS,
      );
      this.waiters.push({ predicate, from, resolve: (item) => (clearTimeout(timer), resolve(item)) });
    });
  }
}

let stack: Stack | undefined;
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
  await stack?.close();
  stack = undefined;
});

async function start(env: Record<string, string> = {}): Promise<Stack> {
  stack = await startStack({ env: { BUILTIN_TOOLS: 'off', ...env } });
  return stack;
}

function portOf(s: Stack): number {
  return Number(new URL(s.httpUrl).port);
}

/** Resolves when the `ws` socket has closed (at once if it already has). */
function socketClosed(socket: WebSocket): Promise<void> {
  if (socket.readyState === socket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

const WEATHER_TOOL = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Gets the weather for a city.',
  parameters: {
    type: 'object' as const,
    properties: { city: { type: 'string' } },
    required: ['city'],
    additionalProperties: false,
  },
};

// ---------------------------------------------------------------------------------------------------------------
// openai@6 GA: OpenAIRealtimeWS from 'openai/realtime/ws'
// ---------------------------------------------------------------------------------------------------------------

interface GaClient {
  rt: OpenAIRealtimeWS;
  events: Recorder<RealtimeServerEvent>;
  errors: Recorder<OpenAIRealtimeError>;
}

/**
 * The SDK builds `baseURL + '/realtime?model=…'` and forces `wss:` (internal-base.ts buildRealtimeURL), so the
 * plain-TCP gateway is reached by handing `ws` a net socket (`createConnection`), as docs/realtime.md shows.
 */
function openGa(s: Stack, apiKey = 'unused-key'): GaClient {
  const client = new OpenAI({ apiKey, baseURL: `${s.httpUrl}/v1` });
  const port = portOf(s);
  const rt = new OpenAIRealtimeWS(
    { model: 'asi1-mini', options: { createConnection: () => net.connect(port, '127.0.0.1') } },
    client,
  );
  const events = new Recorder<RealtimeServerEvent>((e) => e.type);
  const errors = new Recorder<OpenAIRealtimeError>((e) => e.message);
  rt.on('event', events.push);
  rt.on('error', errors.push);
  closers.push(async () => {
    const closed = socketClosed(rt.socket);
    if (rt.socket.readyState !== rt.socket.CLOSED) rt.close();
    await closed;
  });
  return { rt, events, errors };
}

async function connectGa(s: Stack, apiKey?: string): Promise<GaClient> {
  const ga = openGa(s, apiKey);
  await ga.events.waitFor((e) => e.type === 'session.created', 0, 'session.created');
  return ga;
}

type Of<T extends RealtimeServerEvent['type']> = Extract<RealtimeServerEvent, { type: T }>;

function waitType<T extends RealtimeServerEvent['type']>(
  ga: GaClient,
  type: T,
  from = 0,
  predicate: (e: Of<T>) => boolean = () => true,
): Promise<Of<T>> {
  return ga.events.waitFor((e) => e.type === type && predicate(e as Of<T>), from, type) as Promise<Of<T>>;
}

/** Sends a user text item and then response.create; resolves with that response's response.done. */
async function gaTurn(ga: GaClient, text: string): Promise<Of<'response.done'>> {
  const from = ga.events.items.length;
  ga.rt.send({
    type: 'conversation.item.create',
    item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] },
  });
  ga.rt.send({ type: 'response.create' });
  const created = await waitType(ga, 'response.created', from);
  return waitType(ga, 'response.done', from, (e) => e.response.id === created.response.id);
}

function gaDeltas(ga: GaClient, responseId: string | undefined): string {
  return ga.events.items
    .filter(
      (e): e is Of<'response.output_text.delta'> =>
        e.type === 'response.output_text.delta' && e.response_id === responseId,
    )
    .map((e) => e.delta)
    .join('');
}

describe('openai@6 GA OpenAIRealtimeWS', () => {
  it('streams a text turn as response.output_text.delta and completes with usage', async () => {
    const s = await start();
    const ga = await connectGa(s);
    expect(ga.rt.url.toString()).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/v1\/realtime\?model=asi1-mini$/);
    ga.rt.send({
      type: 'session.update',
      session: { type: 'realtime', output_modalities: ['text'], instructions: 'Be brief.' },
    });
    const updated = await waitType(ga, 'session.updated');
    expect(updated.session).toMatchObject({ type: 'realtime', output_modalities: ['text'], instructions: 'Be brief.' });

    s.simulator.enqueue({ reply: 'Hello from the gateway. The sky is blue.' });
    const from = ga.events.items.length;
    const done = await gaTurn(ga, 'Why is the sky blue?');
    const types = ga.events.items.slice(from).map((e) => e.type);
    expect(types.filter((t) => t === 'response.output_text.delta').length).toBeGreaterThan(3);
    expect(types).toEqual(
      expect.arrayContaining([
        'conversation.item.added',
        'conversation.item.done',
        'response.output_text.done',
        'response.output_item.done',
      ]),
    );
    expect(gaDeltas(ga, done.response.id)).toBe('Hello from the gateway. The sky is blue.');
    expect(done.response).toMatchObject({
      status: 'completed',
      output_modalities: ['text'],
      output: [
        {
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text: 'Hello from the gateway. The sky is blue.' }],
        },
      ],
    });
    const usage = done.response.usage;
    expect(usage?.output_tokens).toBeGreaterThan(0);
    expect(usage?.input_tokens).toBeGreaterThan(0);
    expect(usage?.total_tokens).toBe((usage?.input_tokens ?? 0) + (usage?.output_tokens ?? 0));
    expect(s.simulator.requests.at(-1)?.body).toMatchObject({
      model: 'asi1-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Why is the sky blue?' },
      ],
    });
    expect(ga.errors.items).toEqual([]);
  });

  it('cancels a response held mid-stream: response.done cancelled with client_cancelled', async () => {
    const s = await start();
    const ga = await connectGa(s);
    s.simulator.enqueue({
      reply: 'One two three four five six seven eight nine ten.',
      gate: { name: 'ga-cancel', afterChunks: 2 },
    });
    const gate = s.simulator.gate('ga-cancel');
    const from = ga.events.items.length;
    ga.rt.send({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Count to ten.' }] },
    });
    ga.rt.send({ type: 'response.create' });
    const created = await waitType(ga, 'response.created', from);
    await gate.reached;
    await ga.events.waitFor(() => gaDeltas(ga, created.response.id) === 'One two ', from, 'the first two deltas');
    ga.rt.send({ type: 'response.cancel' });
    const done = await waitType(ga, 'response.done', from, (e) => e.response.id === created.response.id);
    gate.release();
    expect(done.response).toMatchObject({
      status: 'cancelled',
      status_details: { type: 'cancelled', reason: 'client_cancelled' },
      output: [{ type: 'message', status: 'incomplete', content: [{ type: 'output_text', text: 'One two ' }] }],
    });
    expect(done.response.usage).toMatchObject({ total_tokens: expect.any(Number) });
    // The session stays usable: the next turn completes.
    expect((await gaTurn(ga, 'Again?')).response.status).toBe('completed');
    expect(ga.errors.items).toEqual([]);
  });

  it('truncates an assistant item with conversation.item.truncate (characters kept, for text)', async () => {
    const s = await start();
    const ga = await connectGa(s);
    s.simulator.enqueue({ reply: 'Once upon a time there was a gateway.' });
    const done = await gaTurn(ga, 'Tell me a story.');
    const itemId = done.response.output?.[0]?.id;
    expect(itemId).toMatch(/^item_/);
    const from = ga.events.items.length;
    ga.rt.send({ type: 'conversation.item.truncate', item_id: itemId ?? '', content_index: 0, audio_end_ms: 16 });
    expect(await waitType(ga, 'conversation.item.truncated', from)).toMatchObject({
      item_id: itemId,
      content_index: 0,
      audio_end_ms: 16,
    });
    ga.rt.send({ type: 'conversation.item.retrieve', item_id: itemId ?? '' });
    const retrieved = await waitType(ga, 'conversation.item.retrieved', from);
    expect(retrieved.item).toMatchObject({
      id: itemId,
      role: 'assistant',
      status: 'incomplete',
      content: [{ type: 'output_text', text: 'Once upon a time' }],
    });
    await gaTurn(ga, 'Go on.');
    expect((s.simulator.requests.at(-1)?.body as { messages: unknown[] }).messages[2]).toEqual({
      role: 'assistant',
      content: 'Once upon a time [interrupted by the user]',
    });
    expect(ga.errors.items).toEqual([]);
  });

  it('runs a client function call round trip', async () => {
    const s = await start();
    const ga = await connectGa(s);
    ga.rt.send({
      type: 'session.update',
      session: { type: 'realtime', output_modalities: ['text'], tools: [WEATHER_TOOL] },
    });
    expect((await waitType(ga, 'session.updated')).session).toMatchObject({
      tools: [{ type: 'function', name: 'get_weather' }],
    });

    s.simulator.enqueue({ toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}', id: 'call_ga' }] });
    const from = ga.events.items.length;
    const first = await gaTurn(ga, 'What is the weather in Paris?');
    const argsDone = await waitType(ga, 'response.function_call_arguments.done', from);
    expect(argsDone).toMatchObject({
      call_id: 'call_ga',
      name: 'get_weather',
      arguments: '{"city":"Paris"}',
      response_id: first.response.id,
    });
    expect(first.response).toMatchObject({
      status: 'completed',
      output: [{ type: 'function_call', status: 'completed', call_id: 'call_ga', name: 'get_weather' }],
    });

    ga.rt.send({
      type: 'conversation.item.create',
      item: { type: 'function_call_output', call_id: argsDone.call_id, output: '{"temp":21}' },
    });
    const fromOutput = ga.events.items.length;
    ga.rt.send({ type: 'response.create' });
    const created = await waitType(ga, 'response.created', fromOutput);
    const second = await waitType(ga, 'response.done', fromOutput, (e) => e.response.id === created.response.id);
    expect(second.response.status).toBe('completed');
    expect(gaDeltas(ga, second.response.id)).toContain('get_weather tool returned');
    expect((s.simulator.requests.at(-1)?.body as { messages: unknown[] }).messages.slice(1)).toEqual([
      { role: 'user', content: 'What is the weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_ga', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_ga', content: '{"temp":21}' },
    ]);
    expect(ga.errors.items).toEqual([]);
  });

  it('surfaces a second response.create while one is active through rt.on("error"), echoing its event_id', async () => {
    const s = await start();
    const ga = await connectGa(s);
    s.simulator.enqueue({ reply: 'A reply that is held for a while.', gate: { name: 'ga-second', afterChunks: 1 } });
    const gate = s.simulator.gate('ga-second');
    const from = ga.events.items.length;
    ga.rt.send({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hi' }] },
    });
    ga.rt.send({ type: 'response.create' });
    const created = await waitType(ga, 'response.created', from);
    await gate.reached;
    ga.rt.send({ type: 'response.create', event_id: 'evt_second_create' });
    const error = await ga.errors.waitFor(() => true, 0, 'an OpenAIRealtimeError');
    expect(error.error).toMatchObject({
      type: 'invalid_request_error',
      code: 'conversation_already_has_active_response',
      event_id: 'evt_second_create',
    });
    expect(error.event_id).toMatch(/^event_/);
    expect(error.message).toContain('event_id=evt_second_create');
    gate.release();
    const done = await waitType(ga, 'response.done', from, (e) => e.response.id === created.response.id);
    expect(done.response.status).toBe('completed');
    expect(ga.events.items.filter((e) => e.type === 'response.created')).toHaveLength(1);
    expect(s.simulator.requests).toHaveLength(1);
  });

  it('presents the client apiKey as the gateway token (Authorization: Bearer); a wrong key cannot connect', async () => {
    const s = await start({ GATEWAY_TOKENS: 'tok-good,tok-other' });
    const good = await connectGa(s, 'tok-good');
    s.simulator.enqueue({ reply: 'Authorised.' });
    expect((await gaTurn(good, 'Hi')).response.status).toBe('completed');
    // The token is the gateway's, never forwarded upstream.
    expect(JSON.stringify(s.simulator.requests.at(-1)?.headers)).not.toContain('tok-good');

    const bad = openGa(s, 'tok-wrong');
    const error = await bad.errors.waitFor(() => true, 0, 'a connection error');
    expect(error.message).toContain('Unexpected server response: 401');
    await socketClosed(bad.rt.socket);
    expect(bad.events.items).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// openai@6 beta: OpenAIRealtimeWS from 'openai/beta/realtime/ws' (sends OpenAI-Beta: realtime=v1)
// ---------------------------------------------------------------------------------------------------------------

describe('openai@6 beta OpenAIRealtimeWS', () => {
  it('streams a turn as response.text.delta in the beta dialect', async () => {
    const s = await start();
    const client = new OpenAI({ apiKey: 'unused-key', baseURL: `${s.httpUrl}/v1` });
    const port = portOf(s);
    const rt = new BetaRealtimeWS(
      { model: 'asi1-mini', options: { createConnection: () => net.connect(port, '127.0.0.1') } },
      client,
    );
    const events = new Recorder<BetaServerEvent>((e) => e.type);
    const errors: unknown[] = [];
    rt.on('event', events.push);
    rt.on('error', (e) => errors.push(e));
    closers.push(async () => {
      const closed = socketClosed(rt.socket);
      if (rt.socket.readyState !== rt.socket.CLOSED) rt.close();
      await closed;
    });
    const created = await events.waitFor((e) => e.type === 'session.created', 0, 'session.created');
    expect(created).toMatchObject({ session: { modalities: ['text'] } });
    rt.send({ type: 'session.update', session: { modalities: ['text'], instructions: 'Be brief.' } });
    await events.waitFor((e) => e.type === 'session.updated', 0, 'session.updated');

    s.simulator.enqueue({ reply: 'Hi from the beta. It still works.' });
    const from = events.items.length;
    rt.send({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hello' }] },
    });
    rt.send({ type: 'response.create', response: { modalities: ['text'] } });
    const done = await events.waitFor((e) => e.type === 'response.done', from, 'response.done');
    const deltas = events.items.slice(from).flatMap((e) => (e.type === 'response.text.delta' ? [e.delta] : []));
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe('Hi from the beta. It still works.');
    const types = events.items.slice(from).map((e) => e.type as string);
    expect(types).toContain('response.text.done');
    expect(types).toContain('conversation.item.created');
    expect(types).not.toContain('response.output_text.delta');
    expect(done).toMatchObject({
      response: {
        status: 'completed',
        output: [{ role: 'assistant', content: [{ type: 'text', text: 'Hi from the beta. It still works.' }] }],
      },
    });
    expect(errors).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// @openai/agents-realtime 0.14: the OpenAIRealtimeWebSocket transport (Node: `ws` with Authorization headers)
// ---------------------------------------------------------------------------------------------------------------

/** A raw server event as the transport's '*' event passes it on. */
type RawEvent = { type: string; session?: Record<string, unknown>; response?: Record<string, unknown> };

interface AgentsClient {
  transport: OpenAIRealtimeWebSocket;
  raw: Recorder<RawEvent>;
  errors: Recorder<TransportError>;
  turns: Recorder<TransportLayerResponseCompleted>;
  calls: Recorder<TransportToolCallEvent>;
  deltas: Recorder<TransportLayerOutputTextDelta>;
}

function openAgents(s: Stack): AgentsClient {
  const transport = new OpenAIRealtimeWebSocket({ url: realtimeUrl(s.voiceUrl, '?model=asi1-mini') });
  const client: AgentsClient = {
    transport,
    raw: new Recorder<RawEvent>((e) => e.type),
    errors: new Recorder<TransportError>((e) => JSON.stringify(e.error)),
    turns: new Recorder<TransportLayerResponseCompleted>((e) => e.response.id),
    calls: new Recorder<TransportToolCallEvent>((e) => e.name),
    deltas: new Recorder<TransportLayerOutputTextDelta>((e) => e.delta),
  };
  transport.on('*', (e: TransportEvent) => client.raw.push(e as RawEvent));
  // Node's EventEmitter throws on an 'error' nobody listens to: always listen.
  transport.on('error', client.errors.push);
  transport.on('turn_done', client.turns.push);
  transport.on('function_call', client.calls.push);
  transport.on('output_text_delta', client.deltas.push);
  closers.push(async () => {
    const socket = transport.connectionState.websocket;
    transport.close();
    if (socket !== undefined) await socketClosed(socket);
  });
  return client;
}

function textOf(agents: AgentsClient): string {
  return agents.deltas.items.map((e) => e.delta).join('');
}

/** The `error` body of the server `error` event the transport forwards as `{ type: 'error', error: <event> }`. */
function serverError(e: TransportError): { code?: string; event_id?: string | null; param?: string | null } {
  return (
    (e.error as { type?: string; error?: { code?: string; event_id?: string | null; param?: string | null } }).error ??
    {}
  );
}

describe('@openai/agents-realtime OpenAIRealtimeWebSocket', () => {
  it('connects, sends a message, streams output_text_delta and ends the turn with usage', async () => {
    const s = await start();
    const agents = openAgents(s);
    await agents.transport.connect({
      apiKey: 'unused-key',
      model: 'asi1-mini',
      initialSessionConfig: { outputModalities: ['text'], instructions: 'Be brief.' },
    });
    expect(agents.transport.status).toBe('connected');
    // connect() sends its session config, and on session.created a {tracing: "auto"} update (in either order).
    await agents.raw.waitFor(
      (e) => e.type === 'session.updated' && e.session?.instructions === 'Be brief.',
      0,
      'session.updated with the config',
    );
    await agents.raw.waitFor(
      (e) => e.type === 'session.updated' && e.session?.tracing === 'auto',
      0,
      'session.updated with tracing',
    );
    const updates = agents.raw.items.filter((e) => e.type === 'session.updated');
    expect(updates).toHaveLength(2);
    expect(updates.at(-1)?.session).toMatchObject({
      type: 'realtime',
      output_modalities: ['text'],
      model: 'asi1-mini',
      instructions: 'Be brief.',
      tracing: 'auto',
    });

    s.simulator.enqueue({ reply: 'Hello from the agents transport. All good.' });
    agents.transport.sendMessage('Hello!', {});
    const turn = await agents.turns.waitFor(() => true, 0, 'turn_done');
    expect(textOf(agents)).toBe('Hello from the agents transport. All good.');
    expect(agents.deltas.items.length).toBeGreaterThan(3);
    expect(turn.response.usage.outputTokens).toBeGreaterThan(0);
    expect(turn.response.usage.totalTokens).toBe(turn.response.usage.inputTokens + turn.response.usage.outputTokens);
    expect(turn.response.output).toEqual([
      expect.objectContaining({ type: 'message', role: 'assistant', status: 'completed' }),
    ]);
    // The SDK's own response.create carries its event_id; a second turn goes through the same sequencer.
    s.simulator.enqueue({ reply: 'Second answer.' });
    agents.transport.sendMessage('And again?', {});
    await agents.turns.waitFor(() => true, 1, 'the second turn_done');
    expect(textOf(agents)).toBe('Hello from the agents transport. All good.Second answer.');
    expect(s.simulator.requests.at(-1)?.body).toMatchObject({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello!' },
        { role: 'assistant' },
        { role: 'user', content: 'And again?' },
      ],
    });
    expect(agents.errors.items).toEqual([]);
  });

  it('runs a function call: function_call event, sendFunctionCallOutput, then the second turn completes', async () => {
    const s = await start();
    const agents = openAgents(s);
    await agents.transport.connect({
      apiKey: 'unused-key',
      model: 'asi1-mini',
      initialSessionConfig: { outputModalities: ['text'], tools: [{ ...WEATHER_TOOL, strict: false }] },
    });
    await agents.raw.waitFor(
      (e) => e.type === 'session.updated' && (e.session?.tools as unknown[] | undefined)?.length === 1,
      0,
      'session.updated with the tool',
    );

    s.simulator.enqueue({ toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}', id: 'call_agents' }] });
    agents.transport.sendMessage('What is the weather in Paris?', {});
    const call = await agents.calls.waitFor(() => true, 0, 'function_call');
    expect(call).toMatchObject({
      type: 'function_call',
      name: 'get_weather',
      callId: 'call_agents',
      arguments: '{"city":"Paris"}',
    });
    const first = await agents.turns.waitFor(() => true, 0, 'the first turn_done');
    expect(first.response.output).toEqual([expect.objectContaining({ type: 'function_call', call_id: 'call_agents' })]);
    expect(agents.calls.items).toHaveLength(1);

    agents.transport.sendFunctionCallOutput(call, JSON.stringify({ temp: 21 }), true);
    const second = await agents.turns.waitFor(() => true, 1, 'the second turn_done');
    expect(second.response.output).toEqual([
      expect.objectContaining({ type: 'message', role: 'assistant', status: 'completed' }),
    ]);
    expect(textOf(agents)).toContain('get_weather tool returned');
    expect((s.simulator.requests.at(-1)?.body as { messages: unknown[] }).messages.slice(-1)).toEqual([
      { role: 'tool', tool_call_id: 'call_agents', content: '{"temp":21}' },
    ]);
    expect(agents.errors.items).toEqual([]);
  });

  it('cancels with sendEvent({type: "response.cancel"}): response.done cancelled, and the SDK sequencer frees for the next turn', async () => {
    const s = await start();
    const agents = openAgents(s);
    await agents.transport.connect({
      apiKey: 'unused-key',
      model: 'asi1-mini',
      initialSessionConfig: { outputModalities: ['text'] },
    });
    s.simulator.enqueue({
      reply: 'One two three four five six seven eight.',
      gate: { name: 'agents-cancel', afterChunks: 2 },
    });
    const gate = s.simulator.gate('agents-cancel');
    agents.transport.sendMessage('Count.', {});
    await gate.reached;
    await agents.deltas.waitFor(() => textOf(agents) === 'One two ', 0, 'the first two deltas');
    agents.transport.sendEvent({ type: 'response.cancel' });
    const turn = await agents.turns.waitFor(() => true, 0, 'turn_done');
    gate.release();
    const done = agents.raw.items.find((e) => e.type === 'response.done');
    expect(done?.response).toMatchObject({
      id: turn.response.id,
      status: 'cancelled',
      status_details: { type: 'cancelled', reason: 'client_cancelled' },
    });
    expect(turn.response.output).toEqual([
      expect.objectContaining({
        type: 'message',
        status: 'incomplete',
        content: [{ type: 'output_text', text: 'One two ' }],
      }),
    ]);

    s.simulator.enqueue({ reply: 'Next.' });
    agents.transport.sendMessage('Go on.', {});
    await agents.turns.waitFor(() => true, 1, 'the second turn_done');
    expect(textOf(agents)).toBe('One two Next.');
    expect((s.simulator.requests.at(-1)?.body as { messages: unknown[] }).messages.slice(1)).toEqual([
      { role: 'user', content: 'Count.' },
      { role: 'assistant', content: 'One two [interrupted by the user]' },
      { role: 'user', content: 'Go on.' },
    ]);
    expect(agents.errors.items).toEqual([]);
  });

  it("holds a second sendMessage's response.create until response.done (its sequencer), so both turns are answered in order", async () => {
    const s = await start();
    const agents = openAgents(s);
    await agents.transport.connect({
      apiKey: 'unused-key',
      model: 'asi1-mini',
      initialSessionConfig: { outputModalities: ['text'] },
    });
    s.simulator.enqueue(
      { reply: 'First answer.', gate: { name: 'agents-first', afterChunks: 1 } },
      { reply: 'Second answer.' },
    );
    const gate = s.simulator.gate('agents-first');
    agents.transport.sendMessage('First question?', {});
    await gate.reached;
    agents.transport.sendMessage('Second question?', {});
    // The second user item is added at once (after the running reply); its response.create waits for response.done.
    await agents.raw.waitFor(
      (e) => e.type === 'conversation.item.done' && JSON.stringify(e).includes('Second question?'),
      0,
      'the second user item',
    );
    expect(agents.raw.items.filter((e) => e.type === 'response.created')).toHaveLength(1);
    gate.release();
    await agents.turns.waitFor(() => true, 1, 'the second turn_done');
    expect(textOf(agents)).toBe('First answer.Second answer.');
    expect(agents.raw.items.filter((e) => e.type === 'error')).toEqual([]);
    expect((s.simulator.requests.at(-1)?.body as { messages: unknown[] }).messages.slice(1)).toEqual([
      { role: 'user', content: 'First question?' },
      { role: 'assistant', content: 'First answer.' },
      { role: 'user', content: 'Second question?' },
    ]);
    expect(agents.errors.items).toEqual([]);
  });

  it('truncates an item: the SDK follows conversation.item.truncated with a retrieve, and item_update shows the kept text', async () => {
    const s = await start();
    const agents = openAgents(s);
    const updates = new Recorder<RealtimeItem>((item) => item.itemId);
    agents.transport.on('item_update', updates.push);
    await agents.transport.connect({
      apiKey: 'unused-key',
      model: 'asi1-mini',
      initialSessionConfig: { outputModalities: ['text'] },
    });
    s.simulator.enqueue({ reply: 'Once upon a time there was a gateway.' });
    agents.transport.sendMessage('Tell me a story.', {});
    const turn = await agents.turns.waitFor(() => true, 0, 'turn_done');
    const itemId = (turn.response.output[0] as { id?: string } | undefined)?.id ?? '';
    const from = updates.items.length;
    agents.transport.sendEvent({
      type: 'conversation.item.truncate',
      item_id: itemId,
      content_index: 0,
      audio_end_ms: 16,
    });
    const update = await updates.waitFor(
      (item) => item.itemId === itemId,
      from,
      'the item_update of the retrieved item',
    );
    expect(update).toMatchObject({
      type: 'message',
      role: 'assistant',
      status: 'incomplete',
      content: [{ type: 'output_text', text: 'Once upon a time' }],
    });
    expect(agents.raw.items.map((e) => e.type)).toEqual(
      expect.arrayContaining(['conversation.item.truncated', 'conversation.item.retrieved']),
    );
    expect(agents.errors.items).toEqual([]);
  });

  it('asks for audio by default: the gateway answers with a clean unsupported_modality error, and text turns still work', async () => {
    const s = await start();
    const agents = openAgents(s);
    // No initialSessionConfig: the SDK sends output_modalities ["audio"] with semantic_vad and transcription.
    await agents.transport.connect({ apiKey: 'unused-key', model: 'asi1-mini' });
    const error = await agents.errors.waitFor(() => true, 0, 'the transport error event');
    expect(serverError(error)).toMatchObject({
      code: 'unsupported_modality',
      param: 'session.output_modalities',
      event_id: null,
    });
    const updated = await agents.raw.waitFor((e) => e.type === 'session.updated', 0, 'session.updated');
    expect(updated.session).toMatchObject({ output_modalities: ['text'] });
    expect(agents.transport.status).toBe('connected');

    s.simulator.enqueue({ reply: 'Text only, as ever.' });
    agents.transport.sendMessage('Hello?', {});
    await agents.turns.waitFor(() => true, 0, 'turn_done');
    expect(textOf(agents)).toBe('Text only, as ever.');
    expect(agents.errors.items).toHaveLength(1);
  });

  it('presents the apiKey as the gateway token; a wrong key fails connect()', async () => {
    const s = await start({ GATEWAY_TOKENS: 'tok-agents' });
    const good = openAgents(s);
    await good.transport.connect({
      apiKey: 'tok-agents',
      model: 'asi1-mini',
      initialSessionConfig: { outputModalities: ['text'] },
    });
    s.simulator.enqueue({ reply: 'Let in.' });
    good.transport.sendMessage('Hi', {});
    await good.turns.waitFor(() => true, 0, 'turn_done');
    expect(textOf(good)).toBe('Let in.');

    const bad = openAgents(s);
    const refused = await bad.transport
      .connect({ apiKey: 'tok-wrong', model: 'asi1-mini', initialSessionConfig: { outputModalities: ['text'] } })
      .then(
        () => null,
        (err: unknown) => err,
      );
    // connect() rejects with the `ws` ErrorEvent of the refused upgrade, also reported on the 'error' event.
    expect((refused as { message?: string } | null)?.message).toContain('Unexpected server response: 401');
    expect(bad.errors.items.map((e) => (e.error as { message?: string }).message)).toContain(
      'Unexpected server response: 401',
    );
    expect(bad.transport.status).toBe('disconnected');
    expect(bad.raw.items).toEqual([]);
  });
});

describe('@openai/agents-realtime RealtimeSession over the OpenAIRealtimeWebSocket transport', () => {
  it('runs an agent whose zod tool the SDK executes itself, and keeps the history', async () => {
    const s = await start();
    const weather = tool({
      name: 'get_weather',
      description: 'Gets the weather for a city.',
      parameters: z.object({ city: z.string() }),
      execute: ({ city }) => `Sunny in ${city}`,
    });
    const agent = new RealtimeAgent({ name: 'Assistant', instructions: 'Be brief.', tools: [weather] });
    const transport = new OpenAIRealtimeWebSocket({ url: realtimeUrl(s.voiceUrl, '?model=asi1-mini') });
    const session = new RealtimeSession(agent, {
      transport,
      model: 'asi1-mini',
      config: { outputModalities: ['text'] },
    });
    const errors: unknown[] = [];
    session.on('error', (e) => errors.push(e));
    const ends = new Recorder<string>((text) => text);
    session.on('agent_end', (_context, _agent, text) => ends.push(text));
    const toolEnds = new Recorder<string>((result) => result);
    session.on('agent_tool_end', (_context, _agent, _tool, result) => toolEnds.push(result));
    closers.push(async () => {
      const socket = transport.connectionState.websocket;
      session.close();
      if (socket !== undefined) await socketClosed(socket);
    });
    await session.connect({ apiKey: 'unused-key' });

    s.simulator.enqueue({ toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}', id: 'call_session' }] });
    session.sendMessage('What is the weather in Paris?');
    expect(await toolEnds.waitFor(() => true, 0, 'agent_tool_end')).toBe('Sunny in Paris');
    const answer = await ends.waitFor((text) => text !== '', 0, 'the agent_end with the answer');
    expect(answer).toContain('Sunny in Paris');
    expect(session.history.map((item) => item.type)).toEqual(['message', 'function_call', 'message']);
    expect(session.history.at(-1)).toMatchObject({
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text: answer }],
    });
    expect(s.simulator.requests.at(-1)?.body).toMatchObject({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is the weather in Paris?' },
        { role: 'assistant', tool_calls: [{ id: 'call_session', function: { name: 'get_weather' } }] },
        { role: 'tool', tool_call_id: 'call_session', content: 'Sunny in Paris' },
      ],
    });
    expect(errors).toEqual([]);
  });
});
