// A voice session as the application sees it: turns and their replies, settings, client tools, barge-in and
// connection events. Server events come in through the link (once each, in order, across reconnects).
import { Emitter } from './emitter.js';
import { VoiceGatewayError } from './errors.js';
import type { ConnectionState, LinkOwner, OutgoingEvent, StateDetail } from './link-types.js';
import type { Link } from './link.js';
import { ReplyBook } from './replies.js';
import { ReplyStream, type Reply } from './reply.js';
import { declareTools, runTool, type ClientTools } from './tools.js';
import { SettingsBook } from './updates.js';
import { announcedVersion } from './version.js';
import { traceOf } from './wire.js';
import type {
  ServerEvent,
  SessionReady,
  SessionResumed,
  SessionSettings,
  SettingsFields,
  ToolCall,
  TurnCommitted,
  TurnEventFrame,
  TurnOptions,
  UpdateEventFrame,
} from './wire.js';

/** A settings change; `tools` replaces the client tools (declared to the gateway, run here). */
export interface SessionUpdate extends SettingsFields {
  tools?: ClientTools;
}

/** A user turn the gateway ended itself (`turn.committed`). */
export interface CommittedTurn {
  /** The turnId of the interim it committed, or one the gateway made. */
  turnId: string;
  /** The words the reply answers. */
  text: string;
}

export interface SessionEvents {
  state: (state: ConnectionState, detail: StateDetail) => void;
  /** Every server event of the session, once, in order (replayed ones included). */
  event: (event: ServerEvent) => void;
  /** Errors no turn, update or cancel is waiting for, and the reason the session closed for good. */
  error: (error: VoiceGatewayError) => void;
  /** The session carried on after a reconnect; `missedEvents` when the gateway could not replay everything. */
  resumed: (info: { sessionId: string; replayed: number; missedEvents: boolean }) => void;
  /** The session could not be resumed: a new one replaced it (settings and tools are applied again). */
  reset: (info: { sessionId: string; previousSessionId: string; reason: VoiceGatewayError }) => void;
  /**
   * The gateway ended a user turn itself (`turnDetection.serverCommit`, on a stable interim): `reply` answers it,
   * exactly like the Reply of a turn(). A final turn() with the same words is then absorbed into it.
   */
  committed: (reply: Reply, turn: CommittedTurn) => void;
}

export interface VoiceSession {
  /** The current session's id (a reset changes it). */
  readonly id: string;
  readonly state: ConnectionState;
  /** The current session's session.ready. */
  readonly ready: SessionReady;
  /** The protocol version the gateway announced. */
  readonly protocol: { major: number; minor: number };
  /** The latest session.updated, or null before the first one. */
  readonly settings: SessionSettings | null;
  /**
   * Sends a user turn (a final transcript); an active reply is interrupted by the gateway first. When the gateway
   * had already committed these words itself, it absorbs the final: the Reply repeats the committed turn's reply
   * (`reply.absorbedInto`), or rejects with CLIENT_TURN_ABSORBED when that reply could not start.
   */
  turn(text: string, options?: TurnOptions): Reply;
  /** Changes settings; resolves with session.updated, rejects with the gateway's error. */
  update(update: SessionUpdate): Promise<SessionSettings>;
  /**
   * An interim transcript: the whole utterance so far (each replaces the last). The gateway may start the reply
   * early, or end the turn itself (see the `committed` event). Needs a gateway announcing protocol 1.2 or newer;
   * throws CLIENT_UNSUPPORTED otherwise.
   */
  interim(text: string, options?: TurnOptions): void;
  /** While reconnecting: skip the backoff wait. */
  reconnectNow(): void;
  /** Closes the connection; replies still streaming reject with CLIENT_CLOSED. */
  close(): Promise<void>;
  on<K extends keyof SessionEvents>(type: K, listener: SessionEvents[K]): () => void;
}

