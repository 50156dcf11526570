// The ASI:One simulator: both wire generations, faults, gates and framing variants, over real sockets on
// port 0. Waits on gates and events, never on sleeps; asserts content and order, never durations.

import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimScenario } from '../../src/simulator/scenario.js';
import { startSimulator, type Simulator, type StreamEnd } from '../../src/simulator/server.js';

interface ToolDelta {
  index: number;
  id?: string;
  type?: string;
  function: { name?: string; arguments?: string | Record<string, unknown> };
}
interface Delta {
  role?: string;
  content?: string | null;
  reasoning_content?: string | null;
  tool_calls?: ToolDelta[];
}
interface Choice {
  index?: number;
  role?: string;
  delta: Delta;
  finish_reason?: string | null;
  stop_reason?: string | null;
  logprobs?: null;
  matched_stop?: number | null;
}
interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  reasoning_tokens?: number;
}
interface Chunk {
  id: string;
  object?: string;
  created?: number;
  model: string;
  choices: Choice[];
  usage?: Usage | null;
  thought?: string;
  init_thought?: boolean;
  conversation_id?: null;
  tool_thought?: unknown[];
  executable_data?: unknown[];
  x_emit_ts?: number;
}

const USER = [{ role: 'user', content: 'What is the weather in Lisbon?' }];

let sim: Simulator;

beforeEach(async () => {
  sim = await startSimulator({ defaults: { ttftMs: 0, interTokenMs: 0 } });
});

afterEach(async () => {
  await sim.close();
});

function post(body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${sim.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(signal === undefined ? {} : { signal }),
  });
}

/** A deliberately simple SSE splitter: events end at a blank line; `data:` lines are payloads, `:` lines comments. */
function parseSse(text: string): { data: string[]; comments: number } {
  const data: string[] = [];
  let comments = 0;
  for (const event of text.replace(/\r\n/g, '\n').split('\n\n')) {
    for (const line of event.split('\n')) {
      if (line.startsWith(':')) comments++;
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
  }
  return { data, comments };
}

function chunksOf(data: string[]): Chunk[] {
  return data.filter((d) => d !== '[DONE]').map((d) => JSON.parse(d) as Chunk);
}

async function streamOnce(
  scenario: Partial<SimScenario>,
  body: Record<string, unknown> = {},
): Promise<{ text: string; data: string[]; chunks: Chunk[]; response: Response }> {
  sim.enqueue(scenario);
  const response = await post({ model: 'asi1-mini', messages: USER, stream: true, ...body });
  const text = await response.text();
  const { data } = parseSse(text);
  return { text, data, chunks: chunksOf(data), response };
}

const contentOf = (chunks: Chunk[]): string => chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
const contentChunks = (chunks: Chunk[]): Chunk[] => chunks.filter((c) => (c.choices[0]?.delta.content ?? '') !== '');

/** Reads a streaming response incrementally so a test can stop at a given point. */
class StreamReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  text = '';
  constructor(response: Response) {
    this.#reader = response.body!.getReader();
  }
  get chunks(): Chunk[] {
    return chunksOf(parseSse(this.text).data);
  }
  async until(predicate: (chunks: Chunk[]) => boolean): Promise<Chunk[]> {
    while (!predicate(this.chunks)) {
      const { done, value } = await this.#reader.read();
      if (done) throw new Error('stream ended early');
      this.text += this.#decoder.decode(value, { stream: true });
    }
    return this.chunks;
  }
  async rest(): Promise<string> {
    for (;;) {
      const { done, value } = await this.#reader.read();
      if (done) return this.text;
      this.text += this.#decoder.decode(value, { stream: true });
    }
  }
}

function nextStreamEnd(): Promise<StreamEnd> {
  return once(sim.events, 'stream-end').then(([end]) => end as StreamEnd);
}

