// One voice session on the gateway's native endpoint (/v1/voice): opens its WebSocket, waits for session.ready,
// then sends turns one at a time, each timed from the client's side from the moment its `turn` is sent to the
// first response.delta, and waited for until its response.done (or an error). A barge-in turn is cancelled at its
// first delta, as a user who talks over the reply.

import WebSocket from 'ws';
import type { ServerEvent } from '../../src/protocol.js';

export interface TurnTiming {
  /** Sent `turn` → first response.delta, ms; null when no delta came. */
  firstDeltaMs: number | null;
  /** response.done's status, or `error` / `timeout`. */
  status: string;
  /** The error event's code, when one ended the turn. */
  error?: string;
}

interface Pending {
  sentAt: number;
  firstDeltaAt: number | null;
  responseId: string | null;
  bargeIn: boolean;
  settle: (timing: TurnTiming) => void;
}

export class VoiceSession {
  private pending: Pending | null = null;
  private closed = false;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => this.onEvent(JSON.parse(data.toString()) as ServerEvent, performance.now()));
    socket.on('close', () => {
      this.closed = true;
      this.finish({ firstDeltaMs: null, status: 'error', error: 'socket closed' });
    });
  }

  /** Opens a session; resolves once session.ready arrived. */
  static open(url: string, timeoutMs = 15_000): Promise<VoiceSession> {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`no session.ready within ${timeoutMs} ms`)), timeoutMs);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        socket.terminate();
        reject(err);
      };
      socket.once('error', fail);
      socket.on('message', function ready(data: Buffer) {
        const event = JSON.parse(data.toString()) as ServerEvent;
        if (event.type !== 'session.ready') return;
        clearTimeout(timer);
        socket.off('message', ready);
        socket.off('error', fail);
        socket.on('error', () => {}); // 'close' follows and ends any turn in progress
        resolve(new VoiceSession(socket));
      });
    });
  }

  /**
   * Sends one turn and resolves with its timing once its reply is done (or failed, or timed out). With `bargeIn`
   * the reply is cancelled at its first delta (over HTTP/1.1 the gateway then closes that upstream connection).
   */
  turn(text: string, { bargeIn = false, timeoutMs = 20_000 } = {}): Promise<TurnTiming> {
    if (this.pending !== null) throw new Error('one turn at a time');
    if (this.closed) return Promise.resolve({ firstDeltaMs: null, status: 'error', error: 'socket closed' });
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.finish({ firstDeltaMs: null, status: 'timeout' }), timeoutMs);
      this.pending = {
        sentAt: performance.now(),
        firstDeltaAt: null,
        responseId: null,
        bargeIn,
        settle: (timing) => {
          clearTimeout(timer);
          resolve(timing);
        },
      };
      this.socket.send(JSON.stringify({ type: 'turn', text }));
    });
  }

  close(): void {
    this.socket.close();
  }

  private onEvent(event: ServerEvent, at: number): void {
    const pending = this.pending;
    if (pending === null) return;
    if (event.type === 'response.created') pending.responseId ??= event.responseId;
    else if (event.type === 'response.delta' && event.responseId === pending.responseId) {
      if (pending.firstDeltaAt !== null) return;
      pending.firstDeltaAt = at;
      if (pending.bargeIn) this.socket.send(JSON.stringify({ type: 'response.cancel', responseId: event.responseId }));
    } else if (event.type === 'response.done' && event.responseId === pending.responseId)
      this.finish({ firstDeltaMs: this.firstDeltaMs(pending), status: event.status });
    else if (event.type === 'error')
      this.finish({ firstDeltaMs: this.firstDeltaMs(pending), status: 'error', error: event.code });
  }

  private firstDeltaMs(pending: Pending): number | null {
    return pending.firstDeltaAt === null ? null : pending.firstDeltaAt - pending.sentAt;
  }

  private finish(timing: TurnTiming): void {
    const pending = this.pending;
    if (pending === null) return;
    this.pending = null;
    pending.settle(timing);
  }
}
