// The tool calls of one step of a response: fragments assembled into calls, each announced and started the
// moment its arguments are complete, the tools and tool_choice a step offers, and the filler while a tool runs.
// It does not own the run's state, its text or history: the run awaits the outcomes and records the step.
import type { Logger } from 'pino';
import type { ServerEventBody } from '../protocol.js';
import type { TurnTrace } from '../tracing/turn-trace.js';
import { ToolCallAssembler, type AssembledCall, type ToolCallFragment } from '../tools/call-assembler.js';
import type { ToolOutcome } from '../tools/registry.js';
import type { UpstreamToolSpec } from '../upstream/types.js';
import { ESCALATION_TOOL } from './escalation.js';
import type { SpeechTrack } from './speech-track.js';
import type { SessionToolRunner } from './tool-runner.js';

/** Spoken when a tool runs this long before anything of the response was spoken. */
export const FILLER_DELAY_MS = 700;
export const FILLER_TEXT = 'One moment.';
/** The outcome of a discarded speculation's call: it never ran, and nothing reads it (the run is over). */
const NEVER_RUN: ToolOutcome = { ok: false, error: 'Not run: the speculation was discarded.' };

/** Which tool the model must use, for the first step of a response; later steps are always `auto`. */
export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

export interface RunningCall {
  call: AssembledCall;
  outcome: Promise<ToolOutcome>;
}

/** What the calls of a step need from their run. */
export interface ToolStepContext {
  responseId: string;
  tools: SessionToolRunner;
  /** Calls past this many in the step are ignored: never announced, run or kept in history. */
  maxCalls: number;
  /** Client calls end the response (Realtime) instead of waiting for the client's tool.result inside it. */
  endOnClientCall: boolean;
  track: SpeechTrack;
  /** The run's abort signal: running tools stop with it. */
  signal: AbortSignal;
  /** Where the client calls that end the response are noted (the run's record). */
  deferred: Set<string>;
  filler: Filler;
  /** A speculation's gate: its calls are announced (held) but start only once it is adopted; null: at once. */
  authorised: Promise<boolean> | null;
  /** The response's spans (tracing on): each call that runs gets one, until its outcome. */
  trace: TurnTrace | null;
  emit: (event: ServerEventBody) => void;
  logger: Logger;
}

/** "One moment." when a tool runs FILLER_DELAY_MS before anything of the response was spoken. */
export class Filler {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly track: SpeechTrack,
    private readonly isOver: () => boolean,
  ) {}

  /** Starts the wait, unless something was already spoken. */
  schedule(): void {
    if (this.track.hasSpoken) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (!this.isOver() && !this.track.hasSpoken) this.track.aside(FILLER_TEXT);
    }, FILLER_DELAY_MS);
  }

  /** Speaks the filler now (the reply waits for a slower model), unless something was already spoken. */
  now(): void {
    clearTimeout(this.timer);
    if (!this.isOver() && !this.track.hasSpoken) this.track.aside(FILLER_TEXT);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

export class ToolStep {
  private readonly assembler: ToolCallAssembler;
  private readonly running: RunningCall[] = [];
  private flushed = false;

  /** `allowed` false: past the step cap, calls the model still makes are ignored. */
  constructor(
    private readonly context: ToolStepContext,
    private readonly allowed: boolean,
  ) {
    this.assembler = new ToolCallAssembler(context.maxCalls);
  }

  /** A streamed fragment: starts each call whose arguments it completes. */
  add(fragment: ToolCallFragment): void {
    if (!this.allowed) return;
    // Speak what the model said before the call ("Let me check…") at the first sign of a call, not when
    // the call's arguments are complete or the tool has returned.
    if (!this.flushed) this.context.track.flush();
    this.flushed = true;
    for (const call of this.assembler.add(fragment)) this.start(call);
  }

  /** The stream ended: starts the calls complete only now; returns every call of the step in the model's (index) order. */
  finish(): RunningCall[] {
    if (this.allowed) for (const call of this.assembler.finish()) this.start(call);
    const ignored = this.assembler.ignoredFragments;
    if (ignored > 0) {
      const { maxCalls, logger } = this.context;
      logger.warn({ maxCalls, ignoredFragments: ignored }, 'the model made more tool calls in one step than allowed');
    }
    // Calls start in completion order; history lists them in the model's own (index) order.
    return [...this.running].sort((a, b) => a.call.index - b.call.index);
  }

  private start(call: AssembledCall): void {
    const { context } = this;
    const firstOfStep = this.running.length === 0;
    if (firstOfStep) context.track.flush();
    const runsOn = context.tools.runsOn(call.name);
    const deferred = runsOn === 'client' && context.endOnClientCall;
    context.emit({
      type: 'response.tool_call',
      responseId: context.responseId,
      callId: call.id,
      name: call.name,
      arguments: call.argumentsText,
      runsOn: runsOn === 'client' ? 'client' : 'server',
    });
    context.logger.info({ callId: call.id, tool: call.name, runsOn }, 'tool call');
    if (deferred) {
      context.trace?.tool({ ...call, runsOn, deferred })({ ok: true });
      context.deferred.add(call.id);
      this.running.push({ call, outcome: Promise.resolve<ToolOutcome>({ ok: true, output: '' }) });
      return;
    }
    const begin = (): Promise<ToolOutcome> => {
      // An escalation waits for a slower model, not a tool: the user hears the filler at once.
      if (call.name === ESCALATION_TOOL && runsOn === 'server') context.filler.now();
      else if (firstOfStep) context.filler.schedule();
      const ended = context.trace?.tool({ ...call, runsOn, deferred: false });
      const outcome = call.args.ok
        ? context.tools.run(call.id, call.name, call.args.value, context.signal)
        : Promise.resolve<ToolOutcome>({ ok: false, error: call.args.error });
      if (ended === undefined) return outcome;
      return outcome.then((result) => {
        ended(result);
        return result;
      });
    };
    // No side effect from a speculation: a discarded one never runs its tools, nor one interrupted as it was adopted.
    const outcome =
      context.authorised === null
        ? begin()
        : context.authorised.then((open) => (open && !context.signal.aborted ? begin() : NEVER_RUN));
    this.running.push({ call, outcome });
  }
}

/** The tools and tool_choice of one step: `choice` applies to the first step only, so tool steps can end. */
export function toolsFor(
  step: number,
  toolsAllowed: boolean,
  all: UpstreamToolSpec[],
  choice: ToolChoice = 'auto',
): { tools: UpstreamToolSpec[]; toolChoice: 'auto' | 'none' | 'required' } {
  if (!toolsAllowed || choice === 'none') return { tools: all, toolChoice: 'none' };
  if (step > 0 || choice === 'auto') return { tools: all, toolChoice: 'auto' };
  if (choice === 'required') return { tools: all, toolChoice: 'required' };
  const named = all.filter((t) => t.function.name === choice.name);
  return named.length > 0 ? { tools: named, toolChoice: 'required' } : { tools: all, toolChoice: 'auto' };
}