describe('gen2 streams (SGLang-style, §3.2)', () => {
  it('sends a role-only opening chunk, one chunk per token, a finish chunk, a usage chunk and [DONE]', async () => {
    const { chunks, data, response } = await streamOnce(
      { reply: 'Hello brave new world.' },
      { stream_options: { include_usage: true } },
    );
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(data.at(-1)).toBe('[DONE]');
    const [opening] = chunks;
    expect(opening?.id).toMatch(/^[0-9a-f]{32}$/);
    expect(opening?.object).toBe('chat.completion.chunk');
    expect(opening?.created).toBeLessThan(1e11);
    expect(opening?.choices[0]).toEqual({
      index: 0,
      delta: { role: 'assistant', content: '', reasoning_content: null },
      logprobs: null,
      finish_reason: null,
      matched_stop: null,
    });
    expect(contentChunks(chunks).map((c) => c.choices[0]?.delta.content)).toEqual([
      'Hello ',
      'brave ',
      'new ',
      'world.',
    ]);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    const finish = chunks.at(-2);
    expect(finish?.choices[0]).toMatchObject({
      finish_reason: 'stop',
      matched_stop: 151336,
      delta: { content: '', reasoning_content: null },
    });
    const usage = chunks.at(-1);
    expect(usage?.choices).toEqual([]);
    expect(usage?.usage?.completion_tokens).toBe(4);
    expect(usage?.usage?.prompt_tokens).toBeGreaterThan(2000);
    expect(usage?.usage?.total_tokens).toBe((usage?.usage?.prompt_tokens ?? 0) + 4);
  });

  it('omits usage when stream_options.include_usage is not set', async () => {
    const { chunks } = await streamOnce({ reply: 'Short reply.' });
    expect(chunks.every((c) => c.usage === undefined)).toBe(true);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
  });

  it('streams reasoning in delta.reasoning_content before the content', async () => {
    const { chunks } = await streamOnce(
      { reasoning: 'The user wants a greeting.', reply: 'Hi there.' },
      { stream_options: { include_usage: true } },
    );
    const reasoning = chunks.filter((c) => typeof c.choices[0]?.delta.reasoning_content === 'string');
    expect(reasoning.map((c) => c.choices[0]?.delta.reasoning_content).join('')).toBe('The user wants a greeting.');
    expect(reasoning.every((c) => c.choices[0]?.delta.content === null)).toBe(true);
    const lastReasoning = chunks.indexOf(reasoning.at(-1)!);
    const firstContent = chunks.indexOf(contentChunks(chunks)[0]!);
    expect(lastReasoning).toBeLessThan(firstContent);
    expect(contentOf(chunks)).toBe('Hi there.');
    expect(chunks.at(-1)?.usage?.reasoning_tokens).toBe(5);
  });

  it('groups tokensPerChunk tokens per content chunk', async () => {
    const { chunks } = await streamOnce({ reply: 'one two three four five', tokensPerChunk: 2 });
    expect(contentChunks(chunks).map((c) => c.choices[0]?.delta.content)).toEqual(['one two ', 'three four ', 'five']);
  });

  it('stamps x_emit_ts on content chunks when asked', async () => {
    const { chunks } = await streamOnce({ reply: 'a b c', stampEmitTime: true });
    const content = contentChunks(chunks);
    expect(content).toHaveLength(3);
    expect(content.every((c) => typeof c.x_emit_ts === 'number' && c.x_emit_ts > 1e12)).toBe(true);
  });
});

