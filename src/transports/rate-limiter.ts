// Sliding-window rate limits (turns per minute per session and per token). Small and exact: a window keeps the
// timestamps of its last `limit` events, so memory per key is bounded by the limit.

export class SlidingWindowLimiter {
  private readonly windows = new Map<string, number[]>();
  private sweepAt = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Records an event for `key` if it is within the limit. Returns 0 when allowed, otherwise the milliseconds
   * until the oldest event leaves the window (a Retry-After for the client).
   */
  take(key: string): number {
    const now = this.now();
    this.sweep(now);
    let window = this.windows.get(key);
    if (window === undefined) {
      window = [];
      this.windows.set(key, window);
    }
    while (window.length > 0 && (window[0] ?? 0) <= now - this.windowMs) window.shift();
    if (window.length >= this.limit) return Math.max(1, (window[0] ?? now) + this.windowMs - now);
    window.push(now);
    return 0;
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
