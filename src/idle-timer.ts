// A timeout that restarts on every sign of activity, for per-token paths (the upstream's stall timer, speech's
// idle flush). `Timeout.refresh()` re-inserts the timer into Node's timer list and reads libuv's clock on every
// call: once per token per session, that was a measurable share of the gateway's CPU per delta. Here touch()
// only stamps the time; the timer, armed once, checks when it fires whether the quiet period really passed and
// re-arms for the rest, so it fires when refresh() would have. The clock is performance.now(), monotonic like
// libuv's: a wall clock stepped by NTP or a VM resume cannot fake a stall. Tests with fake timers must fake
// `performance` too (vitest does by default).

export class IdleTimer {
  private lastActivity = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly quietMs: number,
    private readonly onIdle: () => void,
  ) {}

  /** Activity: `onIdle` runs once `quietMs` pass without another touch. Starts the timer if it is not running. */
  touch(): void {
    if (this.stopped) return;
    this.lastActivity = performance.now();
    if (this.timer === undefined) this.arm(this.quietMs);
  }

  /** Stops it for good: later touches do nothing (as `refresh()` on a cleared Node timer did nothing). */
  clear(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.check, ms);
  }

  private readonly check = (): void => {
    const quiet = performance.now() - this.lastActivity;
    if (quiet < this.quietMs) return this.arm(this.quietMs - quiet);
    this.timer = undefined;
    this.onIdle();
  };
}
