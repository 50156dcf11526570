// The per-connection send path: stamps `seq`, serialises and writes each server event the moment it is
// produced, and applies backpressure when the client reads slowly (coalesce deltas above a soft limit, close
// above a hard one), so a slow reader cannot grow server memory without bound.
import type { WebSocket } from 'ws';
import type { ServerEvent, ServerEventBody } from '../protocol.js';

export interface OutboxOptions {
  /** Above this many buffered bytes, events wait in the outbox and consecutive deltas are merged. */
  softLimitBytes: number;
  /** Above this many buffered + queued bytes, `onOverflow` is called once (the connection must be closed). */
  hardLimitBytes: number;
  onOverflow: () => void;
  /** Every event as written (after coalescing), for observers such as a replay buffer. */
  onWrite?: (event: ServerEvent) => void;
}

/** Rough serialised size of an event not yet serialised: text plus JSON framing. */
function estimateBytes(body: ServerEventBody): number {
  return 'text' in body && typeof body.text === 'string' ? body.text.length * 3 + 96 : 256;
}

export class Outbox {
  private seq = 0;
  private readonly queue: ServerEventBody[] = [];
  private queuedBytes = 0;
  private waiting = false;
  private overflowed = false;
  private pollTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: WebSocket,
    private readonly options: OutboxOptions,
  ) {}

  /** The seq of the last event written. */
  get lastSeq(): number {
    return this.seq;
  }

  /** Bytes waiting in ws and in this outbox. */
  get pendingBytes(): number {
    return this.socket.bufferedAmount + this.queuedBytes;
  }

  send(body: ServerEventBody): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    // The fast path: nothing queued and the socket keeps up, so the event goes out in this same tick.
    if (this.queue.length === 0 && this.socket.bufferedAmount <= this.options.softLimitBytes) {
      this.write(body);
      return;
    }
    this.enqueue(body);
    if (!this.overflowed && this.pendingBytes > this.options.hardLimitBytes) {
      this.overflowed = true;
      this.options.onOverflow();
      return;
    }
    this.waitForDrain();
  }

  /** Writes everything still queued, whatever the buffer says: used right before closing. */
  flushAll(): void {
    clearTimeout(this.pollTimer);
    while (this.queue.length > 0) this.write(this.dequeue());
  }

  dispose(): void {
    clearTimeout(this.pollTimer);
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private enqueue(body: ServerEventBody): void {
    const last = this.queue.at(-1);
    // Merging deltas keeps the text identical (their concatenation) while the client catches up.
    if (body.type === 'response.delta' && last?.type === 'response.delta' && last.responseId === body.responseId) {
      last.text += body.text;
      this.queuedBytes += body.text.length * 3;
      return;
    }
    this.queue.push({ ...body });
    this.queuedBytes += estimateBytes(body);
  }

  private dequeue(): ServerEventBody {
    const body = this.queue.shift() as ServerEventBody;
    this.queuedBytes = Math.max(0, this.queuedBytes - estimateBytes(body));
    return body;
  }

  private write(body: ServerEventBody): void {
    this.seq += 1;
    const event = { ...body, seq: this.seq } as ServerEvent;
    this.socket.send(JSON.stringify(event));
    this.options.onWrite?.(event);
  }

  private waitForDrain(): void {
    if (this.waiting) return;
    this.waiting = true;
    // ws exposes no drain event; poll the buffered amount. Only slow readers ever take this path.
    const poll = () => {
      this.pollTimer = undefined;
      if (this.socket.readyState !== this.socket.OPEN) return;
      while (this.queue.length > 0 && this.socket.bufferedAmount <= this.options.softLimitBytes) this.write(this.dequeue());
      if (this.queue.length > 0) this.pollTimer = setTimeout(poll, 10);
      else this.waiting = false;
    };
    this.pollTimer = setTimeout(poll, 10);
  }
}
