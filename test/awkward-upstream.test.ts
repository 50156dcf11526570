// The real gateway end to end in front of a raw node:http ASI:One stand-in with awkward but legal wire
// behaviour: SSE framing per WHATWG HTML §9.2 (no space after `data:`, multi-line data, event/id/retry fields,
// BOM, CR / CRLF endings, comments, blank lines), bytes in 1–3 byte pieces, both ASI wire generations (gen-1
// `thought` chunks, gen-2 SGLang-style), odd chunk shapes, plain JSON replies, error statuses, retries and resets.
// Every case also checks the protocol v1 invariants: one response.done per response.created,
// nothing of a response after its done, the joined deltas equal done.text, reasoning never reaches the client.
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerEvent } from '../src/protocol.js';
import {
  DONE_EVENT,
  Gate,
  GEN2_ID,
  gen1Capture,
  gen2Chunk,
  gen2Reply,
  plainStream,
  sequence,
  SSE_TYPE,
  startAwkwardUpstream,
  startStream,
  writeInPieces,
  writePiece,
  type AwkwardUpstream,
  type Script,
} from './awkward-upstream-server.js';
import { startGatewayFor, VoiceClient, type GatewayUnderTest } from './helpers.js';

type Done = Extract<ServerEvent, { type: 'response.done' }>;

const KEY = `sk_${'a'.repeat(64)}`;
const SECRET = 'SECRET_REASONING';

// ---- Harness ---------------------------------------------------------------------------------------------

let upstream: AwkwardUpstream | undefined;
let gateway: GatewayUnderTest | undefined;
const clients: VoiceClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) {
    client.socket.terminate();
    await client.closed;
  }
  await gateway?.close();
  gateway = undefined;
  await upstream?.close();
  upstream = undefined;
});

interface Rig {
  upstream: AwkwardUpstream;
  gateway: GatewayUnderTest;
  client: VoiceClient;
}

/** Upstream playing `script`, the real gateway in front of it (with a key unless overridden), one connected client. */
async function rig(script: Script, env: Record<string, string> = {}): Promise<Rig> {
  upstream = await startAwkwardUpstream(script);
  gateway = await startGatewayFor(upstream.baseUrl, { env: { ASI_ONE_API_KEY: KEY, ...env } });
  const client = await VoiceClient.connect(gateway.voiceUrl);
  clients.push(client);
  return { upstream, gateway, client };
}

/** A script that sends `wire` as the body of a 200 event stream, in one write or in pieces. */
function streams(wire: string | Buffer, options: { contentType?: string | null; pieces?: readonly number[] } = {}): Script {
  return async (_req, res) => {
    startStream(res, options.contentType === undefined ? SSE_TYPE : options.contentType);
    if (options.pieces) await writeInPieces(res, wire, options.pieces);
    else res.write(wire);
    res.end();
  };
}

/** A script that answers with a status, headers and body, then ends. */
function answers(status: number, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }): Script {
  return (_req, res) => {
    res.writeHead(status, headers).end(body);
  };
}

const deltasOf = (client: VoiceClient, responseId: string): string[] =>
  client.ofResponse(responseId).flatMap((e) => (e.type === 'response.delta' ? [e.text] : []));

/**
 * The protocol invariants over the whole session so far, after a ping/pong barrier (so a late event of a
 * finished response would already be recorded): seq grows by one; for every response.created exactly one
 * response.done, and it is that response's last event; joined deltas equal done.text; speech indices run 0..n-1.
 */
async function expectInvariants(client: VoiceClient): Promise<void> {
  const from = client.events.length;
  client.send({ type: 'ping' });
  await client.waitForType('pong', from);
  expect(client.events.map((e) => e.seq)).toEqual(client.events.map((_, i) => i + 1));
  const created = client.events.filter((e) => e.type === 'response.created');
  const dones = client.events.filter((e) => e.type === 'response.done');
  expect(dones.map((d) => d.responseId)).toEqual(created.map((c) => c.responseId));
  for (const { responseId } of created) {
    const events = client.ofResponse(responseId);
    expect(events[0]?.type).toBe('response.created');
    expect(events.filter((e) => e.type === 'response.done')).toHaveLength(1);
    const done = events.at(-1);
    expect(done?.type).toBe('response.done');
    expect(deltasOf(client, responseId).join('')).toBe((done as Done).text);
    const speech = events.flatMap((e) => (e.type === 'response.speech' ? [e.index] : []));
    expect(speech).toEqual(speech.map((_, i) => i));
  }
}

/** One turn, then the invariants; returns the response.done. */
async function turn(client: VoiceClient, text = 'Hello'): Promise<Done> {
  const done = await client.turn(text);
  await expectInvariants(client);
  return done;
}

/** A normal, good reply used wherever a case needs "then it works". */
const GOOD_REPLY = 'Recovered fine.';
const good: Script = streams(plainStream(gen2Reply([GOOD_REPLY])));

// ---- SSE framing (WHATWG HTML §9.2.6) -----------------------------------------------------------------------