describe('gen1 streams (legacy capture quirks, §3.1)', () => {
  it('reproduces the opening, init_thought, thought, content and double finish chunks', async () => {
    const { chunks, data, text } = await streamOnce({
      profile: 'gen1',
      reasoning: 'The user asked about weather.',
      reply: 'It is sunny today.',
    });
    expect(data.at(-1)).toBe('[DONE]');
    expect(parseSse(text).comments).toBe(0);
    const [opening, marker] = chunks;
    expect(opening?.id).toMatch(/^id_[A-Za-z0-9]{17}$/);
    expect(opening).toMatchObject({ object: 'chat.completion.chunk', executable_data: [], usage: null });
    expect(opening?.choices[0]).toEqual({
      index: 0,
      delta: { role: 'assistant', content: '' },
      finish_reason: null,
      stop_reason: null,
    });
    expect(marker?.init_thought).toBe(true);
    const thoughts = chunks.filter((c) => typeof c.thought === 'string');
    expect(thoughts.map((c) => c.thought).join('')).toBe('The user asked about weather.');
    expect(thoughts[0]?.choices[0]).toEqual({ role: 'assistant', delta: { role: 'assistant', content: '' } });
    expect(thoughts.every((c) => c.object === undefined && c.choices[0]?.index === undefined)).toBe(true);
    const content = contentChunks(chunks);
    expect(contentOf(content)).toBe('It is sunny today.');
    for (const c of content) {
      expect(c.created).toBeGreaterThan(1e12);
      expect(c).toMatchObject({ conversation_id: null, tool_thought: [] });
      expect(c.object).toBeUndefined();
      expect(c.choices[0]?.stop_reason).toBeNull();
    }
    const [finishA, finishB] = chunks.slice(-2);
    for (const finish of [finishA, finishB]) {
      expect(finish?.choices[0]).toEqual({
        index: 0,
        finish_reason: 'stop',
        delta: { role: 'assistant', content: '' },
        stop_reason: 'stop',
      });
    }
    expect(finishA?.usage).toBeUndefined();
    expect(finishB?.usage?.completion_tokens).toBe(4 + 5);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it('puts tool calls in OpenAI delta.tool_calls (assumption: no gen-1 capture exists)', async () => {
    const { chunks } = await streamOnce({
      profile: 'gen1',
      toolCalls: [{ name: 'get_weather', arguments: '{"city":"Lisbon"}', id: 'call_1' }],
    });
    const fragments = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(fragments[0]).toMatchObject({ index: 0, id: 'call_1', function: { name: 'get_weather' } });
    expect(fragments.map((f) => f.function.arguments).join('')).toBe('{"city":"Lisbon"}');
    expect(chunks.at(-1)?.choices[0]).toMatchObject({ finish_reason: 'tool_calls', stop_reason: 'tool_calls' });
  });
});

describe('tool calls', () => {
  it('fragments parallel calls by index, keeps object arguments as objects and omits null ids', async () => {
    const { chunks } = await streamOnce({
      toolCalls: [
        { name: 'get_weather', arguments: '{"city":"Lisbon","unit":"celsius"}', id: 'call_a' },
        { name: 'get_time', arguments: { zone: 'Europe/Lisbon' }, id: null },
      ],
    });
    const fragments = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(fragments.map((f) => f.index)).toEqual([0, 1, 0, 0, 0]);
    expect(fragments[0]).toEqual({
      index: 0,
      id: 'call_a',
      type: 'function',
      function: { name: 'get_weather', arguments: '' },
    });
    expect(fragments[1]).toEqual({
      index: 1,
      type: 'function',
      function: { name: 'get_time', arguments: { zone: 'Europe/Lisbon' } },
    });
    expect(
      fragments
        .filter((f) => f.index === 0)
        .map((f) => f.function.arguments)
        .join(''),
    ).toBe('{"city":"Lisbon","unit":"celsius"}');
    expect(contentOf(chunks)).toBe('');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('generates call ids when none is given', async () => {
    const { chunks } = await streamOnce({ toolCalls: [{ name: 'ping', arguments: '{}' }] });
    expect(chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? [])[0]?.id).toMatch(/^call_\w+$/);
  });

  it('can finish with "tool_calls" and no tool_calls array (quirk)', async () => {
    const { chunks } = await streamOnce({
      toolCalls: [{ name: 'get_weather', arguments: '{}' }],
      toolCallsWithoutArray: true,
    });
    expect(chunks.some((c) => c.choices[0]?.delta.tool_calls !== undefined)).toBe(false);
    expect(contentOf(chunks)).toContain('get_weather');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls');
  });
});

describe('non-streaming and plain JSON answers', () => {
  it('answers stream:false with a gen2 chat.completion body', async () => {
    sim.enqueue({ reply: 'Plain answer.', toolCalls: [{ name: 'f', arguments: '{}', id: 'call_x' }] });
    const body = (await (await post({ model: 'asi1', messages: USER })).json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'asi1',
      metadata: { weight_version: 'default' },
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          message: {
            role: 'assistant',
            content: 'Plain answer.',
            tool_calls: [{ id: 'call_x', type: 'function', function: { name: 'f', arguments: '{}' } }],
          },
        },
      ],
    });
  });

  it('answers stream:false with a gen1 body (thought array, executable_data)', async () => {
    sim.enqueue({ profile: 'gen1', reply: 'Old style.', reasoning: 'thinking' });
    const body = (await (await post({ model: 'asi1-mini', messages: USER })).json()) as Record<string, unknown>;
    expect(body.id).toMatch(/^id_/);
    expect(body).toMatchObject({
      executable_data: [],
      conversation_id: null,
      thought: ['thinking'],
      tool_thought: [],
      choices: [{ message: { content: 'Old style.' } }],
    });
  });

  it('answers a stream:true request with plain JSON when plainJson is set', async () => {
    sim.enqueue({ plainJson: true, reply: 'Not SSE.' });
    const response = await post({ model: 'asi1-mini', messages: USER, stream: true });
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toMatchObject({
      object: 'chat.completion',
      choices: [{ message: { content: 'Not SSE.' } }],
    });
  });
});

