// The ordered inbox of one connection: client frames are handled strictly in the order they arrived, even when
// handling one must wait (a rate limit shared through Redis, a session moving here from another instance).
// Synchronous steps run at once; an asynchronous one holds the steps behind it until it settles.

/** Handles one frame; returns a promise when it must wait. */
export type FrameStep = () => Promise<void> | undefined;

export class FrameInbox {
  private readonly waiting: FrameStep[] = [];
  private busy = false;
  private idleCallback: (() => void) | null = null;

  constructor(
    /** Steps that may wait behind a running one; more are refused (a client cannot grow memory without bound). */
    private readonly maxWaiting: number,
    /** Hears a step that threw or rejected; the steps behind it still run. Must not throw. */
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Runs or queues `step`; false when the queue is full and the step was refused. */
  enqueue(step: FrameStep): boolean {
    if (!this.busy) this.run(step);
    else if (this.waiting.length < this.maxWaiting) this.waiting.push(step);
    else return false;
    return true;
  }

  /** Forgets the steps not started yet (their frames belong to a session that never arrived). */
  dropWaiting(): void {
    this.waiting.length = 0;
  }

  /** Calls `callback` once nothing is running or waiting: now, or when the last step settles. */
  whenIdle(callback: () => void): void {
    if (this.busy) this.idleCallback = callback;
    else callback();
  }

  private run(step: FrameStep): void {
    let pending: Promise<void> | undefined;
    try {
      pending = step();
    } catch (err) {
      // A step run from a settled promise below would otherwise turn a throw into an unhandled rejection.
      this.onError(err);
      return;
    }
    if (pending === undefined) return;
    this.busy = true;
    void pending.catch(this.onError).finally(() => {
      this.busy = false;
      while (!this.busy && this.waiting.length > 0) this.run(this.waiting.shift() as FrameStep);
      if (!this.busy && this.idleCallback !== null) {
        const callback = this.idleCallback;
        this.idleCallback = null;
        callback();
      }
    });
  }
}
