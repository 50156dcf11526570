// A scriptable stand-in for ASI:One on a raw node:http server (127.0.0.1, port 0), for tests that need wire
// behaviour the project's simulator does not produce: odd SSE framing, bytes in tiny pieces, odd chunk shapes,
// error statuses, resets. Deliberately independent of src/ (it must not share the gateway's assumptions).
import http, { type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request as the upstream saw it. `n` counts from 0 per server. */
export interface UpstreamRequest {
  n: number;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** The parsed JSON body, or undefined when it was not JSON. */
  body: Record<string, unknown> | undefined;
}

/** Plays one response. It may be async (awaiting gates or slow writes); a throw destroys the socket. */
export type Script = (req: UpstreamRequest, res: ServerResponse) => void | Promise<void>;

export interface AwkwardUpstream {
  /** http://127.0.0.1:PORT/v1 */
  baseUrl: string;
  readonly requests: UpstreamRequest[];
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1:0 that answers POST /v1/chat/completions with `script`, anything else with 404. */
export async function startAwkwardUpstream(script: Script): Promise<AwkwardUpstream> {
  const requests: UpstreamRequest[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
        return;
      }
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> | undefined;
      try {
        body = JSON.parse(rawBody) as Record<string, unknown>;
      } catch {
        body = undefined;
      }
      const recorded: UpstreamRequest = {
        n: requests.length,
        method: req.method,
        url: req.url,
        headers: req.headers,
        rawBody,
        body,
      };
      requests.push(recorded);
      Promise.resolve()
        .then(() => script(recorded, res))
        .catch((err: unknown) => res.destroy(err as Error));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        // Held-open streams and keep-alive sockets would make close() wait forever.
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The nth request is played by the nth script; the last script plays every request after that. */
export function sequence(...scripts: Script[]): Script {
  return (req, res) => {
    const script = scripts[Math.min(req.n, scripts.length - 1)];
    if (!script) throw new Error('sequence() needs at least one script');
    return script(req, res);
  };
}

/** A one-shot barrier a script awaits and the test opens once it has seen what it waits for. */
export class Gate {
  private release: () => void = () => undefined;
  readonly opened: Promise<void> = new Promise<void>((resolve) => (this.release = resolve));
  open(): void {
    this.release();
  }
}

/** Writes one piece and resolves once it was flushed and the event loop has turned (so the reader sees it alone). */
export function writePiece(res: ServerResponse, piece: Buffer | string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    res.write(piece, (err) => (err ? reject(err) : setImmediate(resolve)));
  });
}

/** Writes `data` in pieces whose byte sizes cycle through `sizes` (e.g. [1] = byte by byte). */
export async function writeInPieces(
  res: ServerResponse,
  data: Buffer | string,
  sizes: readonly number[],
): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let offset = 0;
  for (let i = 0; offset < bytes.length; i += 1) {
    const size = Math.max(1, sizes[i % sizes.length] ?? 1);
    await writePiece(res, bytes.subarray(offset, offset + size));
    offset += size;
  }
}

export const SSE_TYPE = 'text/event-stream';

/** Sends the status line and headers of a 200 event stream now (before any body byte). */
export function startStream(
  res: ServerResponse,
  contentType: string | null = SSE_TYPE,
  extra: http.OutgoingHttpHeaders = {},
): void {
  res.writeHead(200, {
    ...(contentType === null ? {} : { 'content-type': contentType }),
    'cache-control': 'no-cache',
    ...extra,
  });
  res.flushHeaders();
}

/** One `data: <json>` event with LF endings: the plain OpenAI framing. */
export function dataEvent(payload: unknown): string {
  return `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`;
}

export const DONE_EVENT = 'data: [DONE]\n\n';

/** A whole plain stream (LF, `data: ` with a space, one blank line between events) ending in [DONE]. */
export function plainStream(chunks: readonly unknown[], done = true): string {
  return chunks.map(dataEvent).join('') + (done ? DONE_EVENT : '');
}

// ---- Chunk builders (ASI:One gen-1 and gen-2 stream chunks) --------------------------------------------------

export const GEN2_ID = '083bd6ca857843c0911edf83799ca6c8';
export const GEN1_ID = 'id_comqjiusZjAoyuXlh';

/** A gen-2 (SGLang) chat.completion.chunk with one choice. */
export function gen2Chunk(
  delta: Record<string, unknown>,
  finishReason: string | null = null,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    id: GEN2_ID,
    object: 'chat.completion.chunk',
    created: 1768409272,
    model: 'asi1-mini',
    choices: [
      {
        index: 0,
        delta,
        logprobs: null,
        finish_reason: finishReason,
        matched_stop: finishReason === 'stop' ? 151336 : null,
      },
    ],
    ...extra,
  };
}

/** A gen-2 reply: role chunk, one chunk per text piece, a finish chunk, a `choices: []` usage chunk. */
export function gen2Reply(
  pieces: readonly string[],
  usage = { prompt_tokens: 2105, completion_tokens: 7, total_tokens: 2112 },
): Record<string, unknown>[] {
  return [
    gen2Chunk({ role: 'assistant', content: '', reasoning_content: null }),
    ...pieces.map((content) => gen2Chunk({ content, reasoning_content: null })),
    gen2Chunk({ content: '', reasoning_content: null }, 'stop'),
    { id: GEN2_ID, object: 'chat.completion.chunk', created: 1768409272, model: 'asi1-mini', choices: [], usage },
  ];
}

/** The exact shape of the official gen-1 capture, with the given thought fragments and content pieces. */
export function gen1Capture(thoughts: readonly string[], pieces: readonly string[]): Record<string, unknown>[] {
  const base = { id: GEN1_ID, model: 'asi1-mini' };
  const finish = (withUsage: boolean) => ({
    ...base,
    created: 1740580080150,
    conversation_id: null,
    tool_thought: [],
    choices: [{ index: 0, finish_reason: 'stop', delta: { role: 'assistant', content: '' }, stop_reason: 'stop' }],
    ...(withUsage ? { usage: { prompt_tokens: 435, completion_tokens: 391, total_tokens: 826 } } : {}),
  });
  return [
    {
      ...base,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null, stop_reason: null }],
      executable_data: [],
      usage: null,
    },
    { ...base, choices: [{ role: 'assistant', delta: { role: 'assistant', content: '' } }], init_thought: true },
    ...thoughts.map((thought, i) =>
      i === thoughts.length - 1
        ? { ...base, choices: [{ delta: { role: 'assistant', content: '' } }], thought }
        : { ...base, choices: [{ role: 'assistant', delta: { role: 'assistant', content: '' } }], thought },
    ),
    ...pieces.map((content, i) => ({
      ...base,
      created: 1740580071837 + i * 107,
      conversation_id: null,
      tool_thought: [],
      choices: [{ index: 0, finish_reason: null, delta: { content }, stop_reason: null }],
    })),
    finish(false),
    finish(true),
  ];
}
