// The link to the gateway across sockets: the first handshake, reconnects with backoff after a drop, the
// session.resume handshake on each new socket, seq tracking (replayed events are delivered once) and the
// outgoing queue that holds frames while no session is attached. Knows nothing of turns or replies.
import { delayFor } from './backoff.js';
import { VoiceGatewayError } from './errors.js';
import { Heartbeat } from './heartbeat.js';
import {
  CLOSE_DEAD_LINK,
  isFinalClose,
  OPEN,
  openSocket,
  parseFrame,
  timers,
  type SocketEvent,
  type WebSocketLike,
} from './socket.js';
import * as linkErrors from './link-errors.js';
import { seqOf, sessionBound } from './link-errors.js';
import { checkVersion } from './version.js';
import type { ConnectionState, LinkOptions, LinkOwner, OutgoingEvent } from './link-types.js';
import type { ServerEvent, SessionReady } from './wire.js';

type Phase =
  | { name: 'handshake' }
  | { name: 'open' }
  | { name: 'waiting'; timer: unknown }
  | { name: 'resuming'; eventId: string | null; fresh: SessionReady | null }
  | { name: 'closed' };

export class Link {
  private socket: WebSocketLike | null = null;
  private phase: Phase = { name: 'handshake' };
  private session: { id: string; resumeToken: string | undefined } | null = null;
  private lastSeq = 0;
  private attempt = 0;
  private resumes = 0;
  private queue: OutgoingEvent[] = [];
  /** While the owner restores a session (resumed/reset callbacks), its frames jump the queue. */
  private restoring = false;
  private readonly heartbeat: Heartbeat;
  private handshake: { resolve: (ready: SessionReady) => void; reject: (error: VoiceGatewayError) => void } | null =
    null;
  private closing: { socket: WebSocketLike; done: () => void } | null = null;

  constructor(
    private readonly options: LinkOptions,
    private readonly owner: LinkOwner,
  ) {
    const ping = (): void => {
      if (this.phase.name === 'open') this.write({ type: 'ping' });
    };
    this.heartbeat = new Heartbeat(options.pingIntervalMs, ping, () => this.abandon(CLOSE_DEAD_LINK));
  }

  get state(): ConnectionState {
    const { name } = this.phase;
    return name === 'handshake'
      ? 'connecting'
      : name === 'open'
        ? 'open'
        : name === 'closed'
          ? 'closed'
          : 'reconnecting';
  }

  /** Opens the first socket; resolves with its session.ready, rejects when it closes before one. */
  start(): Promise<SessionReady> {
    return new Promise<SessionReady>((resolve, reject) => {
      this.handshake = { resolve, reject };
      this.owner.state('connecting', {});
      this.open();
    });
  }

  /** Sends now when a session is attached, else queues (in order) until one is. */
  send(event: OutgoingEvent): void {
    if (this.phase.name === 'closed') return;
    if (this.phase.name === 'open' && (this.queue.length === 0 || this.restoring)) this.write(event);
    else this.queue.push(event);
  }

  /** Whether `event` is still waiting in the queue (never written to any socket). */
  isQueued(event: OutgoingEvent): boolean {
    return this.queue.includes(event);
  }

  /** Skips the backoff wait (e.g. the browser came back online). */
  reconnectNow(): void {
    if (this.phase.name !== 'waiting') return;
    timers.clearTimeout(this.phase.timer);
    this.attempt = 0;
    this.open();
  }