const REPLY = ['Giraffes ', 'have long ', 'necks. ', 'They eat ', 'leaves.'];
const REPLY_TEXT = REPLY.join('');
const replyChunks = (): Record<string, unknown>[] => gen2Reply(REPLY);
const json = (value: unknown): string => JSON.stringify(value);

/** Splits a JSON text over two `data:` lines at a point where a joining `\n` is legal JSON whitespace. */
function splitJsonOverDataLines(payload: string, eol: string): string {
  const cut = payload.indexOf(',"choices"') + 1; // after a comma: "…,\n"choices"…" is valid JSON
  return `data: ${payload.slice(0, cut)}${eol}data: ${payload.slice(cut)}${eol}`;
}

const framings: { name: string; wire: () => string }[] = [
  {
    name: 'accepts `data:` with no space after the colon',
    wire: () => replyChunks().map((c) => `data:${json(c)}\n\n`).join('') + 'data:[DONE]\n\n',
  },
  {
    name: 'joins multiple `data:` lines of one event with \\n (a JSON chunk split over two lines)',
    wire: () => replyChunks().map((c) => `${splitJsonOverDataLines(json(c), '\n')}\n`).join('') + DONE_EVENT,
  },
  {
    name: 'treats a bare `data` line (no colon) as an empty data line of the same event',
    wire: () => replyChunks().map((c) => `data\ndata: ${json(c)}\n\n`).join('') + DONE_EVENT,
  },
  {
    name: 'ignores interleaved `event:`, `id:`, `retry:` and unknown fields',
    wire: () =>
      replyChunks()
        .map((c, i) => `id: ${i}\nevent: message\nretry: 1500\nx-unknown: yes\ndata: ${json(c)}\nid\n\n`)
        .join('') + `event: message\ndata: [DONE]\n\n`,
  },
  {
    name: 'ignores events that carry no data (id-only, event-only, empty data)',
    wire: () => replyChunks().map((c) => `id: 7\n\nevent: ping\n\ndata:\n\ndata: ${json(c)}\n\n`).join('') + DONE_EVENT,
  },
  {
    name: 'strips a UTF-8 BOM at the very start of the stream',
    wire: () => `\uFEFF${plainStream(replyChunks())}`,
  },
  {
    name: 'accepts CR-only line endings',
    wire: () => plainStream(replyChunks()).replace(/\n/g, '\r'),
  },
  {
    name: 'accepts CRLF line endings',
    wire: () => plainStream(replyChunks()).replace(/\n/g, '\r\n'),
  },
  {
    name: 'accepts mixed LF, CR and CRLF line endings in one stream',
    wire: () => replyChunks().map((c, i) => `data: ${json(c)}${['\n\n', '\r\r', '\r\n\r\n', '\n\r\n', '\r\n\r'][i % 5]}`).join('') + DONE_EVENT,
  },
  {
    name: 'skips `: keep-alive` comment lines before, between and inside events',
    wire: () =>
      ': keep-alive\n\n:\n' +
      replyChunks().map((c) => `: keep-alive\ndata: ${json(c)}\n: ping inside the event\n\n: keep-alive\n\n`).join('') +
      DONE_EVENT,
  },
  {
    name: 'tolerates blank lines galore between and before events',
    wire: () => '\n\n\n' + replyChunks().map((c) => `data: ${json(c)}\n\n\n\n\n`).join('\n\n') + DONE_EVENT + '\n\n\n',
  },
];

describe('SSE framing', () => {
  it.each(framings)('$name', async ({ wire }) => {
    const { client, upstream } = await rig(streams(wire()));
    const done = await turn(client);
    expect(done).toMatchObject({ status: 'completed', text: REPLY_TEXT });
    expect(done.usage).toEqual({ promptTokens: 2105, completionTokens: 7, totalTokens: 2112 });
    expect(upstream.requests).toHaveLength(1);
  });

  it('reads `text/event-stream; charset=utf-8` as a stream', async () => {
    const { client } = await rig(streams(plainStream(replyChunks()), { contentType: 'text/event-stream; charset=utf-8' }));
    expect(await turn(client)).toMatchObject({ status: 'completed', text: REPLY_TEXT });
  });

  it('reads a media type in odd case with parameters (`Text/Event-Stream;charset=UTF-8`) as a stream', async () => {
    const { client } = await rig(streams(plainStream(replyChunks()), { contentType: 'Text/Event-Stream;charset=UTF-8' }));
    expect(await turn(client)).toMatchObject({ status: 'completed', text: REPLY_TEXT });
  });

  it('reads an event stream sent without a content-type', async () => {
    const { client } = await rig(streams(`: hello\n\n${plainStream(replyChunks())}`, { contentType: null }));
    expect(await turn(client)).toMatchObject({ status: 'completed', text: REPLY_TEXT });
  });

  it('accepts a whole stream sent at once with Content-Length and Connection: close', async () => {
    const body = plainStream(replyChunks());
    const { client } = await rig(
      answers(200, body, { 'content-type': SSE_TYPE, 'content-length': String(Buffer.byteLength(body)), connection: 'close' }),
    );
    expect(await turn(client)).toMatchObject({ status: 'completed', text: REPLY_TEXT });
  });

  it('completes when the last event `data: [DONE]` lacks its terminating blank line', async () => {
    const { client } = await rig(streams(plainStream(replyChunks(), false) + 'data: [DONE]'));
    expect(await turn(client)).toMatchObject({ status: 'completed', text: REPLY_TEXT });
  });
});

