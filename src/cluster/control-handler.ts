// Answers the control messages other instances send about sessions hosted here: hand-off requests (a request
// older than the connection attached here is checked first: it may come from a resume the client abandoned),
// and client frames (barge-ins, tool results) for a response still running here during a hand-off.
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { parseClientFrame } from '../hosting/client-frames.js';
import type { HostedSession, SessionRegistry } from '../hosting/session-registry.js';
import type { ControlMessage } from './control-channel.js';
import type { HandOff, HandOffRequest } from './hand-off.js';
import type { MirrorWriter } from './mirror-writer.js';

/** How long a hand-off request that predates the attached connection waits to see whether that one is dead. */
const STALE_REQUEST_WAIT_MS = 1_000;

type HandOffMessage = Extract<ControlMessage, { t: 'handoff' }>;
type FrameMessage = Extract<ControlMessage, { t: 'frame' }>;

export interface ControlHandlerOptions {
  registry: SessionRegistry;
  maxFrameBytes: number;
  logger: Logger;
}

export class ControlHandler {
  /** Sessions whose stale-request check is under way: repeated requests wait for its verdict. */
  private readonly deciding = new Set<string>();

  constructor(
    private readonly options: ControlHandlerOptions,
    private readonly writer: MirrorWriter,
    private readonly handOff: HandOff,
  ) {}

  handle(message: ControlMessage): void {
    if (message.t === 'handoff') this.onHandOff(message);
    else this.onFrame(message);
  }

  private onHandOff(message: HandOffMessage): void {
    const { sessionId, to } = message;
    const entry = this.options.registry.get(sessionId);
    if (entry === undefined) return this.handOff.releaseUnhosted(sessionId, to);
    // Requesters that send no request id are told apart by the instance they resume on.
    const request: HandOffRequest = { to, lastSeq: message.lastSeq, eventId: message.eventId, rid: message.rid ?? to };
    // Already moving to that instance, and the client resumed there again (its first relay was abandoned):
    // this resume gets its own answer, or its relay would wait for one forever.
    if (entry.handedTo === to && !this.handOff.hasAnswered(sessionId, request.rid))
      return this.handOff.announce(entry, request);
    // Already moving (a re-sent request; a competing request from another instance loses), or a stale-request
    // check for it is under way: nothing new to do.
    if (entry.handedTo !== null || this.deciding.has(sessionId)) return;
    const socket = entry.socket;
    if (message.epoch !== undefined && message.epoch !== entry.attachEpoch && socket !== null)
      return this.checkStale(entry, socket, request);
    this.handOff.start(entry, request);
  }

  /**
   * A connection attached here after the requester looked. If it is already dead (its close not yet seen), the
   * request stands; if it is still there after a moment, it is the newer one and the request is stale (from a
   * resume the client abandoned).
   */
  private checkStale(entry: HostedSession, socket: WebSocket, request: HandOffRequest): void {
    const sessionId = entry.session.id;
    this.deciding.add(sessionId);
    const decide = (stands: boolean) => {
      if (!this.deciding.delete(sessionId)) return;
      clearTimeout(timer);
      socket.off('close', onClose);
      if (stands) return this.handOff.start(entry, request);
      this.options.logger.info({ sessionId, to: request.to }, 'stale hand-off request refused');
      this.handOff.refuse(sessionId, request.rid);
    };
    const onClose = () => setImmediate(() => decide(true));
    const timer = setTimeout(() => decide(entry.socket === null), STALE_REQUEST_WAIT_MS);
    socket.once('close', onClose);
  }

  /** A frame for a session being handed off: its response still runs here. */
  private onFrame(message: FrameMessage): void {
    const entry = this.options.registry.get(message.sessionId);
    if (entry === undefined || entry.handedTo === null || this.writer.get(entry.session.id)?.isReleasing) return;
    const frame = parseClientFrame(Buffer.from(message.frame), false, this.options.maxFrameBytes);
    // Only what a running response needs (a barge-in, a tool result) is forwarded; connection events stay with the socket.
    if (frame.ok && frame.event.type !== 'session.resume' && frame.event.type !== 'session.end') {
      entry.session.handle(frame.event);
    }
  }
}
