// The session's replies: each turn's Reply until its response.created (matched by turnId), then by responseId
// until response.done; the turns the server committed itself, and the finals it absorbed into them. Knows which
// turns may have been lost with a dropped socket, to send them again.
import { VoiceGatewayError } from './errors.js';
import type { ReplyStream } from './reply.js';
import type { ServerEvent, TurnAbsorbed, TurnEventFrame } from './wire.js';

interface Awaiting {
  reply: ReplyStream;
  frame: TurnEventFrame;
  /** Send order, shared with settings updates, so frames sent again keep their order. */
  order: number;
  /** Written to a socket that then dropped, and not answered in the replay: send again. */
  lost: boolean;
}

/** Server-committed replies kept for a final the gateway may still absorb (it keeps only the latest commit open). */
const COMMITTED_KEPT = 8;

export class ReplyBook {
  private readonly awaiting = new Map<string, Awaiting>();
  /** Turns the server committed (turn.committed), until their response.created, which follows at once. */
  private readonly committing = new Map<string, ReplyStream>();
  private readonly streaming = new Map<string, ReplyStream>();
  /** The latest server-committed replies by responseId, streaming or done: what a turn.absorbed points at. */
  private readonly committed = new Map<string, ReplyStream>();

  add(reply: ReplyStream, frame: TurnEventFrame, order: number): void {
    this.awaiting.set(reply.turnId, { reply, frame, order, lost: false });
  }

  /** turn.committed: `reply` answers the turn the server committed itself; its response.created comes next. */
  addCommitted(reply: ReplyStream): void {
    this.committing.set(reply.turnId, reply);
  }

  /** The reply a response belongs to, while it streams. */
  forResponse(responseId: string): ReplyStream | undefined {
    return this.streaming.get(responseId);
  }

  /** Routes a response event; true when it was one. An `error` whose eventId is a turn fails that reply. */
  handle(event: ServerEvent): boolean {
    switch (event.type) {
      case 'response.created':
        this.bind(event.responseId, event.turnId);
        return true;
      case 'turn.absorbed':
        this.absorb(event);
        return true;
      case 'response.delta':
      case 'response.speech':
      case 'response.tool_call':
      case 'response.done':
        this.streaming.get(event.responseId)?.handle(event);
        if (event.type === 'response.done') this.streaming.delete(event.responseId);
        return true;
      case 'error': {
        const entry = event.eventId === undefined ? undefined : this.awaiting.get(event.eventId);
        if (entry === undefined) return false;
        this.awaiting.delete(entry.reply.turnId);
        entry.reply.fail(VoiceGatewayError.fromServer(event));
        return true;
      }
      default:
        return false;
    }
  }

  /** The socket dropped: turns already written may not have reached the gateway. */
  markLost(isQueued: (frame: TurnEventFrame) => boolean): void {
    for (const entry of this.awaiting.values()) entry.lost = !isQueued(entry.frame);
  }

  /** Turns to send again (written, then lost, and still unanswered), cleared of their lost mark. */
  takeLost(): { frame: TurnEventFrame; order: number }[] {
    const lost = [...this.awaiting.values()].filter((entry) => entry.lost);
    for (const entry of lost) entry.lost = false;
    return lost;
  }

  /** The session was replaced: replies that had begun cannot finish. Turns not yet answered are kept. */
  failStarted(error: VoiceGatewayError): void {
    for (const reply of [...this.streaming.values(), ...this.committing.values()]) reply.fail(error);
    this.streaming.clear();
    this.committing.clear();
    this.committed.clear();
  }

  failAll(error: VoiceGatewayError): void {
    this.failStarted(error);
    for (const { reply } of this.awaiting.values()) reply.fail(error);
    this.awaiting.clear();
  }

  /**
   * response.created: the reply of a turn the server just committed (turn.committed came right before it), else
   * the client's turn with that turnId (a final sent with the interim's turnId waits for its turn.absorbed).
   */
  private bind(responseId: string, turnId: string): void {
    let reply = this.committing.get(turnId);
    if (reply !== undefined) {
      this.committing.delete(turnId);
      this.committed.set(responseId, reply);
      for (const old of this.committed.keys()) if (this.committed.size > COMMITTED_KEPT) this.committed.delete(old);
    } else {
      reply = this.awaiting.get(turnId)?.reply;
      if (reply === undefined) return; // not ours (a turn of a session we left)
      this.awaiting.delete(turnId);
    }
    reply.bind(responseId);
    this.streaming.set(responseId, reply);
  }

  /** turn.absorbed: the final's Reply repeats the committed reply; it fails when there is none to repeat. */
  private absorb(event: TurnAbsorbed): void {
    const entry = event.turnId === undefined ? undefined : this.awaiting.get(event.turnId);
    if (entry === undefined) return;
    this.awaiting.delete(entry.reply.turnId);
    const committed = event.responseId === null ? undefined : this.committed.get(event.responseId);
    if (committed !== undefined) return entry.reply.follow(committed);
    entry.reply.fail(absorbedWithoutReply(entry.reply.turnId, event));
  }
}

function absorbedWithoutReply(turnId: string, event: TurnAbsorbed): VoiceGatewayError {
  const why =
    event.responseId === null
      ? 'whose reply could not start'
      : `answered by response ${event.responseId}, which this client did not see`;
  const message = `The gateway absorbed turn ${turnId} into the turn it had committed itself (${event.committedTurnId}), ${why}.`;
  return new VoiceGatewayError('CLIENT_TURN_ABSORBED', message, {
    eventId: turnId,
    ...(event.responseId === null ? {} : { responseId: event.responseId }),
  });
}
