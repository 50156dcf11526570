// One voice session (one connection): settings, history and at most one active response.
// Push-based: handle(event) in, send(event) out, so it is tested without sockets. Never imports fastify/ws/undici.
// Transports with separate items and responses (Realtime) use addItem/createResponse/truncateItem/deleteItem.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { GatewayError } from '../errors.js';
import {
  type ClientTool,
  MODELS,
  PROTOCOL_MINOR,
  PROTOCOL_VERSION,
  type SessionEvent,
  type ModelName,
  type ResponseCancelEvent,
  type ResponseStatus,
  type ServerEventBody,
  type SessionSettings,
  type SessionUpdateEvent,
  type TurnEvent,
} from '../protocol.js';
import type { GatewayObserver } from '../metrics.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { ChatMessage, ChatStreamer } from '../upstream/types.js';
import { ConversationHistory, itemizeReply, pairToolMessages } from './history.js';
import { ResponseRun, type ToolChoice } from './response-run.js';
import type { SessionSnapshot } from './snapshot.js';
import { validateClientTools } from './tool-declarations.js';
import { SessionToolRunner } from './tool-runner.js';

export interface SessionOptions {
  config: Readonly<Config>;
  chat: ChatStreamer;
  /** Server tools, shared by every session. */
  tools: ToolRegistry;
  observer?: GatewayObserver;
  /** Receives every server event in order; the transport stamps `seq` as it writes them. Must not throw. */
  send: (event: ServerEventBody) => void;
  logger: Logger;
  sessionId?: string;
  /** When resume is on: the token announced in session.ready, and how long a dropped session waits. */
  resume?: { token: string; ttlMs: number };
  /** State that moved here from another instance: settings, history and response counter. */
  restore?: SessionSnapshot;
  /**
   * Called after anything a snapshot holds changed (a turn accepted, a reply committed, settings updated), so a
   * shared store can persist it: what a user said must survive this instance. Must not throw.
   */
  onStateChange?: () => void;
}

/** A response requested apart from the items it answers (Realtime). Every field overrides the session for it only. */
export interface ResponseRequest {
  instructions?: string;
  tools?: ClientTool[];
  toolChoice?: ToolChoice;
  maxOutputTokens?: number;
  temperature?: number;
  /** False: an out-of-band response, never written to history. Default true. */
  commit?: boolean;
  /** The ids the reply gets as history items: its text, and each client tool call it ends with. */
  itemIds: { message: string; call: (callId: string) => string };
}

/** The item operations of the history that transports may use. */
export type ConversationItems = Pick<ConversationHistory, 'itemMessages' | 'hasToolCall' | 'truncateItem' | 'deleteItem'>;

/** What a caller may see of a running response. */
export type ResponseHandle = Pick<ResponseRun, 'responseId' | 'finishReason'>;

export type CreateResponseResult = { ok: true; response: ResponseHandle } | { ok: false; reason: 'active_response' };

/** The last completed reply, kept so a client still speaking it can later say how much was heard. */
interface LastReply {
  run: ResponseRun;
  /** How many history messages it committed, so they can be rewritten. */
  committedMessages: number;
  committedLength: number;
}

export class Session {
  readonly id: string;
  private readonly settings: SessionSettings;
  private readonly history = new ConversationHistory();
  private active: ResponseRun | null = null;
  private lastReply: LastReply | null = null;
  private responseCounter = 0;
  private closed = false;
  private draining = false;
  private idleWaiters: (() => void)[] = [];
  private readonly options: SessionOptions;
  private readonly log: Logger;
  private readonly toolRunner: SessionToolRunner;

  constructor(options: SessionOptions) {
    this.options = options;
    this.id = options.sessionId ?? `sess_${randomUUID()}`;
    this.log = options.logger.child({ sessionId: this.id });
    const { config } = options;
    this.toolRunner = new SessionToolRunner(options.tools, () => this.settings.tools, config.clientToolTimeoutMs, this.id);
    this.settings = {
      model: config.model,
      instructions: config.systemPrompt,
      temperature: null,
      maxOutputTokens: config.maxOutputTokens,
      tools: [],
    };
    if (options.restore !== undefined) {
      Object.assign(this.settings, options.restore.settings, { tools: [...options.restore.settings.tools] });
      this.history.importTurns(options.restore.turns);
      this.responseCounter = options.restore.responseCounter;
    }
  }