/** Errors a barge-in may legitimately get (the reply ended first); nobody needs to hear about them. */
const QUIET_CANCEL_ERRORS: ReadonlySet<string> = new Set(['GW_NO_ACTIVE_RESPONSE', 'GW_RESPONSE_MISMATCH']);

export class Session implements VoiceSession {
  ready!: SessionReady;
  private readonly link: Link;
  private readonly emitter = new Emitter<SessionEvents>();
  private readonly replies = new ReplyBook();
  private readonly updates = new SettingsBook();
  private readonly quietIds = new Set<string>();
  private readonly toolRuns = new Set<AbortController>();
  private readonly idPrefix = Math.random().toString(36).slice(2, 8);
  private counter = 0;
  private closedWith: VoiceGatewayError | null = null;

  /** `makeLink` builds the link with this session's handlers as its owner. */
  constructor(makeLink: (owner: LinkOwner) => Link) {
    this.link = makeLink({
      event: (event) => this.onEvent(event),
      state: (state, detail) => this.emitter.emit('state', state, detail),
      dropped: () => this.onDropped(),
      resumed: (event) => this.onResumed(event),
      reset: (ready, reason) => this.onReset(ready, reason),
      closed: (error) => this.onClosed(error),
    });
  }

  /** Opens the first socket; resolves once the session is ready. */
  async start(): Promise<void> {
    await this.link.start();
  }

  get id(): string {
    return this.ready.sessionId;
  }

  get state(): ConnectionState {
    return this.link.state;
  }

  get protocol(): { major: number; minor: number } {
    return announcedVersion(this.ready);
  }

  get settings(): SessionSettings | null {
    return this.updates.current;
  }

  on<K extends keyof SessionEvents>(type: K, listener: SessionEvents[K]): () => void {
    return this.emitter.on(type, listener);
  }

  turn(text: string, options: TurnOptions = {}): Reply {
    this.assertOpen();
    const turnId = options.turnId ?? this.nextId('turn');
    const reply = this.newReply(turnId);
    const frame: TurnEventFrame = { type: 'turn', text, turnId, eventId: turnId, ...traceOf(options) };
    this.replies.add(reply, frame, ++this.counter);
    this.link.send(frame);
    return reply;
  }

  update(update: SessionUpdate): Promise<SessionSettings> {
    if (this.closedWith !== null) return Promise.reject(this.closedWith);
    const { tools, ...fields } = update;
    const frame: UpdateEventFrame = {
      type: 'session.update',
      eventId: this.nextId('update'),
      ...fields,
      ...(tools === undefined ? {} : { tools: declareTools(tools) }),
    };
    const settled = this.updates.add(frame, fields, tools, ++this.counter);
    this.link.send(frame);
    return settled;
  }

  interim(text: string, options: TurnOptions = {}): void {
    this.assertOpen();
    const { major, minor } = this.protocol;
    if (minor < 2) {
      throw new VoiceGatewayError(
        'CLIENT_UNSUPPORTED',
        `session.interim() needs protocol ${major}.2 or newer; this gateway speaks ${major}.${minor}. Send the final transcript with session.turn().`,
      );
    }
    const turnId = options.turnId === undefined ? {} : { turnId: options.turnId };
    this.link.send({ type: 'turn.interim', text, ...turnId, ...traceOf(options) });
  }

  reconnectNow(): void {
    this.link.reconnectNow();
  }

  close(): Promise<void> {
    return this.link.close();
  }

  // What the link reports (see LinkOwner).

  private onEvent(event: ServerEvent): void {
    // The first session.ready; a later one (a reset) is adopted by onReset, which still knows the old id.
    if (event.type === 'session.ready') this.ready ??= event;
    this.emitter.emit('event', event);
    if (event.type === 'response.tool_call' && event.runsOn === 'client') this.runClientTool(event);
    if (event.type === 'turn.committed') return this.onCommitted(event);
    if (this.replies.handle(event) || this.updates.handle(event)) return;
    if (event.type !== 'error') return;
    if (event.eventId !== undefined && this.quietIds.delete(event.eventId) && QUIET_CANCEL_ERRORS.has(event.code))
      return;
    this.emitter.emit('error', VoiceGatewayError.fromServer(event));
  }

