// One voice session (one connection): client events in, server events out, settings (and the experiment arm),
// and the native turn flow. Push-based, never imports ws/fastify. Not here: its parts (session-parts.ts), the turn
// flow (turn-taking.ts), the run (response-run.ts), what history keeps of a reply (turn-replies.ts), quality
// signals (reply-ledger.ts), Realtime items (item-responses.ts).
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import {
  type ServerEventBody,
  type SessionEvent,
  type SessionSettings,
  type SessionUpdateEvent,
  type TurnEvent,
} from '../protocol.js';
import type { InterruptCause } from '../tracing/turn-trace.js';
import type { ChatMessage } from '../upstream/types.js';
import { ESCALATION_TOOL } from './escalation.js';
import type { SessionArm } from './experiment-arm.js';
import { estimateTokens, type ConversationHistory } from './history.js';
import {
  itemResponseSpec,
  type ConversationItems,
  type CreateResponseResult,
  type ResponseRequest,
} from './item-responses.js';
import type { ReplyLedger } from './reply-ledger.js';
import type { ResponseRun } from './response-run.js';
import type { LaunchSpec, ResponseSlot } from './response-slot.js';
import { assembleSession } from './session-parts.js';
import { applySettingsUpdate, checkTurnText, type SettingsUpdate } from './session-settings.js';
import type { SessionSnapshot } from './snapshot.js';
import { errorEvent, readyEvent, type SessionOptions } from './session-options.js';
import type { SessionToolRunner } from './tool-runner.js';
import { cancelReply, type TurnReplies } from './turn-replies.js';
import type { TurnTaking } from './turn-taking.js';

function eventIdOf(event: { eventId?: string | undefined }): { eventId?: string } {
  return event.eventId === undefined ? {} : { eventId: event.eventId };
}

export type { ConversationItems, CreateResponseResult, ResponseHandle, ResponseRequest } from './item-responses.js';
export type { SessionOptions } from './session-options.js';

export class Session {
  readonly id: string;
  private readonly settings: SessionSettings;
  private readonly history: ConversationHistory;
  private readonly slot: ResponseSlot;
  private readonly replies: TurnReplies;
  private closed = false;
  private draining = false;
  private readonly options: SessionOptions;
  private readonly log: Logger;
  private readonly toolRunner: SessionToolRunner;
  private readonly turns: TurnTaking;
  private readonly arm: SessionArm | null;
  private readonly ledger: ReplyLedger;

  constructor(options: SessionOptions) {
    this.options = options;
    this.id = options.sessionId ?? `sess_${randomUUID()}`;
    this.log = options.logger.child({ sessionId: this.id });
    const parts = assembleSession(this.id, options, this.log, {
      emit: (body) => this.emit(body),
      reportError: (error) => this.reportError(error),
      stateChanged: () => this.options.onStateChange?.(),
    });
    ({ settings: this.settings, history: this.history, slot: this.slot, replies: this.replies } = parts);
    ({ toolRunner: this.toolRunner, turns: this.turns, arm: this.arm, ledger: this.ledger } = parts);
  }

  /** What moves with the session to another instance (see snapshot.ts). */
  snapshot(): SessionSnapshot {
    const latest = this.slot.latestTrace;
    return {
      v: 1,
      settings: this.currentSettings,
      turns: this.history.exportTurns(),
      responseCounter: this.slot.responseCounter,
      ...(this.arm ? { experiment: this.arm.wire } : {}),
      ...(latest ? { trace: { ...latest } } : {}),
    };
  }

  /** Sends session.ready; call once, before handling events. */
  start(): void {
    this.emit(readyEvent(this.id, this.settings, this.options, this.arm?.wire));
    this.log.info({ upstream: this.options.config.upstream, experiment: this.arm?.wire }, 'session started');
  }

  /** True until the first turn: such a session holds nothing a user said. */
  get isPristine(): boolean {
    return this.history.turnCount === 0 && this.slot.active === null;
  }

  get hasActiveResponse(): boolean {
    return this.slot.active !== null;
  }

  get activeResponseId(): string | null {
    return this.slot.active?.responseId ?? null;
  }

  /** A copy of the effective settings. */
  get currentSettings(): SessionSettings {
    return { ...this.settings, tools: [...this.settings.tools] };
  }

  /** Applies a settings update without announcing it (the caller answers in its own protocol). Throws GatewayError. */
  configure(update: SettingsUpdate): SessionSettings {
    this.applyUpdate(update);
    return this.currentSettings;
  }

  /**
   * Appends a conversation item without starting a response (a user message starts a turn). User and system
   * text obey the turn limits; throws GatewayError. Items added while a response runs come after its reply.
   */
  addItem(message: ChatMessage, itemId: string): void {
    const entry =
      message.role === 'user' || message.role === 'system'
        ? { ...message, content: checkTurnText(message.content, this.options.config.maxTurnChars) }
        : message;
    const { historyTokenBudget } = this.options.config;
    if (!this.history.makeRoom(estimateTokens(entry), historyTokenBudget, entry.role === 'user'))
      throw new GatewayError('GW_HISTORY_FULL');
    this.history.addItems([{ message: entry, itemId }]);
  }

  /** Reads and edits history items by id (see ConversationHistory): messages, tool calls, truncate, delete. */
  get items(): ConversationItems {
    return this.history;
  }