// ---- Bytes in tiny pieces ------------------------------------------------------------------------------------

describe('bytes in tiny pieces', () => {
  const UNICODE = ['Héllo, ', 'café ', 'crème brûlée! ', '日本語の', 'テキスト。', 'A giraffe 🦒 ', 'and a 👩‍👩‍👧 family. ', 'Ünïcödé ok.'];
  const UNICODE_TEXT = UNICODE.join('');
  /** CRLF framing, a JSON chunk split over two data lines, comments and a BOM: every split point matters. */
  const hardWire = (): string =>
    '\uFEFF: keep-alive\r\n\r\n' +
    gen2Reply(UNICODE)
      .map((c) => `${splitJsonOverDataLines(json(c), '\r\n')}: ping\r\n\r\n`)
      .join('') +
    'data: [DONE]\r\n\r\n';

  it.each([
    { sizes: [1], label: 'byte by byte' },
    { sizes: [2], label: '2 bytes at a time' },
    { sizes: [3], label: '3 bytes at a time' },
    { sizes: [1, 2, 3], label: '1, 2, 3 bytes cycling' },
    { sizes: [3, 1, 2, 2, 1], label: '3, 1, 2, 2, 1 bytes cycling' },
  ])('reassembles multi-byte UTF-8, CRLF and multi-line data written $label', async ({ sizes }) => {
    const wire = hardWire();
    // The pieces really do split inside multi-byte characters and between \r and \n.
    expect(Buffer.byteLength(wire) > wire.length && wire.includes('\r\n')).toBe(true);
    const { client } = await rig(streams(wire, { pieces: sizes }));
    const done = await turn(client);
    expect(done).toMatchObject({ status: 'completed', text: UNICODE_TEXT });
    expect(done.text).not.toContain('\uFFFD');
  });

  it('reassembles CR-only framing written byte by byte (a lone \\r at a piece end is a full line end)', async () => {
    const wire = gen2Reply(UNICODE).map((c) => `data: ${json(c)}\r\r`).join('') + 'data: [DONE]\r\r';
    const { client } = await rig(streams(wire, { pieces: [1] }));
    expect(await turn(client)).toMatchObject({ status: 'completed', text: UNICODE_TEXT });
  });

  it('reassembles a plain JSON completion body written byte by byte', async () => {
    const body = json({
      id: 'x',
      object: 'chat.completion',
      model: 'asi1-mini',
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: UNICODE_TEXT } }],
    });
    const { client } = await rig(streams(body, { contentType: 'application/json', pieces: [1] }));
    expect(await turn(client)).toMatchObject({ status: 'completed', text: UNICODE_TEXT });
  });
});

// ---- Wire generations and chunk shapes ----------------------------------------------------------------------

describe('ASI:One wire generations', () => {
  it('reads the exact gen-1 capture shape: init_thought, top-level thought never forwarded, two finish chunks, usage last', async () => {
    const thoughts = [`\n${SECRET} The user has asked`, ' about giraffes', `. ${SECRET} again`, '.\n'];
    const pieces = ['\n\nGiraffes ', 'are the tallest ', 'land animals. ', 'Their necks are long.'];
    const { client } = await rig(streams(plainStream(gen1Capture(thoughts, pieces))));
    const done = await turn(client, 'Tell me about giraffes');
    expect(done).toMatchObject({ status: 'completed', text: pieces.join('') });
    expect(done.usage).toEqual({ promptTokens: 435, completionTokens: 391, totalTokens: 826 });
    expect(JSON.stringify(client.events)).not.toContain(SECRET);
    expect(JSON.stringify(client.events)).not.toContain('The user has asked');
    // `init_thought: true` is a marker, not text (llama-index leaks it as "True").
    expect(done.text).not.toMatch(/true/i);
  });

  it('reads the gen-2 SGLang shape: reasoning_content fragments never forwarded, a `choices: []` usage chunk', async () => {
    const chunks = [
      gen2Chunk({ role: 'assistant', content: '', reasoning_content: null }),
      gen2Chunk({ content: null, reasoning_content: `${SECRET} thinking` }),
      gen2Chunk({ content: null, reasoning_content: ' about the answer.' }),
      gen2Chunk({ content: 'Hello ', reasoning_content: null }),
      gen2Chunk({ content: 'from gen two.', reasoning_content: null }),
      gen2Chunk({ content: '', reasoning_content: null }, 'stop'),
      { id: 'x', object: 'chat.completion.chunk', created: 1, model: 'asi1-mini', choices: [], usage: { prompt_tokens: 20, completion_tokens: 5, total_tokens: 25, reasoning_tokens: 3, prompt_tokens_details: null } },
    ];
    const { client } = await rig(streams(plainStream(chunks)));
    const done = await turn(client);
    expect(done).toMatchObject({ status: 'completed', text: 'Hello from gen two.', usage: { promptTokens: 20, completionTokens: 5, totalTokens: 25 } });
    expect(JSON.stringify(client.events)).not.toContain(SECRET);
    expect(JSON.stringify(client.events)).not.toContain('about the answer');
  });

  it('completes a reasoning-only reply with empty text and forwards none of the reasoning', async () => {
    const chunks = [
      gen2Chunk({ role: 'assistant', content: null, reasoning_content: `${SECRET} only thinking` }),
      gen2Chunk({ content: null, reasoning_content: null }, 'stop'),
    ];
    const { client } = await rig(streams(plainStream(chunks)));
    const done = await turn(client);
    expect(done).toMatchObject({ status: 'completed', text: '' });
    expect(JSON.stringify(client.events)).not.toContain(SECRET);
  });
});

