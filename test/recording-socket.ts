// A WebSocket client base for tests: records every JSON event the server sends, in order, and lets a test wait on
// them (never on sleeps). VoiceClient (protocol v1) and RealtimeTestClient (Realtime) build on it.
import type WebSocket from 'ws';

export class RecordingSocket<E extends { type: string }> {
  readonly events: E[] = [];
  private waiters: { predicate: (event: E) => boolean; from: number; resolve: (e: E) => void }[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  protected constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const event = JSON.parse(String(data)) as E;
      this.events.push(event);
      const index = this.events.length - 1;
      this.waiters = this.waiters.filter((w) => {
        if (index >= w.from && w.predicate(event)) {
          w.resolve(event);
          return false;
        }
        return true;
      });
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
    );
  }

  /** Resolves once the socket is open; rejects on a refused upgrade. */
  protected static opened(socket: WebSocket): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
  }

  send(event: unknown): void {
    this.socket.send(typeof event === 'string' ? event : JSON.stringify(event));
  }

  /** Resolves with the first event (at or after index `from`, default: any so far) matching `predicate`. */
  waitFor(predicate: (event: E) => boolean, from = 0): Promise<E> {
    const found = this.events.slice(from).find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ predicate, from, resolve }));
  }
}
