// The states of one response run and the only legal changes between them; every change goes through
// RunLifecycle.moveTo, which throws on any other, so a bug surfaces in tests. It does not run anything itself.

export type ResponseState = 'created' | 'streaming' | 'tool-wait' | 'done' | 'interrupted' | 'failed';

/**
 * Every legal state change of a run (`from → to: by what`); the settled states (done, interrupted, failed) are final.
 *
 *   created   → streaming    start(), once response.created is sent
 *   created   → interrupted  interrupt() re-entered from the response.created send (a slow consumer is dropped)
 *   streaming → tool-wait    a step ended with tool calls: their outcomes are awaited
 *   streaming → done         the answer is over (or ended with client calls the transport answers later)
 *   streaming → interrupted  interrupt(): barge-in, response.cancel, close, drain
 *   streaming → failed       the upstream failed, or anything else threw
 *   tool-wait → streaming    the outcomes are in: the next step streams
 *   tool-wait → interrupted  interrupt() while tools run (their signal aborts)
 *   tool-wait → failed       anything threw while tools ran
 */
export const RUN_TRANSITIONS: Readonly<Record<ResponseState, readonly ResponseState[]>> = {
  created: ['streaming', 'interrupted'],
  streaming: ['tool-wait', 'done', 'interrupted', 'failed'],
  'tool-wait': ['streaming', 'interrupted', 'failed'],
  done: [],
  interrupted: [],
  failed: [],
};

export class IllegalTransitionError extends Error {
  constructor(
    readonly responseId: string,
    readonly from: ResponseState,
    readonly to: ResponseState,
  ) {
    super(`${responseId}: illegal state change ${from} → ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

/** The current state of one run; `moveTo` is the only way to change it. */
export class RunLifecycle {
  constructor(
    private readonly responseId: string,
    private current: ResponseState = 'created',
  ) {}

  get state(): ResponseState {
    return this.current;
  }

  /** True once done, interrupted or failed: response.done was (or is being) sent. */
  get isSettled(): boolean {
    return RUN_TRANSITIONS[this.current].length === 0;
  }

  /** Changes the state; throws IllegalTransitionError (and changes nothing) unless RUN_TRANSITIONS allows it. */
  moveTo(next: ResponseState): void {
    if (!RUN_TRANSITIONS[this.current].includes(next))
      throw new IllegalTransitionError(this.responseId, this.current, next);
    this.current = next;
  }
}