  /**
   * Starts a response to the items so far (Realtime `response.create`). Never interrupts: with a response
   * already active it returns `active_response`. Client tool calls end the response; their outputs come back
   * as items. Throws GatewayError (draining, invalid tools).
   */
  createResponse(request: ResponseRequest): CreateResponseResult {
    if (this.draining) throw new GatewayError('GW_SHUTTING_DOWN');
    if (this.slot.active !== null) return { ok: false, reason: 'active_response' };
    const { config, tools: registry } = this.options;
    const spec = itemResponseSpec(request, {
      history: this.history,
      settings: this.settings,
      registry,
      sessionTools: this.toolRunner,
      config,
      sessionId: this.id,
    });
    return { ok: true, response: this.launch(spec) };
  }

  /** Handles one validated client event. Never throws: problems become `error` events. */
  handle(event: SessionEvent): void {
    if (this.closed) return;
    try {
      switch (event.type) {
        case 'session.update':
          return this.updateSettings(event);
        case 'turn':
          if (this.draining) throw new GatewayError('GW_SHUTTING_DOWN');
          return this.turns.final(event);
        case 'turn.interim':
          return this.turns.interim(event);
        case 'response.cancel':
          return cancelReply(event, this.slot.active, this.replies);
        case 'feedback':
          if (!this.ledger.rate(event.responseId, event.rating)) throw new GatewayError('GW_UNKNOWN_RESPONSE');
          return this.emit({ type: 'feedback.received', responseId: event.responseId, ...eventIdOf(event) });
        case 'tool.result':
          if (!this.toolRunner.resolveClientCall(event.callId, event.output))
            throw new GatewayError('GW_UNKNOWN_TOOL_CALL');
          return;
        case 'ping':
          return this.emit({ type: 'pong', ...eventIdOf(event) });
      }
    } catch (err) {
      this.reportError(
        err instanceof GatewayError ? err : new GatewayError('GW_INTERNAL', { cause: err }),
        event.eventId,
      );
    }
  }

  /** Why a turn would be refused (shutting down, empty, too long), or null: a transport checks before it spends a rate allowance. */
  turnProblem(event: TurnEvent): GatewayError | null {
    if (this.draining) return new GatewayError('GW_SHUTTING_DOWN');
    try {
      checkTurnText(event.text, this.options.config.maxTurnChars);
      return null;
    } catch (err) {
      return err instanceof GatewayError ? err : new GatewayError('GW_INTERNAL', { cause: err });
    }
  }

  /** True when this final turn only confirms the server's own commit: it starts no reply, so no turn limit applies. */
  absorbs(event: TurnEvent): boolean {
    return !this.draining && this.turns.absorbs(event.text);
  }

  /** Emits an event on behalf of the transport (e.g. session.resumed), in this session's numbered stream. */
  announce(body: ServerEventBody): void {
    // The client came back (here, or on the instance this session moves to) while a reply ran: its trace says so.
    if (body.type === 'session.resumed') this.slot.active?.trace?.resumed(body.replayed, body.missedEvents);
    this.emit(body);
  }

  /** Sends an `error` event (used by the transport for frames that never became events). */
  reportError(error: GatewayError, eventId?: string, responseId?: string): void {
    if (error.code === 'GW_INTERNAL') this.log.error({ err: error.cause ?? error }, 'internal error');
    else this.log.debug({ code: error.code }, 'client error');
    this.emit(errorEvent(error, eventId, responseId));
  }

  /** Refuses new turns from now on (graceful drain); the active response may finish. */
  startDraining(): void {
    this.draining = true;
    this.turns.stop();
  }

  /** Resolves once no response is active. */
  whenIdle(): Promise<void> {
    return this.slot.whenIdle();
  }

  /** Interrupts the active response (it still gets its response.done), then stops all output. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.turns.stop();
    this.slot.active?.interrupt(undefined, 'session_closed');
    this.closed = true;
    this.log.info({ turns: this.history.turnCount }, 'session closed');
  }

  /** The session moves to another instance: a speculation, its waits and an open server commit end here. */
  leaveTurnInProgress(): void {
    this.turns.reset();
  }

  /** Interrupts the active response, if any; used by drain and by the transport on socket loss. */
  interruptActive(cause: InterruptCause): void {
    this.slot.active?.interrupt(undefined, cause);
  }

  private emit(body: ServerEventBody): void {
    if (this.closed) return;
    this.options.send(body);
  }

  private applyUpdate(update: SettingsUpdate): void {
    const { config, tools } = this.options;
    // A client tool may not take the name of a server tool, the escalation tool included.
    const serverTools = config.escalation ? [...tools.names, ESCALATION_TOOL] : tools.names;
    const apply = (settings: SessionSettings) =>
      applySettingsUpdate(settings, update, config.systemPrompt, serverTools, config.speculation);
    apply({ ...this.settings }); // all or nothing: throws here, before the arm or the settings change
    if (update.userKey !== undefined && this.arm !== null) {
      this.arm.assignUser(update.userKey, this.isPristine);
      this.arm.applyTo(this.settings, config);
    }
    if (update.model !== undefined) this.arm?.optOut(); // the client chose: out of the experiment's figures
    this.turns.settingsChanged(apply(this.settings));
  }

  private updateSettings(event: SessionUpdateEvent): void {
    this.applyUpdate(event);
    const experiment = this.arm?.wire;
    this.emit({ type: 'session.updated', ...this.currentSettings, ...(experiment ? { experiment } : {}) });
    this.options.onStateChange?.();
  }

  /** Starts a response in the slot; a reply still being spoken is no longer the last one once another starts. */
  private launch(spec: LaunchSpec): ResponseRun {
    this.turns.discard('stale');
    this.replies.forget();
    return this.slot.launch(spec);
  }
}
