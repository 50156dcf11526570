// Sliding-window rate limits (turns per minute per session, per address and per token). Small and exact: a
// window keeps the timestamps of its last `limit` events, so memory per key is bounded by the limit.

export class SlidingWindowLimiter {
  private readonly windows = new Map<string, number[]>();
  private sweepAt = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * 0 when one more event for `key` is within the limit now, otherwise the milliseconds until the oldest event
   * leaves the window (a Retry-After for the client). Records nothing.
   */
  waitMs(key: string): number {
    const now = this.now();
    this.sweep(now);
    const window = this.windows.get(key);
    if (window === undefined) return 0;
    while (window.length > 0 && (window[0] ?? 0) <= now - this.windowMs) window.shift();
    if (window.length >= this.limit) return Math.max(1, (window[0] ?? now) + this.windowMs - now);
    return 0;
  }

  /** Records an event for `key` (after waitMs said it fits); the returned function takes it back. */
  record(key: string): () => void {
    let window = this.windows.get(key);
    if (window === undefined) {
      window = [];
      this.windows.set(key, window);
    }
    const at = this.now();
    window.push(at);
    return () => {
      const index = this.windows.get(key)?.lastIndexOf(at) ?? -1;
      if (index >= 0) this.windows.get(key)?.splice(index, 1);
    };
  }

  /** Keys with events still in their window (idle ones are dropped now and then). */
  get keyCount(): number {
    return this.windows.size;
  }

  /** Drops idle keys now and then, so keys of gone sessions do not accumulate. */
  private sweep(now: number): void {
    if (now < this.sweepAt) return;
    this.sweepAt = now + this.windowMs;
    for (const [key, window] of this.windows) {
      if ((window.at(-1) ?? 0) <= now - this.windowMs) this.windows.delete(key);
    }
  }
}

/** One window an event is counted in: how long until it fits (0: now), and recording it (undoably). */
export interface RateWindow {
  waitMs(): number;
  record(): () => void;
}

/** `limiter`'s window for `key`, as a RateWindow. */
export function windowOf(limiter: SlidingWindowLimiter, key: string): RateWindow {
  return { waitMs: () => limiter.waitMs(key), record: () => limiter.record(key) };
}

/** The longest wait any of `windows` asks for (0: the event fits in all of them now). Records nothing. */
export function waitForAll(windows: readonly RateWindow[]): number {
  let wait = 0;
  for (const window of windows) wait = Math.max(wait, window.waitMs());
  return wait;
}

/**
 * One event in several windows at once (a turn counts for its session, its address and its token): recorded in
 * every window or in none, so an event one window refuses uses up nobody's allowance. 0, or ms until allowed.
 */
export function takeAll(windows: readonly RateWindow[]): number {
  const wait = waitForAll(windows);
  if (wait === 0) for (const window of windows) window.record();
  return wait;
}
