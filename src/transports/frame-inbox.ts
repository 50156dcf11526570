// The ordered inbox of one connection: client frames are handled strictly in the order they arrived, even when
// handling one must wait (a rate limit shared through Redis, a session moving here from another instance).
// Synchronous steps run at once; an asynchronous one holds the steps behind it until it settles.

/** Handles one frame; returns a promise when it must wait. */
export type FrameStep = () => Promise<void> | undefined;

export class FrameInbox {
  private readonly waiting: FrameStep[] = [];
  private busy = false;
  private idleCallback: (() => void) | null = null;

  constructor(private readonly onError: (err: unknown) => void) {}

  enqueue(step: FrameStep): void {
    if (this.busy) this.waiting.push(step);
    else this.run(step);
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
    const pending = step();
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
