// Awkward but legal SSE framing from the upstream, end to end: WHATWG HTML §9.2 framing (no space after `data:`,
// multi-line data, event/id/retry fields, BOM, CR / CRLF endings, comments, blank lines) and bytes in 1–3 byte pieces.
import { describe, expect, it } from 'vitest';
import { DONE_EVENT, gen2Reply, plainStream, SSE_TYPE } from '../awkward-upstream-server.js';
import { answers, json, REPLY_TEXT, replyChunks, rig, streams, turn, useAwkwardRig } from './awkward-rig.js';

useAwkwardRig();

/** Splits a JSON text over two `data:` lines at a point where a joining `\n` is legal JSON whitespace. */
function splitJsonOverDataLines(payload: string, eol: string): string {
  const cut = payload.indexOf(',"choices"') + 1; // after a comma: "…,\n"choices"…" is valid JSON
  return `data: ${payload.slice(0, cut)}${eol}data: ${payload.slice(cut)}${eol}`;
}

const framings: { name: string; wire: () => string }[] = [
  {
    name: 'accepts `data:` with no space after the colon',
    wire: () =>
      replyChunks()
        .map((c) => `data:${json(c)}\n\n`)
        .join('') + 'data:[DONE]\n\n',
  },
  {
    name: 'joins multiple `data:` lines of one event with \\n (a JSON chunk split over two lines)',
    wire: () =>
      replyChunks()
        .map((c) => `${splitJsonOverDataLines(json(c), '\n')}\n`)
        .join('') + DONE_EVENT,
  },
  {
    name: 'treats a bare `data` line (no colon) as an empty data line of the same event',
    wire: () =>
      replyChunks()
        .map((c) => `data\ndata: ${json(c)}\n\n`)
        .join('') + DONE_EVENT,
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
    wire: () =>
      replyChunks()
        .map((c) => `id: 7\n\nevent: ping\n\ndata:\n\ndata: ${json(c)}\n\n`)
        .join('') + DONE_EVENT,
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
    wire: () =>
      replyChunks()
        .map((c, i) => `data: ${json(c)}${['\n\n', '\r\r', '\r\n\r\n', '\n\r\n', '\r\n\r'][i % 5]}`)
        .join('') + DONE_EVENT,
  },
  {
    name: 'skips `: keep-alive` comment lines before, between and inside events',
    wire: () =>
      ': keep-alive\n\n:\n' +
      replyChunks()
        .map((c) => `: keep-alive\ndata: ${json(c)}\n: ping inside the event\n\n: keep-alive\n\n`)
        .join('') +
      DONE_EVENT,
  },
  {
    name: 'tolerates blank lines galore between and before events',
    wire: () =>
      '\n\n\n' +
      replyChunks()
        .map((c) => `data: ${json(c)}\n\n\n\n\n`)
        .join('\n\n') +
      DONE_EVENT +
      '\n\n\n',
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
    const { client } = await rig(
      streams(plainStream(replyChunks()), { contentType: 'text/event-stream; charset=utf-8' }),
    );
    expect(await turn(client)).toMatchObject({ status: 'completed', text: REPLY_TEXT });
  });

  it('reads a media type in odd case with parameters (`Text/Event-Stream;charset=UTF-8`) as a stream', async () => {
    const { client } = await rig(
      streams(plainStream(replyChunks()), { contentType: 'Text/Event-Stream;charset=UTF-8' }),
    );
    expect(await turn(client)).toMatchObject({ status: 'completed', text: REPLY_TEXT });
  });

  it('reads an event stream sent without a content-type', async () => {
    const { client } = await rig(streams(`: hello\n\n${plainStream(replyChunks())}`, { contentType: null }));
    expect(await turn(client)).toMatchObject({ status: 'completed', text: REPLY_TEXT });
  });

  it('accepts a whole stream sent at once with Content-Length and Connection: close', async () => {
    const body = plainStream(replyChunks());
    const { client } = await rig(
      answers(200, body, {
        'content-type': SSE_TYPE,
        'content-length': String(Buffer.byteLength(body)),
        connection: 'close',
      }),
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
  const UNICODE = [
    'Héllo, ',
    'café ',
    'crème brûlée! ',
    '日本語の',
    'テキスト。',
    'A giraffe 🦒 ',
    'and a 👩‍👩‍👧 family. ',
    'Ünïcödé ok.',
  ];
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
    const wire =
      gen2Reply(UNICODE)
        .map((c) => `data: ${json(c)}\r\r`)
        .join('') + 'data: [DONE]\r\r';
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
