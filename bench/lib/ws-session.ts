// One load-generator session speaking protocol v1 to the gateway over `ws`: turn → read the whole reply →
// think → repeat, with every Nth turn cancelled mid-reply (response.cancel) to measure barge-in.

import WebSocket from 'ws';
import { epochNow } from './clock.js';
import type { WorkerConfig } from './messages.js';
import type { SessionHooks } from './recorder.js';
import { turnText } from './workload.js';

interface ServerEvent {
  type: string;
  sessionId?: string;
  responseId?: string;
  text?: string;
  status?: string;
  code?: string;
  error?: { code?: string };
}

export class WsSession {
  #ws: WebSocket | null = null;
  #sessionId = '';
  #turn = 0;
  #sentAt = 0;
  #awaitingFirst = false;
  #chunks = 0;
  #cancelThis = false;
  #cancelSent = false;
  #responseId: string | null = null;
  #lastStamp = 0;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly index: number,
    private readonly config: WorkerConfig,
    private readonly hooks: SessionHooks,
  ) {}

  /** Opens the socket; resolves true once session.ready arrived. */
  connect(): Promise<boolean> {
    return new Promise((resolve) => {
      const ws = new WebSocket(this.config.url, { perMessageDeflate: false });
      this.#ws = ws;
      let ready = false;
      ws.on('message', (data: Buffer) => {
        const receivedAt = epochNow();
        const event = JSON.parse(data.toString()) as ServerEvent;
        if (event.type === 'session.ready') {
          this.#sessionId = event.sessionId ?? '';
          ready = true;
          resolve(true);
          return;
        }
        this.#onEvent(event, receivedAt);
      });
      ws.on('error', (err) => {
        if (!ready) resolve(false);
        else if (!this.#stopped) this.hooks.recorder.error(`ws:${err.message}`);
      });
      ws.on('close', (code) => {
        if (!ready) resolve(false);
        else if (!this.#stopped) this.hooks.recorder.error(`ws-closed:${code}`);
      });
    });
  }

  start(delayMs: number): void {
    this.#timer = setTimeout(() => this.#sendTurn(), Math.max(0, delayMs));
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#ws?.terminate();
  }

  #sendTurn(): void {
    const ws = this.#ws;
    if (this.#stopped || ws === null || ws.readyState !== WebSocket.OPEN) return;
    this.#turn += 1;
    const { cancelEvery } = this.config;
    // Staggered by session, so a quarter of the turns in any window are barge-ins, not every 4th round.
    this.#cancelThis = cancelEvery > 0 && (this.#turn + this.index) % cancelEvery === 0;
    this.#cancelSent = false;
    this.#chunks = 0;
    this.#responseId = null;
    this.#awaitingFirst = true;
    const frame = JSON.stringify({ type: 'turn', text: turnText(this.index, this.#turn) });
    this.#sentAt = epochNow();
    ws.send(frame);
    this.hooks.recorder.turnSent(this.#sentAt);
  }

  #onEvent(event: ServerEvent, receivedAt: number): void {
    const recorder = this.hooks.recorder;
    switch (event.type) {
      case 'response.created':
        this.#responseId = event.responseId ?? null;
        return;
      case 'response.delta': {
        const text = event.text ?? '';
        if (this.#awaitingFirst) {
          this.#awaitingFirst = false;
          recorder.firstContent(this.#sentAt, receivedAt);
        }
        const { count, last } = recorder.stamps(text, receivedAt, this.#lastStamp);
        this.#lastStamp = last;
        this.#chunks += count;
        if (this.#cancelThis && !this.#cancelSent && this.#chunks >= this.config.cancelAfterChunks) this.#cancel();
        return;
      }
      case 'response.done':
        recorder.outcome(event.status ?? 'unknown');
        if (event.status === 'failed') recorder.error(`failed:${event.error?.code ?? 'unknown'}`);
        if (this.config.maxTurns > 0 && this.#turn >= this.config.maxTurns) {
          this.hooks.finished();
          return;
        }
        if (!this.#stopped) this.#timer = setTimeout(() => this.#sendTurn(), this.config.thinkMs);
        return;
      case 'error':
        recorder.error(event.code ?? 'error');
        return;
      default:
        return;
    }
  }

  #cancel(): void {
    const ws = this.#ws;
    if (ws === null || this.#responseId === null) return;
    this.#cancelSent = true;
    const frame = JSON.stringify({ type: 'response.cancel', responseId: this.#responseId });
    const sentAt = epochNow();
    ws.send(frame);
    this.hooks.recorder.cancelSent(this.#sessionId, sentAt);
  }
}