describe('max_tokens and the demo reply', () => {
  it('truncates to max_tokens with finish_reason "length", and treats 0 as unlimited', async () => {
    const truncated = await streamOnce({ reply: 'one two three four five' }, { max_tokens: 3 });
    expect(contentOf(truncated.chunks)).toBe('one two three ');
    expect(truncated.chunks.at(-1)?.choices[0]).toMatchObject({ finish_reason: 'length', matched_stop: null });
    const unlimited = await streamOnce({ reply: 'one two three four five' }, { max_tokens: 0 });
    expect(contentOf(unlimited.chunks)).toBe('one two three four five');
  });

  it('says plainly it is the offline simulator and quotes the user, in several sentences', async () => {
    const { chunks } = await streamOnce({});
    const text = contentOf(chunks);
    expect(text).toContain('offline simulator');
    expect(text).toContain('What is the weather in Lisbon?');
    expect(text).toContain('ASI_ONE_API_KEY');
    expect(text.split(/[.!?](\s|$)/).filter((s) => s.trim().length > 0).length).toBeGreaterThanOrEqual(4);
    expect(text).not.toMatch(/[*#`]/);
  });

  it('reads tool results back when the last message is a tool result', async () => {
    const messages = [
      ...USER,
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '21 degrees and sunny' },
    ];
    const { chunks } = await streamOnce({}, { messages });
    expect(contentOf(chunks)).toMatch(/^The get_weather tool returned: 21 degrees and sunny\. .*offline simulator/);
  });
});

describe('errors, auth and validation', () => {
  it.each([
    [400, 'error-object', undefined],
    [422, 'error-object', undefined],
    [429, 'message', '7'],
    [500, 'error-object', undefined],
    [502, 'html', undefined],
    [503, 'html', '30'],
  ] as const)('answers status %i with a %s body', async (status, errorBody, retryAfter) => {
    sim.enqueue({ status, errorBody, ...(retryAfter === undefined ? {} : { retryAfter }) });
    const response = await post({ model: 'asi1-mini', messages: USER, stream: true });
    expect(response.status).toBe(status);
    expect(response.headers.get('retry-after')).toBe(retryAfter ?? null);
    const text = await response.text();
    if (errorBody === 'html') {
      expect(response.headers.get('content-type')).toBe('text/html');
      expect(text).toContain(`<title>${status}`);
    } else if (errorBody === 'message') {
      expect(Object.keys(JSON.parse(text) as object)).toEqual(['message']);
    } else {
      expect(JSON.parse(text)).toMatchObject({
        error: { message: expect.any(String), type: expect.any(String), code: expect.any(String) },
      });
    }
  });

  it('rejects requests without the bearer key with the observed 401 body when apiKey is set', async () => {
    const secured = await startSimulator({ apiKey: 'sk_test', defaults: { ttftMs: 0, interTokenMs: 0, reply: 'ok' } });
    try {
      const url = `${secured.url}/chat/completions`;
      const body = JSON.stringify({ model: 'asi1-mini', messages: USER });
      const denied = await fetch(url, { method: 'POST', body, headers: { authorization: 'Bearer wrong' } });
      expect(denied.status).toBe(401);
      expect(await denied.json()).toEqual({ message: 'failed to authenticate user' });
      expect((await fetch(`${secured.url}/models`)).status).toBe(401);
      const allowed = await fetch(url, { method: 'POST', body, headers: { authorization: 'Bearer sk_test' } });
      expect(allowed.status).toBe(200);
      expect(await allowed.json()).toMatchObject({ choices: [{ message: { content: 'ok' } }] });
    } finally {
      await secured.close();
    }
  });

  it('returns 400 for invalid JSON or missing fields, 404 for an unknown model, without consuming the queue', async () => {
    sim.enqueue({ reply: 'queued reply' });
    const invalid = await post('{not json');
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ error: { message: expect.any(String) } });
    expect((await post({ model: 'asi1-mini' })).status).toBe(400);
    expect((await post({ messages: USER })).status).toBe(400);
    const unknown = await post({ model: 'gpt-4o', messages: USER });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'model_not_found' } });
    const ok = (await (await post({ model: 'asi1-mini', messages: USER })).json()) as {
      choices: { message: { content: string } }[];
    };
    expect(ok.choices[0]?.message.content).toBe('queued reply');
  });

  it('ignores unknown body keys', async () => {
    sim.enqueue({ reply: 'fine' });
    const response = await post({
      model: 'asi1-mini',
      messages: USER,
      fun_mode: false,
      web_search: false,
      extra_body: { web_search: true },
      agent_address: 'agent1q',
      planner_mode: true,
      logprobs: true,
      n: 1,
      tool_choice: 'auto',
      parallel_tool_calls: false,
    });
    expect(response.status).toBe(200);
  });

  it('records requests with their headers and body, consuming enqueued scenarios in order', async () => {
    sim.enqueue({ reply: 'first' }, { reply: 'second' });
    sim.setDefaults({ reply: 'default' });
    const replies: string[] = [];
    for (let i = 0; i < 3; i++) {
      const body = (await (await post({ model: 'asi1-mini', messages: USER }, { 'x-session-id': `s${i}` })).json()) as {
        choices: { message: { content: string } }[];
      };
      replies.push(body.choices[0]?.message.content ?? '');
    }
    expect(replies).toEqual(['first', 'second', 'default']);
    expect(sim.requests.map((r) => r.headers['x-session-id'])).toEqual(['s0', 's1', 's2']);
    expect(sim.requests[0]?.body).toMatchObject({ model: 'asi1-mini', messages: USER });
  });

  it('serves /healthz and an OpenAI-shaped /v1/models list', async () => {
    expect((await fetch(sim.url.replace(/\/v1$/, '/healthz'))).status).toBe(200);
    const models = (await (await fetch(`${sim.url}/models`)).json()) as { object: string; data: { id: string }[] };
    expect(models.object).toBe('list');
    expect(models.data.map((m) => m.id)).toEqual(['asi1', 'asi1-mini', 'asi1-ultra']);
  });
});