describe('odd but legal chunk shapes', () => {
  const cases: { name: string; chunks: unknown[]; text: string }[] = [
    {
      name: 'content arriving in the very first (role) chunk',
      chunks: [gen2Chunk({ role: 'assistant', content: 'First words, ' }), gen2Chunk({ content: 'then more.' }), gen2Chunk({}, 'stop')],
      text: 'First words, then more.',
    },
    {
      name: 'content and finish_reason in the same chunk',
      chunks: [gen2Chunk({ role: 'assistant', content: '' }), gen2Chunk({ content: 'All at ' }), gen2Chunk({ content: 'once.' }, 'stop')],
      text: 'All at once.',
    },
    {
      name: 'the whole reply in a single chunk with role, content and finish_reason',
      chunks: [gen2Chunk({ role: 'assistant', content: 'Just this.' }, 'stop')],
      text: 'Just this.',
    },
    {
      name: '`content: null` chunks among text chunks',
      chunks: [gen2Chunk({ role: 'assistant', content: null }), gen2Chunk({ content: 'Null ' }), gen2Chunk({ content: null }), gen2Chunk({ content: 'skipped.' }), gen2Chunk({ content: null }, 'stop')],
      text: 'Null skipped.',
    },
    {
      name: 'choices without an `index`',
      chunks: [{ choices: [{ delta: { role: 'assistant', content: 'No ' } }] }, { choices: [{ delta: { content: 'index.' } }] }, { choices: [{ delta: {}, finish_reason: 'stop' }] }],
      text: 'No index.',
    },
    {
      name: 'a chunk with no `delta` at all',
      chunks: [gen2Chunk({ role: 'assistant', content: 'Before ' }), { id: 'x', choices: [{ index: 0, finish_reason: null }] }, gen2Chunk({ content: 'after.' }), { id: 'x', choices: [{ index: 0, finish_reason: 'stop' }] }],
      text: 'Before after.',
    },
    {
      name: 'no `id`, `object`, `model` or `created` anywhere',
      chunks: [{ choices: [{ index: 0, delta: { content: 'Bare ' } }] }, { choices: [{ index: 0, delta: { content: 'chunks.' }, finish_reason: 'stop' }] }],
      text: 'Bare chunks.',
    },
    {
      name: 'unknown extra fields at every level',
      chunks: [
        { ...gen2Chunk({ role: 'assistant', content: 'Extra ', x_delta: { a: 1 } }), x_top: [1, 2], metadata: { weight_version: 'default' } },
        { id: 'x', x_top: null, choices: [{ index: 0, x_choice: 'y', delta: { content: 'fields.', x_delta: true, annotations: [] }, logprobs: null, finish_reason: null }] },
        { id: 'x', choices: [{ index: 0, delta: { content: '' }, finish_reason: 'stop', stop_reason: 'stop', x_choice: {} }], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3, x_usage: 9 } },
      ],
      text: 'Extra fields.',
    },
    {
      name: 'usage on a non-final chunk, and a finish_reason of "length"',
      chunks: [gen2Chunk({ role: 'assistant', content: 'Cut ' }, null, { usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }), gen2Chunk({ content: 'short' }), gen2Chunk({ content: '' }, 'length')],
      text: 'Cut short',
    },
    {
      name: 'OpenAI content parts instead of a content string',
      chunks: [gen2Chunk({ role: 'assistant', content: [{ type: 'text', text: 'Parts ' }] }), gen2Chunk({ content: [{ type: 'text', text: 'work.' }] }, 'stop')],
      text: 'Parts work.',
    },
    {
      name: 'an empty `{}` data payload and a `choices: null` chunk',
      chunks: [{}, gen2Chunk({ role: 'assistant', content: 'Empty ' }), { id: 'x', choices: null }, gen2Chunk({ content: 'ignored.' }, 'stop')],
      text: 'Empty ignored.',
    },
    {
      name: 'a second choice (index 1) that must not be mixed into the reply',
      chunks: [
        { choices: [{ index: 1, delta: { content: 'WRONG ' } }, { index: 0, delta: { role: 'assistant', content: 'Only ' } }] },
        { choices: [{ index: 0, delta: { content: 'choice zero.' } }, { index: 1, delta: { content: 'WRONG' } }] },
        { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
      ],
      text: 'Only choice zero.',
    },
  ];

  it.each(cases)('accepts $name', async ({ chunks, text }) => {
    const { client } = await rig(streams(plainStream(chunks)));
    expect(await turn(client)).toMatchObject({ status: 'completed', text });
  });

  it('skips a `data:` line with malformed JSON in the middle of a good stream and completes with the rest', async () => {
    const [role, ...rest] = gen2Reply(['Good ', 'start, ', 'good end.']);
    const wire = dataLines([role, rest[0], '{"choices":[{"index":0,"delta":{"content":"BROKEN', rest[1], 'not json at all', ...rest.slice(2)]);
    const { client } = await rig(streams(wire));
    const done = await turn(client);
    expect(done).toMatchObject({ status: 'completed', text: 'Good start, good end.' });
    expect(done.text).not.toContain('BROKEN');
  });
});

