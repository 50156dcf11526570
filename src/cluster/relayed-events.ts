// What a resuming client is relayed of its session's numbered events: each once, in seq order, never past a gap
// (an event beyond one waits for the owner's rewrite to fill it); and the recent events, which become the
// restored log's replay buffer.
import type { LoggedEvent } from '../hosting/event-log.js';
import type { RelayTarget } from '../hosting/scale-out-port.js';

/** Events kept for the restored log's replay buffer (and at most held back waiting for a gap to fill). */
export const RECENT_EVENTS = 2_000;

export class RelayedEvents {
  private forwarded: number;
  private relayedAny = false;
  private recentEvents: LoggedEvent[] = [];
  /** Events relayed out of order, waiting for the gap before them to fill (see pass). */
  private readonly held = new Map<number, LoggedEvent>();

  /** `onDeliver` runs for each event just before it is sent to the client. */
  constructor(
    lastSeq: number,
    private readonly target: RelayTarget,
    private readonly onDeliver: (event: LoggedEvent) => void,
  ) {
    this.forwarded = lastSeq;
  }

  /** The last seq the client has. */
  get forwardedSeq(): number {
    return this.forwarded;
  }

  /** Whether events of the session reached the client already. */
  get relayed(): boolean {
    return this.relayedAny;
  }

  /** The session's recent events, in seq order. */
  get recent(): LoggedEvent[] {
    return this.recentEvents;
  }

  /** Relays events the client has not seen, in seq order, once each. */
  pass(events: readonly LoggedEvent[]): void {
    for (const event of events) {
      if (event.seq <= this.forwarded) {
        this.remember(event);
        continue;
      }
      // Never skip an event: one beyond a gap (a write that failed while later ones landed) waits until the
      // owner's rewrite fills the gap. Only a stream that starts after the client's position may jump (it was
      // trimmed: the client missed those events for good).
      if ((this.relayedAny || this.recentEvents.length > 0) && event.seq > this.forwarded + 1) {
        if (this.held.size < RECENT_EVENTS) this.held.set(event.seq, event);
        continue;
      }
      this.deliver(event);
      for (let next = this.held.get(this.forwarded + 1); next !== undefined; next = this.held.get(this.forwarded + 1)) {
        this.held.delete(next.seq);
        this.deliver(next);
      }
    }
    if (this.recentEvents.length > RECENT_EVENTS * 2) this.recentEvents = this.recentEvents.slice(-RECENT_EVENTS);
  }

  /** Relays held events whose gap never filled, in order; true when there were any (the client missed some). */
  flushHeld(): boolean {
    if (this.held.size === 0) return false;
    const rest = [...this.held.values()].sort((x, y) => x.seq - y.seq);
    this.held.clear();
    for (const event of rest) if (event.seq > this.forwarded) this.deliver(event);
    return true;
  }

  /** A take-over reads the whole stream again: what waited for a gap is replayed from it instead. */
  dropHeld(): void {
    this.held.clear();
  }

  /** The recent events are these now (the whole stream, in seq order, as a take-over read it). */
  keepRecent(events: readonly LoggedEvent[]): void {
    this.recentEvents = events.slice(-RECENT_EVENTS);
  }

  private deliver(event: LoggedEvent): void {
    this.remember(event);
    this.forwarded = event.seq;
    this.onDeliver(event);
    this.relayedAny = true;
    this.target.write(event);
  }

  /** `recent` must be ordered (it becomes the restored log's replay buffer, which keeps its gap-free tail). */
  private remember(event: LoggedEvent): void {
    if (event.seq > (this.recentEvents.at(-1)?.seq ?? 0)) this.recentEvents.push(event);
  }
}
