// What history keeps of native turns' replies: the heard part of each settled reply (marked when cut short, none
// when nothing was heard), and a completed reply rewritten later to what the client heard of it while speaking it.
// It does not start or interrupt responses, nor read client events: the session decides when to call it.
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import type { ResponseCancelEvent, ResponseStatus } from '../protocol.js';
import type { ConversationHistory } from './history.js';
import type { ResponseRun } from './response-run.js';
import type { SpokenReply } from './spoken-reply.js';

/** The last completed reply, kept so a client still speaking it can later say how much was heard. */
interface LastReply {
  reply: SpokenReply;
  /** How many history messages it committed, so they can be rewritten. */
  committedMessages: number;
  committedLength: number;
}

export class TurnReplies {
  private last: LastReply | null = null;

  constructor(
    private readonly history: ConversationHistory,
    /** Called after a committed reply was rewritten to its heard part (what a snapshot holds changed). */
    private readonly onRewrite: (reply: SpokenReply, heardLength: number) => void,
    private readonly log: Logger,
  ) {}

  /** Commits a settled reply to the current turn: what was heard, marked when cut short, or nothing at all. */
  commit(run: ResponseRun, status: ResponseStatus, heardLength: number): void {
    const messages = run.historyMessages(heardLength, status);
    for (const message of messages) this.history.addToCurrentTurn(message);
    if (status === 'completed' && heardLength > 0) {
      this.last = { reply: run.spoken(), committedMessages: messages.length, committedLength: heardLength };
    }
  }

  /** Another response started: the last reply is no longer the tail of history. */
  forget(): void {
    this.last = null;
  }

  /** True when `responseId` names the last completed reply, which the client may still be speaking. */
  isLast(responseId: string | undefined): boolean {
    return this.last !== null && responseId === this.last.reply.responseId;
  }

  /** Keeps only what was heard of the last completed reply, marked as interrupted; nothing when all of it was heard. */
  truncateLast(heardChars: number): void {
    const last = this.last;
    if (last === null) return;
    const heardLength = last.reply.heardLength(heardChars);
    if (heardLength >= last.committedLength) return;
    const messages = last.reply.historyMessages(heardLength, 'interrupted');
    this.history.replaceTail(last.committedMessages, messages);
    this.last = null;
    // In the reply's own trace, after its root ended: the user cut in while it was still being spoken.
    last.reply.trace?.heardCommit(heardChars, heardLength, last.committedLength);
    this.onRewrite(last.reply, heardLength);
    this.log.info(
      { responseId: last.reply.responseId, heardChars, heardLength, ...last.reply.trace?.logFields },
      'completed reply truncated to what was heard',
    );
  }
}

/**
 * A native `response.cancel`: interrupts the active response (the one named, or any), or truncates the last
 * completed reply the client was still speaking to what was heard. Throws GW_RESPONSE_MISMATCH or
 * GW_NO_ACTIVE_RESPONSE when it names neither.
 */
export function cancelReply(event: ResponseCancelEvent, active: ResponseRun | null, replies: TurnReplies): void {
  if (active !== null && (event.responseId === undefined || event.responseId === active.responseId)) {
    active.interrupt(event.heardChars);
    return;
  }
  // The reply finished streaming but the client was still speaking it: keep only what was heard.
  if (replies.isLast(event.responseId)) {
    if (event.heardChars !== undefined) replies.truncateLast(event.heardChars);
    return;
  }
  if (active !== null) {
    throw new GatewayError('GW_RESPONSE_MISMATCH', {
      message: `Response ${event.responseId ?? ''} is not active; ${active.responseId} is.`,
    });
  }
  throw new GatewayError('GW_NO_ACTIVE_RESPONSE');
}
