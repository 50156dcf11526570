// The numbered event stream of one session: stamps `seq` and keeps a bounded replay buffer of recent events
// (serialised once), so a client that reconnects can be sent exactly what it missed. Outlives any one socket.
import type { ServerEventBody } from '../protocol.js';

export interface LoggedEvent {
  seq: number;
  json: string;
}

export class EventLog {
  private seq = 0;
  private readonly buffer: LoggedEvent[] = [];
  private bufferedBytes = 0;
  /** Sees every appended event (the shared store mirrors them for resume on another instance). Must not throw. */
  onAppend: ((entry: LoggedEvent) => void) | null = null;

  constructor(
    private readonly maxEvents: number,
    private readonly maxBytes: number,
  ) {}

  get lastSeq(): number {
    return this.seq;
  }

  /** Numbers and serialises an event, remembers it for replay, and returns it ready to write. */
  append(body: ServerEventBody): LoggedEvent {
    // Serialised before the number is taken: an event that cannot be serialised throws without leaving a gap.
    const json = withSeq(body, this.seq + 1);
    this.seq += 1;
    const entry = { seq: this.seq, json };
    if (this.maxEvents > 0) {
      this.buffer.push(entry);
      this.bufferedBytes += entry.json.length;
      while (this.buffer.length > this.maxEvents || (this.bufferedBytes > this.maxBytes && this.buffer.length > 1)) {
        this.bufferedBytes -= (this.buffer.shift() as LoggedEvent).json.length;
      }
    }
    if (this.onAppend !== null) this.onAppend(entry);
    return entry;
  }

  /** Continues a log that another instance wrote until `lastSeq`; `recent` are its last events, oldest first. */
  continueFrom(lastSeq: number, recent: readonly LoggedEvent[]): void {
    this.seq = Math.max(this.seq, lastSeq);
    if (this.maxEvents === 0) return;
    for (const entry of recent) {
      if (entry.seq > this.seq) continue;
      const last = this.buffer.at(-1);
      if (last !== undefined && entry.seq <= last.seq) continue;
      // since() slices by position: keep only a gap-free run (a gap restarts it).
      if (last !== undefined && entry.seq !== last.seq + 1) {
        this.buffer.length = 0;
        this.bufferedBytes = 0;
      }
      this.buffer.push(entry);
      this.bufferedBytes += entry.json.length;
    }
    // A run that stops short of lastSeq cannot answer since() truthfully: better to report missed events.
    if (this.buffer.at(-1)?.seq !== this.seq) {
      this.buffer.length = 0;
      this.bufferedBytes = 0;
    }
    while (this.buffer.length > this.maxEvents || (this.bufferedBytes > this.maxBytes && this.buffer.length > 1)) {
      this.bufferedBytes -= (this.buffer.shift() as LoggedEvent).json.length;
    }
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

/**
 * `JSON.stringify({ ...body, seq })` without copying the body for every event (the hot path): a body is always
 * a non-empty object without its own `seq` (ServerEventBody), so `seq` goes in before the closing brace.
 */
function withSeq(body: ServerEventBody, seq: number): string {
  const json = JSON.stringify(body);
  return `${json.slice(0, -1)},"seq":${seq}}`;
}