  /** The gateway ended a user turn itself: its Reply, bound by the response.created that follows, goes to the app. */
  private onCommitted(event: TurnCommitted): void {
    const reply = this.newReply(event.turnId);
    this.replies.addCommitted(reply);
    this.emitter.emit('committed', reply, { turnId: event.turnId, text: event.text });
  }

  private onDropped(): void {
    const isQueued = (frame: OutgoingEvent): boolean => this.link.isQueued(frame);
    this.replies.markLost(isQueued);
    this.updates.markLost(isQueued);
  }

  private onResumed(event: SessionResumed): void {
    this.sendLost();
    this.emitter.emit('resumed', {
      sessionId: event.sessionId,
      replayed: event.replayed,
      missedEvents: event.missedEvents,
    });
  }

  private onReset(ready: SessionReady, reason: VoiceGatewayError): void {
    const previousSessionId = this.ready.sessionId;
    this.ready = ready;
    for (const run of this.toolRuns) run.abort();
    this.quietIds.clear();
    const lost = new VoiceGatewayError(
      'CLIENT_SESSION_LOST',
      `The session could not be resumed (${reason.message}); the reply in progress was lost.`,
      { retryable: true, cause: reason },
    );
    this.replies.failStarted(lost);
    const restore = this.updates.restoreFrame(this.nextId('restore'), (error) => this.emitter.emit('error', error));
    if (restore !== null) this.link.send(restore);
    this.sendLost();
    this.emitter.emit('reset', { sessionId: ready.sessionId, previousSessionId, reason });
  }

  private onClosed(error: VoiceGatewayError | null): void {
    const reason = error ?? new VoiceGatewayError('CLIENT_CLOSED', 'The session was closed.');
    this.closedWith = reason;
    for (const run of this.toolRuns) run.abort();
    this.replies.failAll(reason);
    this.updates.failAll(reason);
    if (error !== null) this.emitter.emit('error', error);
  }

  /** Turns and updates written to a socket that dropped, and never answered: sent again, in their order. */
  private sendLost(): void {
    const lost = [...this.updates.takeLost(), ...this.replies.takeLost()].sort((a, b) => a.order - b.order);
    for (const { frame } of lost) this.link.send(frame);
  }

  private sendCancel(responseId: string | null, heardChars: number | undefined): void {
    if (this.closedWith !== null) return;
    const eventId = this.nextId('cancel');
    this.quietIds.add(eventId);
    // Most cancels get no error at all; keep only the recent ids.
    if (this.quietIds.size > 64) this.quietIds.delete(this.quietIds.values().next().value ?? '');
    this.link.send({
      type: 'response.cancel',
      eventId,
      ...(responseId === null ? {} : { responseId }),
      ...(heardChars === undefined ? {} : { heardChars }),
    });
  }

  /** Runs a client tool and answers with tool.result, unless its reply ended or the session changed first. */
  private runClientTool(call: ToolCall): void {
    const run = new AbortController();
    this.toolRuns.add(run);
    const stop = (): void => run.abort();
    this.replies.forResponse(call.responseId)?.done.then(stop, stop);
    void runTool(this.updates.toolSet, call, run.signal).then((output) => {
      this.toolRuns.delete(run);
      if (run.signal.aborted || this.closedWith !== null) return;
      this.link.send({ type: 'tool.result', eventId: this.nextId('tool'), callId: call.callId, output });
    });
  }

  private newReply(turnId: string): ReplyStream {
    return new ReplyStream(turnId, {
      sendCancel: (responseId, heardChars) => this.sendCancel(responseId, heardChars),
    });
  }

  private assertOpen(): void {
    if (this.closedWith !== null) throw this.closedWith;
  }

  private nextId(kind: string): string {
    return `${kind}-${this.idPrefix}-${++this.counter}`;
  }
}