/** `data: ` lines for objects (JSON-encoded) and raw strings (sent verbatim), then [DONE]. */
function dataLines(items: unknown[]): string {
  return items.map((item) => `data: ${typeof item === 'string' ? item : json(item)}\n\n`).join('') + DONE_EVENT;
}

// ---- How a stream ends ---------------------------------------------------------------------------------------

describe('how the stream ends', () => {
  it('completes when a finish_reason arrives, there is no [DONE] and the connection ends cleanly', async () => {
    const { client, upstream } = await rig(streams(plainStream(replyChunks(), false)));
    expect(await turn(client)).toMatchObject({ status: 'completed', text: REPLY_TEXT });
    expect(upstream.requests).toHaveLength(1);
  });

  it('completes at [DONE] even though the upstream then keeps the response open, and the next turn works', async () => {
    const script = sequence(async (_req, res) => {
      startStream(res);
      await writePiece(res, plainStream(replyChunks()));
      // Never res.end(): the socket stays open (keep-alive) until afterEach destroys it.
    }, good);
    // A long stall timeout, so only completing at [DONE] (not a stall timer) can finish the turn in time.
    const { client, upstream } = await rig(script, { UPSTREAM_STALL_TIMEOUT_MS: '60000', UPSTREAM_FIRST_TOKEN_TIMEOUT_MS: '60000' });
    client.send({ type: 'turn', text: 'Hello' });
    // Every delta arrives first; the test then hangs (times out) only if the gateway waits past [DONE].
    await client.waitFor((e) => e.type === 'response.delta' && e.text === REPLY.at(-1));
    const done = (await client.waitForType('response.done')) as Done;
    await expectInvariants(client);
    expect(done).toMatchObject({ status: 'completed', text: REPLY_TEXT });
    expect(await turn(client, 'Again')).toMatchObject({ status: 'completed', text: GOOD_REPLY });
    expect(upstream.requests).toHaveLength(2);
  });

  it('fails with GW_UPSTREAM_DROPPED, keeping the text, when the stream ends cleanly with neither [DONE] nor a finish_reason', async () => {
    const chunks = gen2Reply(['Half ', 'a reply']).slice(0, 3);
    const { client, upstream } = await rig(streams(plainStream(chunks, false)));
    const done = await turn(client);
    expect(done).toMatchObject({ status: 'failed', text: 'Half a reply', error: { code: 'GW_UPSTREAM_DROPPED', retryable: true } });
    expect(upstream.requests).toHaveLength(1);
  });

  it.each(['reset', 'destroy'] as const)(
    'fails with GW_UPSTREAM_DROPPED after a mid-stream connection %s, keeps what was sent, and does not retry',
    async (how) => {
      const gate = new Gate();
      const script = sequence(async (_req, res) => {
        startStream(res);
        await writePiece(res, plainStream(gen2Reply(['Sent ', 'so far.']).slice(0, 3), false));
        await gate.opened;
        if (how === 'reset') res.socket?.resetAndDestroy();
        else res.socket?.destroy();
      }, good);
      const { client, upstream } = await rig(script);
      client.send({ type: 'turn', text: 'Count' });
      await client.waitFor((e) => e.type === 'response.delta' && e.text === 'so far.');
      gate.open();
      const done = (await client.waitForType('response.done')) as Done;
      await expectInvariants(client);
      expect(done).toMatchObject({ status: 'failed', text: 'Sent so far.', error: { code: 'GW_UPSTREAM_DROPPED', retryable: true } });
      expect(upstream.requests).toHaveLength(1);
      // The session stays usable.
      expect(await turn(client, 'Go on')).toMatchObject({ status: 'completed', text: GOOD_REPLY });
    },
  );

  it('retries transparently when the connection resets after only reasoning was received (nothing forwarded)', async () => {
    const script = sequence(async (_req, res) => {
      startStream(res);
      await writePiece(res, plainStream(gen1Capture([`${SECRET} hmm`], []).slice(0, 3), false));
      res.socket?.resetAndDestroy();
    }, good);
    const { client, upstream } = await rig(script);
    const done = await turn(client);
    expect(done).toMatchObject({ status: 'completed', text: GOOD_REPLY });
    expect(upstream.requests).toHaveLength(2);
    expect(JSON.stringify(client.events)).not.toContain(SECRET);
  });

  it('retries transparently when the upstream drops the connection before sending headers', async () => {
    const script = sequence((_req, res) => {
      res.socket?.destroy();
    }, good);
    const { client, upstream } = await rig(script);
    expect(await turn(client)).toMatchObject({ status: 'completed', text: GOOD_REPLY });
    expect(upstream.requests).toHaveLength(2);
  });

  it('fails with the mapped code, keeping the text, when an error object arrives inside a 200 stream after content', async () => {
    const [role, first] = gen2Reply(['Partial answer.']);
    const wire = dataLines([role, first, { error: { message: 'overloaded', code: 503 } }]);
    const { client, upstream } = await rig(streams(wire));
    const done = await turn(client);
    expect(done).toMatchObject({ status: 'failed', text: 'Partial answer.', error: { code: 'GW_UPSTREAM_UNAVAILABLE', retryable: true } });
    expect(upstream.requests).toHaveLength(1);
  });
});

