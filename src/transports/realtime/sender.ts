// The Realtime send path of one connection: stamps every server event with an `event_id`, renames it for the
// client's dialect, writes it at once, and gives up on a reader so slow that unsent data passes the hard limit.
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { toBeta, type Dialect, type RealtimeEvent } from './dialect.js';

export interface SenderOptions {
  dialect: () => Dialect;
  /** Above this many buffered bytes, `onOverflow` is called once (the connection must be closed). */
  hardLimitBytes: number;
  onOverflow: () => void;
}

export class RealtimeSender {
  private readonly prefix = randomBytes(4).toString('hex');
  private count = 0;
  private overflowed = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly options: SenderOptions,
  ) {}

  /** Sends one event (GA shape in); events the beta has no name for are skipped in the beta dialect. */
  send(event: RealtimeEvent): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    const shaped = this.options.dialect() === 'beta' ? toBeta(event) : event;
    if (shaped === null) return;
    this.count += 1;
    const { type, ...fields } = shaped;
    this.socket.send(JSON.stringify({ type, event_id: `event_${this.prefix}${this.count.toString(36)}`, ...fields }));
    if (!this.overflowed && this.socket.bufferedAmount > this.options.hardLimitBytes) {
      this.overflowed = true;
      this.options.onOverflow();
    }
  }
}
