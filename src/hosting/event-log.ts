// The numbered event stream of one session: stamps `seq` and keeps a bounded replay buffer of recent events
// (serialised once, kept as bytes off the JS heap: replay-bytes.ts), so a client that reconnects can be sent
// exactly what it missed. Outlives any one socket.
import type { ServerEventBody } from '../protocol.js';
import { ReplayBytes, seqTail, type LoggedEvent } from './replay-bytes.js';

export type { LoggedEvent } from './replay-bytes.js';

export class EventLog {
  private seq = 0;
  private readonly buffer = new ReplayBytes();
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
    const json = JSON.stringify(body);
    const seq = (this.seq += 1);
    let entry: LoggedEvent;
    if (this.maxEvents === 0) entry = { seq, json: withSeq(json, seq) };
    else {
      const bytes = this.buffer.pushNumbered(seq, json);
      // The string form only when something reads it now (the shared store); a socket takes the bytes.
      entry = this.onAppend === null ? new BufferedEvent(seq, bytes) : { seq, json: withSeq(json, seq), bytes };
      this.evict();
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
      const last = this.buffer.lastSeq;
      if (last !== undefined && entry.seq <= last) continue;
      // The buffer is a gap-free run (since() counts on it): a gap restarts it.
      if (last !== undefined && entry.seq !== last + 1) this.buffer.clear();
      this.buffer.push(entry.seq, entry.json);
    }
    // A run that stops short of lastSeq cannot answer since() truthfully: better to report missed events.
    if (this.buffer.lastSeq !== this.seq) this.buffer.clear();
    this.evict();
  }

  /** How many events the replay buffer holds (without decoding them). */
  get bufferedCount(): number {
    return this.buffer.size;
  }

  /** Everything still buffered (after a gap, the best a resumed client can get). */
  buffered(): LoggedEvent[] {
    return this.buffer.from(0);
  }

  /**
   * The events after `lastSeq`, or null when some of them are no longer buffered (the client then knows its
   * view has a gap). A `lastSeq` ahead of the log is treated as fully caught up.
   */
  since(lastSeq: number): LoggedEvent[] | null {
    if (lastSeq >= this.seq) return [];
    const first = this.buffer.firstSeq;
    if (first === undefined || first > lastSeq + 1) return null;
    return this.buffer.from(lastSeq + 1);
  }

  /** Oldest first, down to REPLAY_BUFFER_EVENTS and about maxBytes (the newest event stays, however large). */
  private evict(): void {
    const buffer = this.buffer;
    while (buffer.size > this.maxEvents || (buffer.bytes > this.maxBytes && buffer.size > 1)) buffer.shift();
  }
}

/**
 * `JSON.stringify({ ...body, seq })` without copying the body for every event (the hot path): a body is always
 * a non-empty object without its own `seq` (ServerEventBody), so `seq` goes in before the closing brace.
 */
function withSeq(json: string, seq: number): string {
  return json.slice(0, -1) + seqTail(seq);
}

/** An event as the replay buffer holds it: its string is decoded only if something asks for it (a test). */
class BufferedEvent implements LoggedEvent {
  constructor(
    readonly seq: number,
    readonly bytes: Buffer,
  ) {}

  get json(): string {
    return this.bytes.toString('utf8');
  }
}
