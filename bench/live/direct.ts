// The direct path of the live bench: POST /chat/completions with stream:true straight to the API over undici,
// the body the gateway would send for the same prompt, read with the gateway's own SSE decoder and chunk
// reader so that "first token" means the same on both paths (the first non-empty reply text, think tags
// dropped). Before each turn it touches its connection as the gateway's warmer does (GET /models), so neither
// path pays a handshake a warm gateway would not.

import { Agent, buildConnector, request } from 'undici';
import { createChunkReader } from '../../src/upstream/chunk-reader.js';
import { createSseDecoder } from '../../src/upstream/sse-decoder.js';
import type { ChatEvent } from '../../src/upstream/types.js';
import { emptyRecord, shortMessage, sleep, type TurnRecord } from './turn.js';

export interface DirectOptions {
  /** The API's base URL, …/v1. */
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
  /** Quiet time between the connection touch and the request. */
  settleMs: number;
}

export class DirectClient {
  readonly #agent: Agent;
  readonly #base: string;
  #connects = 0;
  #touches = 0;

  constructor(private readonly options: DirectOptions) {
    this.#base = options.baseUrl.replace(/\/+$/, '');
    // HTTP/2 where the API offers it over TLS, as the gateway's UPSTREAM_HTTP=auto; a counted connector.
    const allowH2 = this.#base.startsWith('https:');
    const connector = buildConnector({ allowH2 });
    this.#agent = new Agent({
      allowH2,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 60_000,
      connect: (opts, callback) => {
        this.#connects += 1;
        return connector(opts, callback);
      },
    });
  }

  /** GET /models requests sent to keep the connection warm (they cost no tokens). */
  get touches(): number {
    return this.#touches;
  }

  /** One measured turn: touch the connection, wait `settleMs`, then stream the chat request. */
  async turn(body: Record<string, unknown>, sessionId: string, pair: number, prompt: string): Promise<TurnRecord> {
    await this.#touch();
    await sleep(this.options.settleMs);
    const record = emptyRecord('direct', prompt, pair);
    const connectsBefore = this.#connects;
    const sentAt = performance.now();
    try {
      const response = await request(`${this.#base}/chat/completions`, {
        method: 'POST',
        dispatcher: this.#agent,
        headers: {
          authorization: `Bearer ${this.options.apiKey}`,
          'content-type': 'application/json',
          accept: 'text/event-stream',
          'x-session-id': sessionId,
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      record.headersMs = performance.now() - sentAt;
      record.newConnection = this.#connects > connectsBefore;
      if (response.statusCode !== 200) {
        record.status = `http:${response.statusCode}`;
        record.error = shortMessage(await response.body.text());
        return record;
      }
      let text = '';
      await readStream(response.body, (event, at) => {
        if (event.type === 'text') {
          record.firstTokenMs ??= at - sentAt;
          text += event.text;
        } else if (event.type === 'usage') record.usage = event.usage;
        else if (event.type === 'tool_call' && event.name !== undefined) record.note = `tool call ${event.name}`;
      });
      record.totalMs = performance.now() - sentAt;
      record.replyChars = text.length;
      record.status = 'completed';
    } catch (err) {
      record.status = err instanceof Error && err.name === 'TimeoutError' ? 'timeout' : 'error';
      record.error = shortMessage(err);
    }
    return record;
  }

  close(): Promise<void> {
    return this.#agent.close();
  }

  /** Any answer, even a 404, means the connection is open (and its idle clock restarted). Never throws. */
  async #touch(): Promise<void> {
    this.#touches += 1;
    try {
      const response = await request(`${this.#base}/models`, {
        dispatcher: this.#agent,
        headers: { authorization: `Bearer ${this.options.apiKey}` },
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await response.body.dump();
    } catch {
      // the turn opens its own connection, and says so
    }
  }
}

/** Feeds an SSE body through the gateway's decoder and chunk reader; `onEvent` gets each event and when it arrived. */
async function readStream(body: AsyncIterable<Buffer>, onEvent: (event: ChatEvent, at: number) => void): Promise<void> {
  const reader = createChunkReader();
  const decoder = createSseDecoder({
    onData: (data) => {
      const at = performance.now();
      let chunk: unknown;
      try {
        chunk = JSON.parse(data);
      } catch {
        return;
      }
      for (const event of reader.read(chunk)) onEvent(event, at);
    },
    onDone: () => {},
  });
  for await (const bytes of body) decoder.push(bytes);
  decoder.end();
  const at = performance.now();
  for (const event of reader.end()) onEvent(event, at);
}
