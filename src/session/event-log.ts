// The numbered event stream of one session: stamps `seq` and keeps a bounded replay buffer of recent events
// (serialised once), so a client that reconnects can be sent exactly what it missed. Outlives any one socket.
import type { ServerEvent, ServerEventBody } from '../protocol.js';

export interface LoggedEvent {
  seq: number;
  json: string;
}

export class EventLog {
  private seq = 0;
  private readonly buffer: LoggedEvent[] = [];
  private bufferedBytes = 0;

  constructor(
    private readonly maxEvents: number,
    private readonly maxBytes: number,
  ) {}

  get lastSeq(): number {
    return this.seq;
  }

  /** Numbers and serialises an event, remembers it for replay, and returns it ready to write. */
  append(body: ServerEventBody): LoggedEvent {
    this.seq += 1;
    const entry = { seq: this.seq, json: JSON.stringify({ ...body, seq: this.seq } as ServerEvent) };
    if (this.maxEvents > 0) {
      this.buffer.push(entry);
      this.bufferedBytes += entry.json.length;
      while (this.buffer.length > this.maxEvents || (this.bufferedBytes > this.maxBytes && this.buffer.length > 1)) {
        this.bufferedBytes -= (this.buffer.shift() as LoggedEvent).json.length;
      }
    }
    return entry;
  }

  /** Everything still buffered (after a gap, the best a resumed client can get). */
  buffered(): LoggedEvent[] {
    return [...this.buffer];
  }

  /**
   * The events after `lastSeq`, or null when some of them are no longer buffered (the client then knows its
   * view has a gap). A `lastSeq` ahead of the log is treated as fully caught up.
   */
  since(lastSeq: number): LoggedEvent[] | null {
    if (lastSeq >= this.seq) return [];
    const first = this.buffer[0];
    if (first === undefined || first.seq > lastSeq + 1) return null;
    return this.buffer.slice(lastSeq + 1 - first.seq);
  }
}