// ---- Plain JSON replies to a stream request ------------------------------------------------------------------

describe('a plain JSON reply to a stream request', () => {
  const GEN2_BODY = {
    id: 'ec3e76554baa4ebb838173e7f32fdb94',
    choices: [
      {
        finish_reason: 'stop',
        index: 0,
        logprobs: null,
        message: { content: 'Hey there! 👋 A whole answer at once.', refusal: null, role: 'assistant', annotations: null, audio: null, function_call: null, tool_calls: null, reasoning_content: null },
        matched_stop: 151336,
      },
    ],
    created: 1768409272,
    model: 'asi1',
    object: 'chat.completion',
    service_tier: null,
    system_fingerprint: null,
    usage: { completion_tokens: 149, prompt_tokens: 2105, total_tokens: 2254, completion_tokens_details: null, prompt_tokens_details: null, reasoning_tokens: 0 },
    metadata: { weight_version: 'default' },
  };

  it.each<{ label: string; headers: Record<string, string> }>([
    { label: 'application/json', headers: { 'content-type': 'application/json' } },
    { label: 'application/json; charset=utf-8', headers: { 'content-type': 'application/json; charset=utf-8' } },
    { label: 'no content-type at all', headers: {} },
  ])('completes with the full text when the content-type is $label', async ({ headers }) => {
    const { client } = await rig(answers(200, json(GEN2_BODY), headers));
    const done = await turn(client);
    expect(done).toMatchObject({ status: 'completed', text: 'Hey there! 👋 A whole answer at once.' });
    expect(done.usage).toEqual({ promptTokens: 2105, completionTokens: 149, totalTokens: 2254 });
  });

  it('completes with a pretty-printed body that starts with whitespace and has no content-type', async () => {
    const { client } = await rig(answers(200, `\n\n  ${JSON.stringify(GEN2_BODY, null, 2)}\n`, {}));
    expect(await turn(client)).toMatchObject({ status: 'completed', text: 'Hey there! 👋 A whole answer at once.' });
  });

  it('never forwards the thought array of a gen-1 completion body', async () => {
    const body = {
      model: 'asi1-mini',
      id: 'id_kKg27rnGyfH4NknTL',
      executable_data: [],
      conversation_id: null,
      thought: [`${SECRET} The user has initiated a simple greeting.`],
      tool_thought: [],
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: "Hello! I'm ASI1-Mini.", reasoning: null } }],
      usage: { prompt_tokens: 39, completion_tokens: 100, total_tokens: 139 },
    };
    const { client } = await rig(answers(200, json(body)));
    const done = await turn(client);
    expect(done).toMatchObject({ status: 'completed', text: "Hello! I'm ASI1-Mini." });
    expect(JSON.stringify(client.events)).not.toContain(SECRET);
  });
});

// ---- Error statuses, retries and the API key ----------------------------------------------------------------