describe('faults, gates and cancellation', () => {
  it('drops the connection after N content chunks', async () => {
    sim.enqueue({ reply: 'one two three four', dropAfterChunks: 2 });
    const ended = nextStreamEnd();
    const reader = new StreamReader(await post({ model: 'asi1-mini', messages: USER, stream: true }));
    await expect(reader.rest()).rejects.toThrow();
    expect(contentOf(reader.chunks)).toBe('one two ');
    expect((await ended).reason).toBe('dropped');
  });

  it('stalls after N chunks with the socket open, and close() does not hang on it', async () => {
    sim.enqueue({ reply: 'one two three', stallAfterChunks: 1 });
    const reader = new StreamReader(await post({ model: 'asi1-mini', messages: USER, stream: true }));
    await reader.until((chunks) => contentOf(chunks) === 'one ');
    expect(sim.activeStreams()).toBe(1);
    const ended = nextStreamEnd();
    const failed = expect(reader.rest()).rejects.toThrow();
    await sim.close();
    expect((await ended).reason).toBe('stalled-closed');
    await failed;
    expect(contentOf(reader.chunks)).toBe('one ');
  });

  it('holds a stream at a gate until the test releases it', async () => {
    sim.enqueue({ reply: 'one two three four', gate: { name: 'mid', afterChunks: 2 } });
    const gate = sim.gate('mid');
    const ended = nextStreamEnd();
    const reader = new StreamReader(await post({ model: 'asi1-mini', messages: USER, stream: true }));
    await gate.reached;
    expect(contentOf(await reader.until((chunks) => contentOf(chunks) === 'one two '))).toBe('one two ');
    expect(sim.activeStreams()).toBe(1);
    gate.release();
    const { data } = parseSse(await reader.rest());
    expect(contentOf(chunksOf(data))).toBe('one two three four');
    expect(data.at(-1)).toBe('[DONE]');
    expect((await ended).reason).toBe('completed');
  });

  it('lets a gate be created after the stream reached it', async () => {
    sim.enqueue({ reply: 'alpha beta', gate: { name: 'late', afterChunks: 1 } });
    const reader = new StreamReader(await post({ model: 'asi1-mini', messages: USER, stream: true }));
    await reader.until((chunks) => contentOf(chunks) === 'alpha ');
    const gate = sim.gate('late');
    await gate.reached;
    gate.release();
    expect(contentOf(chunksOf(parseSse(await reader.rest()).data))).toBe('alpha beta');
  });

  it("emits 'client-closed' when the client aborts mid-stream, and stops the stream", async () => {
    sim.enqueue({ reply: 'one two three', interTokenMs: 60_000 });
    const controller = new AbortController();
    const reader = new StreamReader(
      await post({ model: 'asi1-mini', messages: USER, stream: true }, {}, controller.signal),
    );
    await reader.until((chunks) => contentOf(chunks) === 'one ');
    const ended = nextStreamEnd();
    controller.abort();
    expect((await ended).reason).toBe('client-closed');
    expect(sim.activeStreams()).toBe(0);
  });

  it("emits 'client-closed' for a stream held at a gate", async () => {
    sim.enqueue({ reply: 'one two', gate: { name: 'held', afterChunks: 0 } });
    const controller = new AbortController();
    const response = await post({ model: 'asi1-mini', messages: USER, stream: true }, {}, controller.signal);
    await sim.gate('held').reached;
    const ended = nextStreamEnd();
    controller.abort();
    await response.body?.cancel().catch(() => {});
    expect((await ended).reason).toBe('client-closed');
    sim.gate('held').release();
    expect(sim.activeStreams()).toBe(0);
  });
});