  /** What moves with the session to another instance (see snapshot.ts). */
  snapshot(): SessionSnapshot {
    return { v: 1, settings: this.currentSettings, turns: this.history.exportTurns(), responseCounter: this.responseCounter };
  }

  /** Sends session.ready; call once, before handling events. */
  start(): void {
    const { config } = this.options;
    this.emit({
      type: 'session.ready',
      sessionId: this.id,
      protocol: PROTOCOL_VERSION,
      minor: PROTOCOL_MINOR,
      ...(this.options.resume ? { resumeToken: this.options.resume.token } : {}),
      model: this.settings.model,
      upstream: config.upstream,
      limits: { maxFrameBytes: config.maxFrameBytes, maxTurnChars: config.maxTurnChars, resumeTtlMs: this.options.resume?.ttlMs ?? 0 },
    });
    this.log.info({ upstream: config.upstream }, 'session started');
  }

  /** True until the first turn: such a session holds nothing a user said. */
  get isPristine(): boolean {
    return this.history.turnCount === 0 && this.active === null;
  }

  get hasActiveResponse(): boolean {
    return this.active !== null;
  }

  get activeResponseId(): string | null {
    return this.active?.responseId ?? null;
  }

  /** A copy of the effective settings. */
  get currentSettings(): SessionSettings {
    return { ...this.settings, tools: [...this.settings.tools] };
  }

  /** Applies a settings update without announcing it (the caller answers in its own protocol). Throws GatewayError. */
  configure(update: Omit<SessionUpdateEvent, 'type' | 'eventId'>): SessionSettings {
    this.applySettings({ type: 'session.update', ...update });
    return this.currentSettings;
  }

  /**
   * Appends a conversation item without starting a response (a user message starts a turn). User and system
   * text obey the turn limits; throws GatewayError. Items added while a response runs come after its reply.
   */
  addItem(message: ChatMessage, itemId: string): void {
    const entry = message.role === 'user' || message.role === 'system' ? { ...message, content: this.checkTurnText(message.content) } : message;
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
    if (this.active !== null) return { ok: false, reason: 'active_response' };
    const clientTools = request.tools === undefined ? null : validateClientTools(request.tools, this.options.tools.names);
    const runner = clientTools === null ? this.toolRunner : new SessionToolRunner(this.options.tools, () => clientTools, this.options.config.clientToolTimeoutMs, this.id);
    const choice = request.toolChoice;
    if (typeof choice === 'object' && !runner.specs().some((t) => t.function.name === choice.name)) {
      throw new GatewayError('GW_INVALID_TOOLS', { message: `tool_choice names "${choice.name}", which is not a declared tool.` });
    }
    const anchor = this.history.anchor();
    const instructions = request.instructions !== undefined && request.instructions.trim() !== '' ? request.instructions : this.settings.instructions;
    const run = this.launch({
      messages: pairToolMessages(this.history.toMessages(instructions, this.options.config.historyTokenBudget)),
      maxTokens: request.maxOutputTokens ?? this.settings.maxOutputTokens,
      temperature: request.temperature ?? this.settings.temperature,
      tools: runner,
      ...(choice === undefined ? {} : { toolChoice: choice }),
      clientCalls: 'end-response',
      commit: (settled, status, heardLength) => {
        if (request.commit === false) return;
        const calls = settled.deferredCallIds;
        const entries = itemizeReply(settled.historyMessages(heardLength, status), request.itemIds.message, (id) => (calls.has(id) ? request.itemIds.call(id) : undefined));
        this.history.insertItems(anchor, entries);
      },
    });
    return { ok: true, response: run };
  }

