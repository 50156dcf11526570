// One voice session (one connection): client events in, server events out, settings, history, and the native
// turn flow (a new turn interrupts and commits the active reply; response.cancel). Push-based, never imports ws/fastify.
// Not here: the run (response-run.ts), its slot (response-slot.ts), what history keeps of a reply (turn-replies.ts), Realtime items (item-responses.ts).
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
import { ESCALATION_TOOL, escalationOffer } from './escalation.js';
import { TurnTaking } from './turn-taking.js';
import type { ChatMessage } from '../upstream/types.js';
import { ConversationHistory } from './history.js';
import {
  itemResponseSpec,
  type ConversationItems,
  type CreateResponseResult,
  type ResponseRequest,
} from './item-responses.js';
import type { ResponseRun } from './response-run.js';
import { ResponseSlot, type LaunchSpec } from './response-slot.js';
import { applySettingsUpdate, checkTurnText, defaultSettings, type SettingsUpdate } from './session-settings.js';
import type { SessionSnapshot } from './snapshot.js';
import { errorEvent, readyEvent, type SessionOptions } from './session-options.js';
import { SessionToolRunner } from './tool-runner.js';
import { cancelReply, TurnReplies } from './turn-replies.js';

export type { ConversationItems, CreateResponseResult, ResponseHandle, ResponseRequest } from './item-responses.js';
export type { SessionOptions } from './session-options.js';

export class Session {
  readonly id: string;
  private readonly settings: SessionSettings;
  private readonly history = new ConversationHistory();
  private readonly slot: ResponseSlot;
  private readonly replies: TurnReplies;
  private closed = false;
  private draining = false;
  private readonly options: SessionOptions;
  private readonly log: Logger;
  private readonly toolRunner: SessionToolRunner;
  private readonly turns: TurnTaking;

  constructor(options: SessionOptions) {
    this.options = options;
    this.id = options.sessionId ?? `sess_${randomUUID()}`;
    this.log = options.logger.child({ sessionId: this.id });
    const { config, restore } = options;
    this.toolRunner = new SessionToolRunner(
      options.tools,
      () => this.settings.tools,
      config.clientToolTimeoutMs,
      this.id,
      () => escalationOffer(this.settings.model, config),
    );
    this.settings = defaultSettings(config);
    this.replies = new TurnReplies(
      this.history,
      () => {
        this.turns.discard('stale'); // a speculation on the old history could not be adopted
        this.options.onStateChange?.();
      },
      this.log,
    );
    if (restore !== undefined) {
      const { tools, turnDetection = this.settings.turnDetection } = restore.settings;
      Object.assign(this.settings, restore.settings, {
        tools: [...tools],
        // This instance's SPECULATION=off wins over what the session had elsewhere.
        turnDetection: { ...turnDetection, speculate: turnDetection.speculate && config.speculation },
      });
      this.history.importTurns(restore.turns);
    }
    this.slot = new ResponseSlot(
      {
        sessionId: this.id,
        chat: options.chat,
        config,
        ...(options.observer ? { observer: options.observer } : {}),
        emit: (body) => this.emit(body),
        onSettled: () => {
          this.options.onStateChange?.();
          this.turns.replyEnded();
        },
        logger: this.log,
      },
      restore?.responseCounter ?? 0,
    );
    this.turns = new TurnTaking({
      config,
      history: this.history,
      settings: this.settings,
      slot: this.slot,
      replies: this.replies,
      tools: this.toolRunner,
      emit: (body) => this.emit(body),
      onStateChange: () => this.options.onStateChange?.(),
      ...(options.speculationObserver ? { observer: options.speculationObserver } : {}),
      ...(options.admitServerCommit ? { admitServerCommit: options.admitServerCommit } : {}),
      reportError: (error) => this.reportError(error),
      log: this.log,
    });
  }

  /** What moves with the session to another instance (see snapshot.ts). */
  snapshot(): SessionSnapshot {
    return {
      v: 1,
      settings: this.currentSettings,
      turns: this.history.exportTurns(),
      responseCounter: this.slot.responseCounter,
    };
  }

  /** Sends session.ready; call once, before handling events. */
  start(): void {
    this.emit(readyEvent(this.id, this.settings, this.options));
    this.log.info({ upstream: this.options.config.upstream }, 'session started');
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
        case 'tool.result':
          if (!this.toolRunner.resolveClientCall(event.callId, event.output))
            throw new GatewayError('GW_UNKNOWN_TOOL_CALL');
          return;
        case 'ping':
          return this.emit({ type: 'pong', ...(event.eventId === undefined ? {} : { eventId: event.eventId }) });
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

  /** Emits an event on behalf of the transport (e.g. session.resumed), in this session's numbered stream. */
  announce(body: ServerEventBody): void {
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
    this.slot.active?.interrupt();
    this.closed = true;
    this.log.info({ turns: this.history.turnCount }, 'session closed');
  }

  /** The session moves to another instance: a speculation, its waits and an open server commit end here. */
  leaveTurnInProgress(): void {
    this.turns.reset();
  }

  /** Interrupts the active response, if any; used by drain and by the transport on socket loss. */
  interruptActive(): void {
    this.slot.active?.interrupt();
  }

  private emit(body: ServerEventBody): void {
    if (this.closed) return;
    this.options.send(body);
  }

  private applyUpdate(update: SettingsUpdate): void {
    const { config, tools } = this.options;
    // A client tool may not take the name of a server tool, the escalation tool included.
    const serverTools = config.escalation ? [...tools.names, ESCALATION_TOOL] : tools.names;
    const promptChanged = applySettingsUpdate(
      this.settings,
      update,
      config.systemPrompt,
      serverTools,
      config.speculation,
    );
    this.turns.settingsChanged(promptChanged);
  }

  private updateSettings(event: SessionUpdateEvent): void {
    this.applyUpdate(event);
    this.emit({ type: 'session.updated', ...this.settings, tools: [...this.settings.tools] });
    this.options.onStateChange?.();
  }

  /** Starts a response in the slot; a reply still being spoken is no longer the last one once another starts. */
  private launch(spec: LaunchSpec): ResponseRun {
    this.turns.discard('stale');
    this.replies.forget();
    return this.slot.launch(spec);
  }
}