describe('framing variants', () => {
  const reply = 'Grüße aus Lisboa, 世界! Emoji 🎉 at the end.';
  const strip = (chunks: Chunk[]): unknown[] => chunks.map(({ id: _id, created: _created, ...rest }) => rest);

  it.each([
    ['crlf', { crlf: true }],
    ['keep-alive comments', { keepAliveComments: true }],
    ['split writes', { splitWrites: true }],
    ['all three', { crlf: true, keepAliveComments: true, splitWrites: true }],
  ] as const)('%s carry the same data payloads', async (_name, variant) => {
    const plain = await streamOnce({ reply, reasoning: 'Thinking…' }, { stream_options: { include_usage: true } });
    const varied = await streamOnce(
      { reply, reasoning: 'Thinking…', ...variant },
      { stream_options: { include_usage: true } },
    );
    expect(strip(varied.chunks)).toEqual(strip(plain.chunks));
    expect(varied.data.at(-1)).toBe('[DONE]');
    if ('crlf' in variant) expect(varied.text).toMatch(/^(: ping\r\n\r\n)?data: .*\r\n\r\n/);
    if ('keepAliveComments' in variant) {
      expect(varied.text.startsWith(': ping')).toBe(true);
      expect(parseSse(varied.text).comments).toBeGreaterThan(contentChunks(varied.chunks).length);
    }
  });

  it('keeps gen1 payloads identical under crlf and split writes', async () => {
    const plain = await streamOnce({ profile: 'gen1', reply, reasoning: 'Hmm.' });
    const varied = await streamOnce({ profile: 'gen1', reply, reasoning: 'Hmm.', crlf: true, splitWrites: true });
    expect(strip(varied.chunks)).toEqual(strip(plain.chunks));
  });
});