  /** Closes the socket (1000) and the link for good; resolves once the socket reports closed. */
  close(): Promise<void> {
    if (this.phase.name === 'closed') return Promise.resolve();
    const socket = this.socket;
    this.finish(null);
    if (socket === null) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.closing = { socket, done: resolve };
      socket.close(1000, 'client closed');
    });
  }

  private open(): void {
    let socket: WebSocketLike;
    try {
      socket = openSocket(this.options.WebSocket, this.options.url, this.options.token, this.options.tokenVia);
    } catch (err) {
      const error = linkErrors.openFailed(this.options.url, err);
      return this.phase.name === 'handshake' ? this.finish(error) : this.lost(undefined);
    }
    this.socket = socket;
    if (this.phase.name !== 'handshake') this.phase = { name: 'resuming', eventId: null, fresh: null };
    socket.addEventListener('open', () => socket === this.socket && this.heartbeat.start());
    socket.addEventListener('message', (event) => socket === this.socket && this.onFrame(event));
    socket.addEventListener('close', (event) => this.onClose(socket, event));
    socket.addEventListener('error', () => undefined); // a close event follows
  }

  private onClose(socket: WebSocketLike, event: SocketEvent): void {
    if (this.closing?.socket === socket) this.closing.done();
    if (socket === this.socket) this.lost(event.code);
  }

  private onFrame(message: SocketEvent): void {
    this.heartbeat.heard();
    const event = parseFrame(message.data);
    if (event === null) return;
    const { phase } = this;
    if (phase.name === 'handshake') return this.onFirstFrame(event);
    if (phase.name === 'resuming' && this.onResumeFrame(phase, event)) return;
    if (typeof event.seq === 'number') {
      if (event.seq <= this.lastSeq) return; // replayed twice: already delivered
      this.lastSeq = event.seq;
    }
    this.owner.event(event);
  }

  private onFirstFrame(event: ServerEvent): void {
    if (event.type !== 'session.ready') return;
    const refusal = checkVersion(event);
    if (refusal !== null) return this.finish(refusal);
    this.adopt(event);
    this.phase = { name: 'open' };
    this.owner.event(event);
    this.flush();
    this.owner.state('open', {});
    this.handshake?.resolve(event);
    this.handshake = null;
  }

  /** Handles the frames of the resume handshake; false for anything else (a replayed or new session event). */
  private onResumeFrame(phase: Extract<Phase, { name: 'resuming' }>, event: ServerEvent): boolean {
    if (event.type === 'session.ready') {
      const refusal = checkVersion(event);
      if (refusal !== null) {
        this.finish(refusal);
        return true;
      }
      phase.fresh = event;
      if (this.session?.resumeToken === undefined) {
        this.restore(() => this.reset(event, linkErrors.noResume()));
        return true;
      }
      phase.eventId = `resume-${++this.resumes}`;
      this.write({
        type: 'session.resume',
        sessionId: this.session.id,
        resumeToken: this.session.resumeToken,
        lastSeq: this.lastSeq,
        eventId: phase.eventId,
      });
      return true;
    }
    if (
      event.type === 'error' &&
      event.eventId !== undefined &&
      event.eventId === phase.eventId &&
      phase.fresh !== null
    ) {
      const fresh = phase.fresh;
      const reason = VoiceGatewayError.fromServer(event);
      this.restore(() => this.reset(fresh, reason, seqOf(event)));
      return true;
    }
    if (event.type === 'session.resumed' && event.eventId === phase.eventId) {
      this.lastSeq = Math.max(this.lastSeq, seqOf(event));
      this.owner.event(event);
      this.restore(() => this.owner.resumed(event));
      return true;
    }
    return false;
  }

  /** A session is attached again: the owner restores its state first, then the queue goes out in order. */
  private restore(callback: () => void): void {
    this.phase = { name: 'open' };
    this.attempt = 0;
    this.restoring = true;
    try {
      callback();
    } finally {
      this.restoring = false;
    }
    this.flush();
    if (this.phase.name === 'open') this.owner.state('open', {});
  }

  private flush(): void {
    const queued = this.queue;
    this.queue = [];
    for (const event of queued) this.send(event);
  }

  /** Ours is gone: `fresh` (this socket's own session) takes its place; `seenSeq` is the refusal's seq in it. */
  private reset(fresh: SessionReady, reason: VoiceGatewayError, seenSeq = 0): void {
    this.adopt(fresh);
    this.lastSeq = Math.max(this.lastSeq, seenSeq);
    this.queue = this.queue.filter((event) => !sessionBound(event));
    this.owner.event(fresh);
    this.owner.reset(fresh, reason);
  }

  private adopt(ready: SessionReady): void {
    this.session = { id: ready.sessionId, resumeToken: ready.resumeToken };
    this.lastSeq = seqOf(ready);
  }

  /** The socket went away (or never opened): reconnect after a backoff, unless that cannot help. */
  private lost(closeCode: number | undefined): void {
    this.heartbeat.stop();
    this.socket = null;
    const detail = closeCode === undefined ? {} : { closeCode };
    if (this.phase.name === 'handshake') {
      return this.finish(linkErrors.closedBeforeReady(this.options.url, closeCode));
    }
    if (this.phase.name === 'open') this.owner.dropped();
    const { backoff } = this.options;
    if (closeCode !== undefined && isFinalClose(closeCode)) {
      return this.finish(linkErrors.finalClose(closeCode));
    }
    if (backoff === null || this.attempt >= backoff.maxAttempts) {
      return this.finish(linkErrors.reconnectsFailed(this.attempt, closeCode));
    }
    const retryInMs = delayFor(backoff, this.attempt);
    this.attempt += 1;
    this.phase = { name: 'waiting', timer: timers.setTimeout(() => this.open(), retryInMs) };
    this.owner.state('reconnecting', { attempt: this.attempt, retryInMs, ...detail });
  }

  /** Drops a socket that stopped answering without waiting for its close handshake, then reconnects. */
  private abandon(code: number): void {
    const socket = this.socket;
    if (socket === null) return;
    this.socket = null;
    socket.close(code, 'no answer to pings');
    this.lost(code);
  }

  private write(event: OutgoingEvent): void {
    if (this.socket?.readyState === OPEN) this.socket.send(JSON.stringify(event));
  }

  /** Closes the link for good. */
  private finish(error: VoiceGatewayError | null): void {
    if (this.phase.name === 'closed') return;
    if (this.phase.name === 'waiting') timers.clearTimeout(this.phase.timer);
    this.phase = { name: 'closed' };
    this.heartbeat.stop();
    const socket = this.socket;
    this.socket = null;
    if (error !== null && socket !== null && socket.readyState === OPEN) socket.close(1000, 'client gave up');
    this.queue = [];
    this.handshake?.reject(error ?? linkErrors.closedBeforeReadyByClient());
    this.handshake = null;
    this.owner.state('closed', error === null ? {} : { error });
    this.owner.closed(error);
  }
}
