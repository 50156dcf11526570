// The chat client end to end: the request it sends (key, x-session-id, body fields) and the stream shapes it
// reads (both wire generations, CRLF, comments, tool-call fragments, plain JSON replies, sniffed SSE).
import type { ChatEvent } from '../../src/upstream/types.js';
import { describe, expect, it } from 'vitest';
import {
  chatRequest,
  deferred,
  gen2,
  KEY,
  makeClient,
  okStream,
  rejection,
  sendJson,
  sendStream,
  sse,
  startServer,
  texts,
  useClientRig,
} from './client-rig.js';

useClientRig();

describe('chat client', { timeout: 3000 }, () => {
  it('sends the bearer key, x-session-id and the body fields, and delivers text in order', async () => {
    const server = await startServer(({ res }) => sendStream(res, okStream(['Giraffes', ' are', ' tall.'])));
    const client = makeClient(server, { userAgent: 'test-agent/1' });
    const events: ChatEvent[] = [];
    const outcome = await client.stream(
      chatRequest({
        temperature: 0.3,
        maxTokens: 120,
        tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
        toolChoice: 'auto',
      }),
      (e) => events.push(e),
    );

    expect(outcome).toEqual({
      finishReason: 'stop',
      usage: { promptTokens: 2105, completionTokens: 3, totalTokens: 2108 },
      aborted: false,
      attempts: 1,
    });
    expect(texts(events)).toEqual(['Giraffes', ' are', ' tall.']);
    const [request] = server.requests;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/v1/chat/completions');
    expect(request?.headers).toMatchObject({
      authorization: `Bearer ${KEY}`,
      'x-session-id': 'session-42',
      'content-type': 'application/json',
      accept: 'text/event-stream',
      'user-agent': 'test-agent/1',
    });
    expect(JSON.parse(request?.body ?? '')).toEqual({
      model: 'asi1-mini',
      messages: [{ role: 'user', content: 'Tell me about giraffes.' }],
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.3,
      max_tokens: 120,
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
      tool_choice: 'auto',
    });
  });

  it('omits the authorization header and undefined fields when not configured', async () => {
    const server = await startServer(({ res }) => sendStream(res, okStream(['ok'])));
    const client = makeClient(server, { apiKey: undefined });
    await client.stream(chatRequest({ toolChoice: 'none' }), () => {});
    const [request] = server.requests;
    expect(request?.headers.authorization).toBeUndefined();
    expect(Object.keys(JSON.parse(request?.body ?? '{}') as object).sort()).toEqual(
      ['messages', 'model', 'stream', 'stream_options'].sort(),
    );
  });

  it('reads a gen-1 stream with CRLF, keep-alive comments and odd write boundaries', async () => {
    const wire =
      ': ping\r\n\r\n' +
      [
        {
          id: 'id_x',
          object: 'chat.completion.chunk',
          model: 'asi1-mini',
          choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
          usage: null,
        },
        {
          id: 'id_x',
          model: 'asi1-mini',
          choices: [{ role: 'assistant', delta: { role: 'assistant', content: '' } }],
          init_thought: true,
        },
        {
          id: 'id_x',
          model: 'asi1-mini',
          choices: [{ role: 'assistant', delta: { role: 'assistant', content: '' } }],
          thought: '\nThinking 🦒',
        },
        {
          id: 'id_x',
          model: 'asi1-mini',
          created: 1740580071837,
          choices: [{ index: 0, finish_reason: null, delta: { content: '\n\nGiraffes 🦒' } }],
        },
        {
          id: 'id_x',
          model: 'asi1-mini',
          created: 1740580071837,
          choices: [{ index: 0, finish_reason: null, delta: { content: ' are tall.' } }],
        },
        {
          id: 'id_x',
          model: 'asi1-mini',
          choices: [
            { index: 0, finish_reason: 'stop', delta: { role: 'assistant', content: '' }, stop_reason: 'stop' },
          ],
        },
        {
          id: 'id_x',
          model: 'asi1-mini',
          choices: [
            { index: 0, finish_reason: 'stop', delta: { role: 'assistant', content: '' }, stop_reason: 'stop' },
          ],
          usage: { prompt_tokens: 435, completion_tokens: 391, total_tokens: 826 },
        },
      ]
        .map((chunk) => `data: ${JSON.stringify(chunk)}\r\n\r\n`)
        .join('') +
      'data: [DONE]\r\n\r\n';
    const bytes = Buffer.from(wire);
    const server = await startServer(({ res }) => {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      // Write in 7-byte slices so splits land inside emoji and between \r and \n.
      for (let i = 0; i < bytes.length; i += 7) res.write(bytes.subarray(i, i + 7));
      res.end();
    });
    const events: ChatEvent[] = [];
    const outcome = await makeClient(server).stream(chatRequest(), (e) => events.push(e));
    expect(events.filter((e) => e.type === 'reasoning')).toEqual([{ type: 'reasoning', text: '\nThinking 🦒' }]);
    expect(texts(events)).toEqual(['\n\nGiraffes 🦒', ' are tall.']);
    expect(events.filter((e) => e.type === 'finish')).toHaveLength(2);
    expect(outcome.finishReason).toBe('stop');
    expect(outcome.usage).toEqual({ promptTokens: 435, completionTokens: 391, totalTokens: 826 });
  });

  it('streams tool-call fragments as they arrive', async () => {
    const server = await startServer(({ res }) =>
      sendStream(
        res,
        sse(
          gen2({
            tool_calls: [
              { index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } },
            ],
          }),
        ) +
          sse(gen2({ tool_calls: [{ index: 0, function: { arguments: '{"location":' } }] })) +
          sse(gen2({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] })) +
          sse(gen2({}, 'tool_calls')) +
          'data: [DONE]\n\n',
      ),
    );
    const events: ChatEvent[] = [];
    const outcome = await makeClient(server).stream(chatRequest(), (e) => events.push(e));
    expect(events).toEqual([
      { type: 'tool_call', index: 0, id: 'call_1', name: 'get_weather' },
      { type: 'tool_call', index: 0, argumentsDelta: '{"location":' },
      { type: 'tool_call', index: 0, argumentsDelta: '"Paris"}' },
      { type: 'finish', reason: 'tool_calls' },
    ]);
    expect(outcome.finishReason).toBe('tool_calls');
  });

  it('accepts a plain JSON body in reply to a streaming request', async () => {
    const server = await startServer(({ res }) =>
      sendJson(res, 200, {
        id: 'id_kKg27rnGyfH4NknTL',
        model: 'asi1-mini',
        thought: ['greeting'],
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Hello there.' } }],
        usage: { prompt_tokens: 39, completion_tokens: 100, total_tokens: 139 },
      }),
    );
    const events: ChatEvent[] = [];
    const outcome = await makeClient(server).stream(chatRequest(), (e) => events.push(e));
    expect(events).toEqual([
      { type: 'reasoning', text: 'greeting' },
      { type: 'text', text: 'Hello there.' },
      { type: 'finish', reason: 'stop' },
      { type: 'usage', usage: { promptTokens: 39, completionTokens: 100, totalTokens: 139 } },
    ]);
    expect(outcome).toMatchObject({ finishReason: 'stop', aborted: false, attempts: 1 });
  });

  it('sniffs SSE sent with a wrong content type', async () => {
    const server = await startServer(({ res }) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(okStream(['sniffed']));
    });
    const events: ChatEvent[] = [];
    await makeClient(server).stream(chatRequest(), (e) => events.push(e));
    expect(texts(events)).toEqual(['sniffed']);
  });

  it('refuses a body of a wrong content type that stays blank past 1 MiB, long before the first-token timer', async () => {
    const closed = deferred();
    const server = await startServer(({ req, res }) => {
      let open = true;
      req.socket.once('close', () => {
        open = false;
        closed.resolve();
      });
      res.writeHead(200, { 'content-type': 'text/plain' });
      const blanks = Buffer.alloc(64 * 1024, ' \n');
      const send = (): void => {
        if (open && res.write(blanks)) setImmediate(send);
        else if (open) res.once('drain', send);
      };
      send();
    });
    const client = makeClient(server, { firstTokenTimeoutMs: 60_000 });
    const err = await rejection(client.stream(chatRequest(), () => {}));
    expect(err.code).toBe('GW_UPSTREAM_PROTOCOL');
    await closed.promise;
    expect(server.requests).toHaveLength(1);
  });
});
