// A session's one response slot: numbers responses, builds and starts each ResponseRun, and frees the slot when
// the run settles (waking whenIdle). It does not decide what a response answers nor what history keeps of it:
// the LaunchSpec carries the prompt and the commit.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { GatewayObserver } from '../metrics.js';
import type { ModelName, ResponseStatus, ServerEventBody } from '../protocol.js';
import type { ChatMessage, ChatStreamer } from '../upstream/types.js';
import { ResponseRun, type ToolChoice } from './response-run.js';
import type { SessionToolRunner } from './tool-runner.js';

/** One response to start: its request, its tools, and how its reply is written to history when it settles. */
export interface LaunchSpec {
  turnId?: string;
  model: ModelName;
  messages: ChatMessage[];
  maxTokens: number;
  temperature: number | null;
  tools: SessionToolRunner;
  toolChoice?: ToolChoice;
  clientCalls?: 'wait' | 'end-response';
  commit: (run: ResponseRun, status: ResponseStatus, heardLength: number) => void;
}

export interface ResponseSlotOptions {
  sessionId: string;
  chat: ChatStreamer;
  config: Readonly<Pick<Config, 'maxToolSteps' | 'thinkTags'>>;
  observer?: GatewayObserver;
  emit: (event: ServerEventBody) => void;
  /** After a run settled, its reply was committed and the slot is free again. */
  onSettled: (run: ResponseRun, status: ResponseStatus, heardLength: number) => void;
  logger: Logger;
}

export class ResponseSlot {
  private run: ResponseRun | null = null;
  private counter: number;
  private idleWaiters: (() => void)[] = [];

  /** `counter`: responses already numbered (a restored session continues from there). */
  constructor(
    private readonly options: ResponseSlotOptions,
    counter = 0,
  ) {
    this.counter = counter;
  }

  /** The running response, if any. */
  get active(): ResponseRun | null {
    return this.run;
  }

  /** How many responses were numbered so far. */
  get responseCounter(): number {
    return this.counter;
  }

  /** Numbers, registers and starts a response; `spec.commit` writes its reply to history when it settles. */
  launch(spec: LaunchSpec): ResponseRun {
    const run = this.build(spec, false);
    this.counter += 1;
    this.run = run;
    run.start();
    return run;
  }

  /**
   * Starts a speculation: a run that is not the slot's, not numbered and holds all it says. It takes the next
   * number only when adopted, so a discarded one leaves no gap in the response ids the client sees.
   */
  speculate(spec: LaunchSpec): ResponseRun {
    const run = this.build(spec, true);
    run.start();
    return run;
  }

  /** The turn committed with a speculation's words: it becomes the active response (the slot must be free). */
  adopt(run: ResponseRun, turnId: string | undefined): void {
    this.counter += 1;
    this.run = run;
    run.adopt(turnId ?? `turn_${this.counter}`);
  }

  /** Resolves once no response is active. */
  whenIdle(): Promise<void> {
    if (this.run === null) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private build(spec: LaunchSpec, speculative: boolean): ResponseRun {
    const number = this.counter + 1;
    const responseId = `resp_${number}_${randomUUID().slice(0, 8)}`;
    const { options } = this;
    const run: ResponseRun = new ResponseRun({
      responseId,
      turnId: spec.turnId ?? `turn_${number}`,
      chat: options.chat,
      request: {
        model: spec.model,
        messages: spec.messages,
        maxTokens: spec.maxTokens,
        ...(spec.temperature === null ? {} : { temperature: spec.temperature }),
        sessionId: options.sessionId,
      },
      tools: spec.tools,
      maxToolSteps: options.config.maxToolSteps,
      thinkTags: options.config.thinkTags,
      ...(speculative ? { speculative } : {}),
      ...(spec.toolChoice === undefined ? {} : { toolChoice: spec.toolChoice }),
      ...(spec.clientCalls === undefined ? {} : { clientCalls: spec.clientCalls }),
      ...(options.observer ? { observer: options.observer } : {}),
      emit: options.emit,
      onSettled: (status, heardLength) => {
        spec.commit(run, status, heardLength);
        this.settled(run);
        options.onSettled(run, status, heardLength);
      },
      logger: options.logger.child({ responseId, ...(speculative ? { speculative } : {}) }),
    });
    return run;
  }

  /** The run is over: the slot is free again (unless a newer run already took it). */
  private settled(run: ResponseRun): void {
    if (this.run !== run) return;
    this.run = null;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
