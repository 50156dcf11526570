// A timeout that restarts on every sign of activity, for per-token paths (the upstream's stall timer, speech's
// idle flush). `Timeout.refresh()` re-inserts the timer into Node's timer list and reads libuv's clock on every
// call: once per token per session, that was a measurable share of the gateway's CPU per delta. Here touch()
// only stamps the time; the timer, armed once, checks when it fires whether the quiet period really passed and
// re-arms for the rest. It fires at the same moment refresh() would have. Date.now (not performance.now) so
// that fake timers, which fake Date, stay exact.

export class IdleTimer {
  private lastActivity = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly quietMs: number,
    private readonly onIdle: () => void,
  ) {}

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Activity: `onIdle` runs once `quietMs` pass without another touch. Starts the timer if it is not running. */
  touch(): void {
    this.lastActivity = Date.now();
    if (this.timer === undefined) this.arm(this.quietMs);
  }

  /** Stops it; a later touch() starts it again. */
  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.check, ms);
  }

  private readonly check = (): void => {
    const now = Date.now();
    let quiet = now - this.lastActivity;
    // A clock set back counts as activity now: the timeout comes at most quietMs late, never hours late.
    if (quiet < 0) {
      this.lastActivity = now;
      quiet = 0;
    }
    if (quiet < this.quietMs) return this.arm(this.quietMs - quiet);
    this.timer = undefined;
    this.onIdle();
  };
}
