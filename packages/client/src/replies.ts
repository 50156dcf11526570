// The session's replies: each turn's Reply until its response.created (matched by turnId), then by responseId
// until response.done. Knows which turns may have been lost with a dropped socket, to send them again.
import { VoiceGatewayError } from './errors.js';
import type { ReplyStream } from './reply.js';
import type { ServerEvent, TurnEventFrame } from './wire.js';

interface Awaiting {
  reply: ReplyStream;
  frame: TurnEventFrame;
  /** Send order, shared with settings updates, so frames sent again keep their order. */
  order: number;
  /** Written to a socket that then dropped, and not answered in the replay: send again. */
  lost: boolean;
}

export class ReplyBook {
  private readonly awaiting = new Map<string, Awaiting>();
  private readonly streaming = new Map<string, ReplyStream>();

  add(reply: ReplyStream, frame: TurnEventFrame, order: number): void {
    this.awaiting.set(reply.turnId, { reply, frame, order, lost: false });
  }

  /** The reply a response belongs to, while it streams. */
  forResponse(responseId: string): ReplyStream | undefined {
    return this.streaming.get(responseId);
  }

  /** Routes a response event; true when it was one. An `error` whose eventId is a turn fails that reply. */
  handle(event: ServerEvent): boolean {
    switch (event.type) {
      case 'response.created': {
        const entry = this.awaiting.get(event.turnId);
        if (entry === undefined) return true; // not ours (a turn of a session we left)
        this.awaiting.delete(event.turnId);
        entry.reply.bind(event.responseId);
        this.streaming.set(event.responseId, entry.reply);
        return true;
      }
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
    for (const reply of this.streaming.values()) reply.fail(error);
    this.streaming.clear();
  }

  failAll(error: VoiceGatewayError): void {
    this.failStarted(error);
    for (const { reply } of this.awaiting.values()) reply.fail(error);
    this.awaiting.clear();
  }
}
