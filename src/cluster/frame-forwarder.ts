// Client frames (barge-ins, tool results) for the response the old owner still runs during a relay: held until
// the owner has answered this resume (before that it would ignore them: as far as it knows the session is not
// moving), then sent to it over the control channel.
import type { ClientEvent, SessionResumeEvent } from '../protocol.js';
import type { LoggedEvent } from '../hosting/event-log.js';
import type { ControlChannel } from './control-channel.js';

/** Client frames held until the owner answers the hand-off request: barge-ins and tool results, never many. */
const MAX_FORWARD_QUEUE = 32;

export class FrameForwarder {
  /** The owner asked for the hand-off, once the request is out: only events after it can be its answer. */
  private owner: string | null = null;
  /** The owner's session.resumed for this resume was relayed. */
  private answered = false;
  private readonly queue: ClientEvent[] = [];

  constructor(
    private readonly control: ControlChannel,
    private readonly request: SessionResumeEvent,
  ) {}

  /** Whether the owner's answer to this resume (its session.resumed) reached the client. */
  get ownerAnswered(): boolean {
    return this.answered;
  }

  /** The hand-off request went out to `owner`. */
  requested(owner: string): void {
    this.owner = owner;
  }

  /** Another owner now: frames wait for its answer, not the old owner's. */
  ownerChanged(): void {
    this.owner = null;
    this.answered = false;
  }

  /** Sends a client frame to the owner once it has answered; holds it until then. */
  forward(event: ClientEvent): void {
    if (this.owner === null || !this.answered) {
      // Bounded: a client flooding frames meanwhile loses the excess (a repeated cancel changes nothing anyway).
      const last = this.queue.at(-1);
      if (
        this.queue.length < MAX_FORWARD_QUEUE &&
        !(event.type === 'response.cancel' && last?.type === 'response.cancel')
      )
        this.queue.push(event);
      return;
    }
    this.control
      .send(this.owner, { t: 'frame', sessionId: this.request.sessionId, frame: JSON.stringify(event) })
      .catch(() => undefined);
  }

  /** The frames still held (the owner never answered before it released the session). */
  takeHeld(): ClientEvent[] {
    return this.queue.splice(0);
  }

  /** An event is being relayed to the client: the owner's answer to this resume sends the held frames. */
  delivered(event: LoggedEvent): void {
    if (this.owner === null || this.answered || !this.answersUs(event)) return;
    this.answered = true;
    for (const held of this.queue.splice(0)) this.forward(held);
  }

  /** The owner's session.resumed for this resume (older ones, from resumes that never reached a client, differ). */
  private answersUs(event: LoggedEvent): boolean {
    if (!event.json.startsWith('{"type":"session.resumed"')) return false;
    try {
      const parsed = JSON.parse(event.json) as { resumedFrom?: unknown; eventId?: unknown };
      return parsed.resumedFrom === this.request.lastSeq && parsed.eventId === this.request.eventId;
    } catch {
      return false;
    }
  }
}