  /** Handles one validated client event. Never throws: problems become `error` events. */
  handle(event: SessionEvent): void {
    if (this.closed) return;
    try {
      switch (event.type) {
        case 'session.update':
          return this.updateSettings(event);
        case 'turn':
          return this.startTurn(event);
        case 'response.cancel':
          return this.cancel(event);
        case 'tool.result':
          if (!this.toolRunner.resolveClientCall(event.callId, event.output)) throw new GatewayError('GW_UNKNOWN_TOOL_CALL');
          return;
        case 'ping':
          return this.emit({ type: 'pong', ...(event.eventId === undefined ? {} : { eventId: event.eventId }) });
      }
    } catch (err) {
      this.reportError(err instanceof GatewayError ? err : new GatewayError('GW_INTERNAL', { cause: err }), event.eventId);
    }
  }

  /** Why a turn would be refused (shutting down, empty, too long), or null: a transport checks before it spends a rate allowance. */
  turnProblem(event: TurnEvent): GatewayError | null {
    if (this.draining) return new GatewayError('GW_SHUTTING_DOWN');
    try {
      this.checkTurnText(event.text);
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
    this.emit({
      type: 'error',
      code: error.code,
      message: error.message,
      retryable: error.retryable,
      ...(eventId === undefined ? {} : { eventId }),
      ...(responseId === undefined ? {} : { responseId }),
    });
  }

  /** Refuses new turns from now on (graceful drain); the active response may finish. */
  startDraining(): void {
    this.draining = true;
  }

  /** Resolves once no response is active. */
  whenIdle(): Promise<void> {
    if (this.active === null) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Interrupts the active response (it still gets its response.done), then stops all output. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.active?.interrupt();
    this.closed = true;
    this.log.info({ turns: this.history.turnCount }, 'session closed');
  }

  /** Interrupts the active response, if any; used by drain and by the transport on socket loss. */
  interruptActive(): void {
    this.active?.interrupt();
  }

  private emit(body: ServerEventBody): void {
    if (this.closed) return;
    this.options.send(body);
  }

  private updateSettings(event: SessionUpdateEvent): void {
    this.applySettings(event);
    this.emit({ type: 'session.updated', ...this.settings, tools: [...this.settings.tools] });
    this.options.onStateChange?.();
  }

  private applySettings(event: SessionUpdateEvent): void {
    if (event.model !== undefined && !isModel(event.model)) throw new GatewayError('GW_UNKNOWN_MODEL');
    const tools = event.tools === undefined ? undefined : validateClientTools(event.tools, this.options.tools.names);
    if (event.model !== undefined) this.settings.model = event.model as ModelName;
    if (event.instructions !== undefined) {
      this.settings.instructions = event.instructions.trim() === '' ? this.options.config.systemPrompt : event.instructions;
    }
    if (event.temperature !== undefined) this.settings.temperature = event.temperature;
    if (event.maxOutputTokens !== undefined) this.settings.maxOutputTokens = event.maxOutputTokens;
    if (tools !== undefined) this.settings.tools = tools;
  }

  /** The trimmed text of a turn (or user/system item); throws when it is empty or too long. */
  private checkTurnText(raw: string): string {
    const text = raw.trim();
    if (text === '') throw new GatewayError('GW_EMPTY_TURN');
    if (text.length > this.options.config.maxTurnChars) {
      throw new GatewayError('GW_TEXT_TOO_LONG', {
        message: `The turn text is ${text.length} characters; the limit is ${this.options.config.maxTurnChars}.`,
      });
    }
    return text;
  }

  private startTurn(event: TurnEvent): void {
    if (this.draining) throw new GatewayError('GW_SHUTTING_DOWN');
    const text = this.checkTurnText(event.text);
    // Cancel-and-commit: the old reply is interrupted and committed before the new user words are appended,
    // so the model never continues the interrupted turn (pipecat's _handle_send_text ordering).
    this.active?.interrupt();
    this.history.addUser(text);
    this.options.onStateChange?.();
    this.launch({
      ...(event.turnId === undefined ? {} : { turnId: event.turnId }),
      messages: this.history.toMessages(this.settings.instructions, this.options.config.historyTokenBudget),
      maxTokens: this.settings.maxOutputTokens,
      temperature: this.settings.temperature,
      tools: this.toolRunner,
      commit: (run, status, heardLength) => this.commit(run, status, heardLength),
    });
  }

  /** Creates, registers and starts a response; `commit` writes its reply to history when it settles. */
  private launch(spec: {
    turnId?: string;
    messages: ChatMessage[];
    maxTokens: number;
    temperature: number | null;
    tools: SessionToolRunner;
    toolChoice?: ToolChoice;
    clientCalls?: 'wait' | 'end-response';
    commit: (run: ResponseRun, status: ResponseStatus, heardLength: number) => void;
  }): ResponseRun {
    this.responseCounter += 1;
    const responseId = `resp_${this.responseCounter}_${randomUUID().slice(0, 8)}`;
    const run = new ResponseRun({
      responseId,
      turnId: spec.turnId ?? `turn_${this.responseCounter}`,
      chat: this.options.chat,
      request: {
        model: this.settings.model,
        messages: spec.messages,
        maxTokens: spec.maxTokens,
        ...(spec.temperature === null ? {} : { temperature: spec.temperature }),
        sessionId: this.id,
      },
      tools: spec.tools,
      maxToolSteps: this.options.config.maxToolSteps,
      thinkTags: this.options.config.thinkTags,
      ...(spec.toolChoice === undefined ? {} : { toolChoice: spec.toolChoice }),
      ...(spec.clientCalls === undefined ? {} : { clientCalls: spec.clientCalls }),
      ...(this.options.observer ? { observer: this.options.observer } : {}),
      emit: (body) => this.emit(body),
      onSettled: (settledRun, status, heardLength) => {
        spec.commit(settledRun, status, heardLength);
        this.settled(settledRun);
        this.options.onStateChange?.();
      },
      logger: this.log.child({ responseId }),
    });
    this.active = run;
    this.lastReply = null;
    run.start();
    return run;
  }

  private cancel(event: ResponseCancelEvent): void {
    const active = this.active;
    if (active !== null && (event.responseId === undefined || event.responseId === active.responseId)) {
      active.interrupt(event.heardChars);
      return;
    }
    // The reply finished streaming but the client was still speaking it: keep only what was heard.
    const last = this.lastReply;
    if (last !== null && event.responseId === last.run.responseId) {
      if (event.heardChars !== undefined) this.truncateLastReply(last, event.heardChars);
      return;
    }
    if (active !== null) {
      throw new GatewayError('GW_RESPONSE_MISMATCH', { message: `Response ${event.responseId ?? ''} is not active; ${active.responseId} is.` });
    }
    throw new GatewayError('GW_NO_ACTIVE_RESPONSE');
  }

  /** Commits a settled reply to history: what was heard, marked when cut short, or nothing at all. */
  private commit(run: ResponseRun, status: ResponseStatus, heardLength: number): void {
    const messages = run.historyMessages(heardLength, status);
    for (const message of messages) this.history.addToCurrentTurn(message);
    if (status === 'completed' && heardLength > 0) {
      this.lastReply = { run, committedMessages: messages.length, committedLength: heardLength };
    }
  }

  /** The run is over: the session is idle again (unless a newer run already took its place). */
  private settled(run: ResponseRun): void {
    if (this.active === run) {
      this.active = null;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private truncateLastReply(last: LastReply, heardChars: number): void {
    const heardLength = last.run.heardLength(heardChars);
    if (heardLength >= last.committedLength) return;
    const messages = last.run.historyMessages(heardLength, 'interrupted');
    this.history.replaceTail(last.committedMessages, messages);
    this.lastReply = null;
    this.options.onStateChange?.();
    this.log.info({ responseId: last.run.responseId, heardChars, heardLength }, 'completed reply truncated to what was heard');
  }
}

function isModel(value: string): value is ModelName {
  return (MODELS as readonly string[]).includes(value);
}
