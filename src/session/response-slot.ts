// A session's one response slot: numbers responses, builds and starts each ResponseRun, and frees the slot when
// the run settles (waking whenIdle). It does not decide what a response answers nor what history keeps of it:
// the LaunchSpec carries the prompt and the commit.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { GatewayObserver } from '../metrics.js';
import type { ExperimentArm, ModelName, ResponseStatus, ServerEventBody } from '../protocol.js';
import type { Tracing } from '../tracing/tracing.js';
import { TurnTrace } from '../tracing/turn-trace.js';
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
  /** The client's W3C traceparent for this turn (protocol 1.4): the response's trace continues it. */
  traceparent?: string | undefined;
  /** Which endpoint asked (for its trace); default `voice`. */
  endpoint?: 'voice' | 'realtime';
  commit: (run: ResponseRun, status: ResponseStatus, heardLength: number) => void;
}

export interface ResponseSlotOptions {
  sessionId: string;
  chat: ChatStreamer;
  config: Readonly<Pick<Config, 'maxToolSteps' | 'maxToolCallsPerStep' | 'thinkTags' | 'upstream'>>;
  observer?: GatewayObserver;
  /** Each response gets a trace (turn-trace.ts) when tracing is on; null or absent: none, at no cost. */
  tracing?: Tracing | null;
  /** The session's experiment arm now, for its responses' traces. */
  experiment?: () => ExperimentArm | undefined;
  emit: (event: ServerEventBody) => void;
  /** After a run settled, its reply was committed and the slot is free again. */
  onSettled: (run: ResponseRun, status: ResponseStatus, heardLength: number) => void;
  logger: Logger;
}

/** The trace a resume on another instance continues: a response's root, and whether it is still running. */
export interface LatestTrace {
  responseId: string;
  traceparent: string;
  active: boolean;
}

export class ResponseSlot {
  private run: ResponseRun | null = null;
  /**
   * Tracing on: the trace of the response launched or adopted last, running or settled, which a resume elsewhere
   * continues. Its ids only, so no reply is held beyond its end.
   */
  private newest: LatestTrace | null = null;
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

  /** Tracing on: the trace of the response launched or adopted last (running or settled), if any. */
  get latestTrace(): Readonly<LatestTrace> | null {
    return this.newest;
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
    this.noteTrace(run);
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

  /**
   * The turn committed with a speculation's words: it becomes the active response (the slot must be free).
   * `traceparent`: the committing turn's, which the speculation's trace links to when it is another trace.
   */
  adopt(run: ResponseRun, turnId: string | undefined, traceparent?: string): void {
    this.counter += 1;
    this.run = run;
    run.adopt(turnId ?? `turn_${this.counter}`, traceparent);
    this.noteTrace(run);
  }

  /** Resolves once no response is active. */
  whenIdle(): Promise<void> {
    if (this.run === null) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private build(spec: LaunchSpec, speculative: boolean): ResponseRun {
    const number = this.counter + 1;
    const responseId = `resp_${number}_${randomUUID().slice(0, 8)}`;
    const turnId = spec.turnId ?? `turn_${number}`;
    const { options } = this;
    const trace = this.startTrace(spec, responseId, turnId, speculative);
    const run: ResponseRun = new ResponseRun({
      responseId,
      turnId,
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
      maxToolCallsPerStep: options.config.maxToolCallsPerStep,
      thinkTags: options.config.thinkTags,
      ...(speculative ? { speculative } : {}),
      ...(spec.toolChoice === undefined ? {} : { toolChoice: spec.toolChoice }),
      ...(spec.clientCalls === undefined ? {} : { clientCalls: spec.clientCalls }),
      ...(options.observer ? { observer: options.observer } : {}),
      trace,
      emit: options.emit,
      onSettled: (status, heardLength) => {
        spec.commit(run, status, heardLength);
        this.settled(run);
        options.onSettled(run, status, heardLength);
      },
      // With tracing on, each log line of the response carries its trace_id and span_id.
      logger: options.logger.child({ responseId, ...(speculative ? { speculative } : {}), ...trace?.logFields }),
    });
    return run;
  }

  /** The response's trace, or null (tracing off: nothing is built). */
  private startTrace(spec: LaunchSpec, responseId: string, turnId: string, speculative: boolean): TurnTrace | null {
    const { tracing, sessionId, config } = this.options;
    if (tracing === undefined || tracing === null) return null;
    return TurnTrace.start(tracing, {
      sessionId,
      responseId,
      turnId,
      endpoint: spec.endpoint ?? 'voice',
      upstream: config.upstream,
      model: spec.model,
      speculative,
      experiment: this.options.experiment?.(),
      traceparent: spec.traceparent,
      userText: () => spec.messages.findLast((m) => m.role === 'user')?.content ?? undefined,
    });
  }

  /** The run is over: the slot is free again (unless a newer run already took it). */
  private noteTrace(run: ResponseRun): void {
    if (run.trace !== null)
      this.newest = { responseId: run.responseId, traceparent: run.trace.traceparent, active: true };
  }

  private settled(run: ResponseRun): void {
    if (this.newest?.responseId === run.responseId) this.newest.active = false;
    if (this.run !== run) return;
    this.run = null;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
