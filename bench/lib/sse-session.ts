// One load-generator session calling an OpenAI-compatible POST /chat/completions with stream:true over
// node:http keep-alive (the simulator directly, or a proxy such as Portkey): the same loop and the same
// growing history as a gateway session, so both paths ask the simulator for the same work.

import { request, type Agent, type ClientRequest } from 'node:http';
import { epochNow } from './clock.js';
import type { WorkerConfig } from './messages.js';
import type { SessionHooks } from './recorder.js';
import { turnText } from './workload.js';

interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

interface Chunk {
  choices?: { delta?: { content?: string | null } }[];
}

export class SseSession {
  readonly sessionId: string;
  #history: ChatMessage[] = [];
  #turn = 0;
  #sentAt = 0;
  #awaitingFirst = false;
  #chunks = 0;
  #text = '';
  #buffer = '';
  #cancelThis = false;
  #lastStamp = 0;
  #request: ClientRequest | null = null;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly index: number,
    private readonly config: WorkerConfig,
    private readonly hooks: SessionHooks,
    private readonly agent: Agent,
  ) {
    this.sessionId = `${config.sessionIdPrefix}-${index}`;
  }

  /** Nothing to open: HTTP connections are pooled by the agent. */
  connect(): Promise<boolean> {
    return Promise.resolve(true);
  }

  start(delayMs: number): void {
    this.#timer = setTimeout(() => this.#sendTurn(), Math.max(0, delayMs));
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#request?.destroy();
  }

  #sendTurn(): void {
    if (this.#stopped) return;
    this.#turn += 1;
    const { config } = this;
    // Staggered by session, so a quarter of the turns in any window are barge-ins, not every 4th round.
    this.#cancelThis = config.cancelEvery > 0 && (this.#turn + this.index) % config.cancelEvery === 0;
    this.#chunks = 0;
    this.#text = '';
    this.#buffer = '';
    this.#awaitingFirst = true;
    const user: ChatMessage = { role: 'user', content: turnText(this.index, this.#turn) };
    this.#history.push(user);
    const body = JSON.stringify({
      model: config.model,
      messages: [{ role: 'system', content: config.systemPrompt }, ...this.#history],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: config.maxTokens,
    });
    const req = request(config.url, {
      method: 'POST',
      agent: this.agent,
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: 'Bearer bench',
        'x-session-id': this.sessionId,
        ...config.headers,
      },
    });
    this.#request = req;
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        this.hooks.recorder.error(`http:${res.statusCode ?? 0}`);
        res.resume();
        res.on('end', () => this.#finish(req, 'failed'));
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (text: string) => this.#onData(req, text));
      res.on('end', () => this.#finish(req, 'completed'));
      res.on('error', () => this.#finish(req, 'failed'));
    });
    req.on('error', (err) => {
      if (this.#request !== req || this.#stopped) return;
      this.hooks.recorder.error(`http:${err.message}`);
      this.#finish(req, 'failed');
    });
    this.#sentAt = epochNow();
    req.end(body);
    this.hooks.recorder.turnSent(this.#sentAt);
  }

  #onData(req: ClientRequest, text: string): void {
    if (this.#request !== req) return;
    const receivedAt = epochNow();
    this.#buffer += text;
    for (let end = this.#buffer.indexOf('\n\n'); end >= 0; end = this.#buffer.indexOf('\n\n')) {
      const event = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        if (data === '[DONE]') continue;
        const content = (JSON.parse(data) as Chunk).choices?.[0]?.delta?.content;
        if (typeof content !== 'string' || content === '') continue;
        this.#onContent(req, content, receivedAt);
        if (this.#request !== req) return;
      }
    }
  }

  #onContent(req: ClientRequest, content: string, receivedAt: number): void {
    const recorder = this.hooks.recorder;
    if (this.#awaitingFirst) {
      this.#awaitingFirst = false;
      recorder.firstContent(this.#sentAt, receivedAt);
    }
    const { count, last } = recorder.stamps(content, receivedAt, this.#lastStamp);
    this.#lastStamp = last;
    this.#chunks += count;
    this.#text += content;
    if (this.#cancelThis && this.#chunks >= this.config.cancelAfterChunks) {
      // Barge-in on a plain HTTP stream: close the connection; the upstream must see it close.
      const sentAt = epochNow();
      req.destroy();
      recorder.cancelSent(this.sessionId, sentAt);
      this.#finish(req, 'interrupted');
    }
  }

  #finish(req: ClientRequest, status: 'completed' | 'interrupted' | 'failed'): void {
    if (this.#request !== req) return;
    this.#request = null;
    this.hooks.recorder.outcome(status);
    if (this.#text !== '') {
      const content = status === 'completed' ? this.#text : `${this.#text} [interrupted by the user]`;
      this.#history.push({ role: 'assistant', content });
    }
    if (this.config.maxTurns > 0 && this.#turn >= this.config.maxTurns) {
      this.hooks.finished();
      return;
    }
    if (!this.#stopped) this.#timer = setTimeout(() => this.#sendTurn(), this.config.thinkMs);
  }
}
