// Bench-only "floor" relay (`--floor`): the least a WebSocket → SSE voice gateway must do per token, with the
// same tools as the real one (ws server, undici pool) and none of its features: no speech, no validation, no
// retries, no limits, no logging. It speaks just enough of protocol v1 for the load generator. Its CPU per
// delta and its latencies are the floor any Node gateway on this machine starts from.
// FLOOR_FEATURES (comma-separated) adds single features of the gateway, with the gateway's own modules and nothing
// around them, to price each one alone: `speech` (the speech segmenter, response.speech events), `replay` (events
// numbered and kept as bytes for resume, the gateway's EventLog).
// Usage: node --import tsx bench/floor-relay.ts --upstream http://127.0.0.1:PORT/v1 --port N

import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { WebSocketServer, type WebSocket } from 'ws';
import { EventLog } from '../src/hosting/event-log.js';
import type { ServerEventBody } from '../src/protocol.js';
import { SpeechSegmenter } from '../src/speech/segmenter.js';
import { readContents } from './lib/floor-sse.js';

const FEATURES = new Set((process.env.FLOOR_FEATURES ?? '').split(',').filter((name) => name !== ''));
for (const name of FEATURES)
  if (name !== 'speech' && name !== 'replay') throw new Error(`unknown floor feature ${name}`);
const TEXT_FRAME = { binary: false } as const;

const { values } = parseArgs({
  options: { upstream: { type: 'string' }, port: { type: 'string', default: '0' } },
  strict: true,
});
const upstream = new URL(`${values.upstream ?? 'http://127.0.0.1:9000/v1'}/chat/completions`);
const pool = new Pool(upstream.origin, { connections: null, pipelining: 1, keepAliveTimeout: 30_000 });

interface Message {
  role: string;
  content: string;
}

/** A session's event writer: plain JSON, or (FLOOR_FEATURES replay) numbered and kept by the gateway's EventLog. */
function eventWriter(socket: WebSocket): (event: object) => void {
  const log = FEATURES.has('replay') ? new EventLog(2_000, 1024 * 1024) : null;
  return (event) => {
    if (log === null) return socket.send(JSON.stringify(event));
    const logged = log.append(event as ServerEventBody);
    socket.send(logged.bytes ?? logged.json, TEXT_FRAME);
  };
}

/** A reply's speech segmenter (FLOOR_FEATURES speech), sending each segment as the gateway does; else null. */
function speechFor(responseId: string, send: (event: object) => void): SpeechSegmenter | null {
  if (!FEATURES.has('speech')) return null;
  return new SpeechSegmenter((segment) =>
    send({ type: 'response.speech', responseId, index: segment.index, text: segment.text }),
  );
}

function serve(socket: WebSocket): void {
  const sessionId = `floor_${randomUUID()}`;
  const history: Message[] = [];
  let counter = 0;
  let active: { id: string; abort: AbortController; text: string; speech: SpeechSegmenter | null } | null = null;
  const send = eventWriter(socket);
  const done = (status: string): void => {
    if (active === null) return;
    const { id, text, speech } = active;
    if (status === 'completed') speech?.finish();
    else speech?.cancel();
    active = null;
    if (text !== '') history.push({ role: 'assistant', content: text });
    send({ type: 'response.done', responseId: id, status, text });
  };

  const interrupt = (run: { abort: AbortController }): void => {
    done('interrupted');
    run.abort.abort();
  };

  /**
   * One upstream call through undici's dispatch() with a handler: body bytes arrive as Buffers in
   * onResponseData, with no Readable stream or async iterator in between (the cheapest undici API).
   */
  function turn(text: string): void {
    history.push({ role: 'user', content: text });
    const id = `resp_${++counter}`;
    const run = { id, abort: new AbortController(), text: '', speech: speechFor(id, send) };
    active = run;
    send({ type: 'response.created', responseId: run.id });
    const sse = { buffer: '' };
    let controller: { abort(reason: Error): void } | null = null;
    run.abort.signal.addEventListener('abort', () => controller?.abort(new Error('cancelled')), { once: true });
    pool.dispatch(
      {
        origin: upstream.origin,
        path: upstream.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer bench', 'x-session-id': sessionId },
        body: JSON.stringify({ model: 'asi1-mini', messages: history, stream: true, max_tokens: 400 }),
      },
      {
        onRequestStart(c) {
          controller = c;
          if (run.abort.signal.aborted) c.abort(new Error('cancelled'));
        },
        onResponseStart() {},
        onResponseData(_c, chunk: Buffer) {
          readContents(sse, chunk, (content) => {
            if (active !== run) return;
            run.text += content;
            send({ type: 'response.delta', responseId: run.id, text: content });
            run.speech?.push(content);
          });
        },
        onResponseEnd() {
          if (active === run) done('completed');
        },
        onResponseError() {
          if (active === run) done('failed');
        },
      },
    );
  }

  send({ type: 'session.ready', sessionId, protocol: 1 });
  socket.on('message', (data: Buffer) => {
    const event = JSON.parse(data.toString()) as { type: string; text?: string };
    if (event.type === 'turn') {
      if (active !== null) interrupt(active);
      turn(event.text ?? '');
    } else if (event.type === 'response.cancel' && active !== null) {
      interrupt(active);
    }
  });
  socket.on('close', () => active?.abort.abort());
  socket.on('error', () => {});
}

const server = new WebSocketServer({ host: '127.0.0.1', port: Number(values.port), perMessageDeflate: false });
server.on('connection', serve);
server.on('listening', () => {
  const address = server.address();
  process.stdout.write(
    `floor relay listening on ${typeof address === 'object' && address !== null ? address.port : String(address)}\n`,
  );
});
process.once('SIGTERM', () => {
  for (const client of server.clients) client.terminate();
  server.close(() => void pool.close().then(() => process.exit(0)));
});