describe('error statuses', () => {
  it.each([
    { status: 400, body: '{"error":{"message":"bad"}}', code: 'GW_UPSTREAM_BAD_REQUEST', retryable: false, says: 'bad' },
    { status: 401, body: '{"message":"failed to authenticate user"}', code: 'GW_UPSTREAM_AUTH', retryable: false, says: 'failed to authenticate user' },
    { status: 403, body: '{"error":"forbidden"}', code: 'GW_UPSTREAM_AUTH', retryable: false, says: 'forbidden' },
    { status: 404, body: '{"detail":"Not Found"}', code: 'GW_UPSTREAM_BAD_REQUEST', retryable: false, says: 'Not Found' },
    { status: 422, body: '{"detail":[{"loc":["body","messages"],"msg":"field required","type":"value_error.missing"}]}', code: 'GW_UPSTREAM_BAD_REQUEST', retryable: false, says: 'field required' },
  ])('fails a $status at once with $code and no retry', async ({ status, body, code, retryable, says }) => {
    const { client, upstream } = await rig(answers(status, body));
    const done = await turn(client);
    expect(done).toMatchObject({ status: 'failed', text: '', error: { code, retryable } });
    expect(done.error?.message).toContain(says);
    expect(upstream.requests).toHaveLength(1);
    // A failed response is reported in response.done, not as a separate error event.
    expect(client.events.filter((e) => e.type === 'error')).toEqual([]);
  });

  it('retries a 429 with `Retry-After: 0` and then completes (2 requests)', async () => {
    const script = sequence(answers(429, '{"error":{"message":"rate limited"}}', { 'content-type': 'application/json', 'retry-after': '0' }), good);
    const { client, upstream } = await rig(script);
    expect(await turn(client)).toMatchObject({ status: 'completed', text: GOOD_REPLY });
    expect(upstream.requests).toHaveLength(2);
  });

  it('retries a 429 whose Retry-After is an HTTP-date in the past, then completes', async () => {
    const script = sequence(answers(429, '{"message":"slow down"}', { 'content-type': 'application/json', 'retry-after': new Date(0).toUTCString() }), good);
    const { client, upstream } = await rig(script);
    expect(await turn(client)).toMatchObject({ status: 'completed', text: GOOD_REPLY });
    expect(upstream.requests).toHaveLength(2);
  });

  it('fails a 429 at once with GW_UPSTREAM_RATE_LIMITED (retryable) when Retry-After is too long to wait', async () => {
    const { client, upstream } = await rig(answers(429, '{"error":{"message":"rate limited"}}', { 'content-type': 'application/json', 'retry-after': '120' }));
    const done = await turn(client);
    expect(done).toMatchObject({ status: 'failed', text: '', error: { code: 'GW_UPSTREAM_RATE_LIMITED', retryable: true } });
    expect(upstream.requests).toHaveLength(1);
  });

  it('fails a persistent 500 with an HTML body as GW_UPSTREAM_UNAVAILABLE after the retries, without HTML in the message', async () => {
    const html = '<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head><body><h1>Oops</h1><script>x()</script></body></html>';
    const { client, upstream } = await rig(answers(500, html, { 'content-type': 'text/html' }), { UPSTREAM_MAX_RETRIES: '2' });
    const done = await turn(client);
    expect(done).toMatchObject({ status: 'failed', text: '', error: { code: 'GW_UPSTREAM_UNAVAILABLE', retryable: true } });
    expect(done.error?.message).toContain('500 Internal Server Error');
    expect(done.error?.message).not.toMatch(/[<>]/);
    expect(upstream.requests).toHaveLength(3);
  });

  it('fails three 503s with GW_UPSTREAM_UNAVAILABLE (retryable) after maxRetries=2, i.e. 3 requests', async () => {
    const { client, upstream } = await rig(answers(503, '{"error":{"message":"overloaded"}}'), { UPSTREAM_MAX_RETRIES: '2' });
    const done = await turn(client);
    expect(done).toMatchObject({ status: 'failed', text: '', error: { code: 'GW_UPSTREAM_UNAVAILABLE', retryable: true } });
    expect(upstream.requests).toHaveLength(3);
  });

  it('recovers when 503 is followed by a 500 HTML page and then a good stream (3 requests)', async () => {
    const script = sequence(answers(503, ''), answers(500, '<html><body>Bad gateway</body></html>', { 'content-type': 'text/html' }), good);
    const { client, upstream } = await rig(script, { UPSTREAM_MAX_RETRIES: '2' });
    expect(await turn(client)).toMatchObject({ status: 'completed', text: GOOD_REPLY });
    expect(upstream.requests).toHaveLength(3);
  });

  /** An upstream that echoes the Authorization header (and the bare key) back in its error body. */
  const echoes = (status: number, shape: 'error' | 'message' | 'html' | 'text'): Script => (req, res) => {
    const auth = String(req.headers.authorization);
    const bare = auth.replace(/^Bearer /, '');
    const body = {
      error: json({ error: { message: `invalid credentials: ${auth} (key ${bare})` } }),
      message: json({ message: `failed to authenticate user with ${bare}; header was "${auth}"` }),
      html: `<html><head><title>Denied ${bare}</title></head><body>${auth}</body></html>`,
      text: `key=${bare} authorization: ${auth} raw${bare}raw`,
    }[shape];
    res.writeHead(status, { 'content-type': shape === 'html' ? 'text/html' : shape === 'text' ? 'text/plain' : 'application/json' }).end(body);
  };

  it.each([
    { status: 400, shape: 'error' as const },
    { status: 401, shape: 'message' as const },
    { status: 403, shape: 'text' as const },
    { status: 422, shape: 'error' as const },
    { status: 429, shape: 'message' as const },
    { status: 500, shape: 'html' as const },
    { status: 503, shape: 'text' as const },
  ])('never puts the API key into response.done when a $status $shape body echoes it', async ({ status, shape }) => {
    const { client, upstream } = await rig(echoes(status, shape));
    const done = await turn(client);
    expect(done.status).toBe('failed');
    expect(done.error?.code).toMatch(/^GW_UPSTREAM_/);
    // The upstream really did receive (and echo) the key.
    expect(upstream.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`);
    const wire = JSON.stringify(client.events);
    expect(wire).not.toContain(KEY);
    expect(wire).not.toContain('a'.repeat(16));
  });
});

// ---- Tool-call chunks ----------------------------------------------------------------------------------------

describe('tool-call chunks', () => {
  /** OpenAI delta.tool_calls fragments keyed by index, sent call after call or with call 0's tail after call 1. */
  const toolCallStream = (order: 'sequential' | 'interleaved'): string => {
    const open0 = gen2Chunk({ tool_calls: [{ index: 0, id: 'call_calc', type: 'function', function: { name: 'calculate', arguments: '' } }] });
    const head0 = gen2Chunk({ tool_calls: [{ index: 0, function: { arguments: '{"expression":' } }] });
    const tail0 = gen2Chunk({ tool_calls: [{ index: 0, function: { arguments: ' "6 * 7"}' } }] });
    const call1 = gen2Chunk({ tool_calls: [{ index: 1, id: 'call_time', type: 'function', function: { name: 'get_current_time', arguments: '{}' } }] });
    return plainStream([
      gen2Chunk({ role: 'assistant', content: '', reasoning_content: null }),
      gen2Chunk({ content: 'Let me work that out. ' }),
      ...(order === 'sequential' ? [open0, head0, tail0, call1] : [open0, head0, call1, tail0]),
      gen2Chunk({ content: null }, 'tool_calls'),
      { id: GEN2_ID, object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 } },
    ]);
  };
  const followUp = streams(plainStream(gen2Reply(['It is 42.'])));

  it.each(['sequential', 'interleaved'] as const)(
    'survives %s tool_calls fragments with finish_reason "tool_calls": one done, no crash, each call with its whole arguments',
    async (order) => {
      const { client, upstream } = await rig(sequence(streams(toolCallStream(order)), followUp));
      const done = await turn(client, 'What is six times seven?');
      expect(['completed', 'failed']).toContain(done.status);
      if (done.status === 'failed') expect(done.error?.code).toMatch(/^GW_/);
      expect(done.error?.code).not.toBe('GW_INTERNAL');
      expect(done.text.startsWith('Let me work that out. ')).toBe(true);
      // Whatever the gateway does with tool calls, a call it reports must carry the arguments assembled by index.
      const calc = client.events.flatMap((e) => (e.type === 'response.tool_call' && e.callId === 'call_calc' ? [e] : []));
      for (const call of calc) expect(call.arguments.replace(/\s/g, '')).toBe('{"expression":"6*7"}');
      // And if it ran the tool, the follow-up request carries the result, not an argument error.
      const toolMessage = upstream.requests
        .flatMap((r) => (r.body?.messages ?? []) as { role: string; tool_call_id?: string; content: string }[])
        .find((m) => m.role === 'tool' && m.tool_call_id === 'call_calc');
      if (toolMessage) expect(toolMessage.content).toContain('42');
    },
  );

  it('survives ASI finish_reason "tool_calls" with no tool_calls array at all (a real ASI quirk)', async () => {
    const chunks = [gen2Chunk({ role: 'assistant', content: 'I would call a tool here.' }), gen2Chunk({ content: '' }, 'tool_calls')];
    const { client } = await rig(streams(plainStream(chunks)));
    const done = await turn(client);
    expect(['completed', 'failed']).toContain(done.status);
    expect(done.error?.code).not.toBe('GW_INTERNAL');
    expect(done.text).toBe('I would call a tool here.');
  });
});

// ---- What the gateway sends upstream -------------------------------------------------------------------------

describe('the request the gateway sends', () => {
  it('carries the bearer key, one x-session-id per session, JSON content-type, stream:true, the model and a system message first', async () => {
    const { client, upstream, gateway } = await rig(good);
    await turn(client, 'One');
    await turn(client, 'Two');
    const other = await VoiceClient.connect(gateway.voiceUrl);
    clients.push(other);
    await turn(other, 'Three');
    expect(upstream.requests).toHaveLength(3);
    for (const req of upstream.requests) {
      expect(req.method).toBe('POST');
      expect(req.url).toBe('/v1/chat/completions');
      expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
      expect(req.headers['content-type']).toMatch(/^application\/json\b/);
      expect(req.headers['x-session-id']).toMatch(/\S/);
      expect(req.body).toMatchObject({ stream: true, model: 'asi1-mini' });
      const messages = req.body?.messages as { role: string; content: string }[];
      expect(messages[0]).toEqual({ role: 'system', content: gateway.config.systemPrompt });
      expect(messages.at(-1)?.role).toBe('user');
    }
    const [r1, r2, r3] = upstream.requests;
    expect(r1?.headers['x-session-id']).toBe(r2?.headers['x-session-id']);
    expect(r3?.headers['x-session-id']).not.toBe(r1?.headers['x-session-id']);
    expect((r2?.body?.messages as unknown[]).slice(1)).toEqual([
      { role: 'user', content: 'One' },
      { role: 'assistant', content: GOOD_REPLY },
      { role: 'user', content: 'Two' },
    ]);
  });

  it('sends no authorization header when no key is configured', async () => {
    upstream = await startAwkwardUpstream(good);
    gateway = await startGatewayFor(upstream.baseUrl, { env: {} });
    const client = await VoiceClient.connect(gateway.voiceUrl);
    clients.push(client);
    expect(await turn(client)).toMatchObject({ status: 'completed', text: GOOD_REPLY });
    expect(upstream.requests[0]?.headers.authorization).toBeUndefined();
    expect(upstream.requests[0]?.headers['x-session-id']).toMatch(/\S/);
  });
});
