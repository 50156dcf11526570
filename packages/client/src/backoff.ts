// Reconnect timing: exponential backoff with jitter, so a fleet of clients that lost the same gateway does not
// come back in lockstep. Pure: the caller owns the timer.

export interface ReconnectOptions {
  /** First delay (default 250 ms). */
  minDelayMs?: number;
  /** Cap on any delay (default 10 s). */
  maxDelayMs?: number;
  /** Attempts after one drop before giving up (default: unlimited). */
  maxAttempts?: number;
}

export interface Backoff {
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxAttempts: number;
}

export function backoffFrom(options: ReconnectOptions = {}): Backoff {
  const minDelayMs = Math.max(0, options.minDelayMs ?? 250);
  return {
    minDelayMs,
    maxDelayMs: Math.max(minDelayMs, options.maxDelayMs ?? 10_000),
    maxAttempts: options.maxAttempts ?? Number.POSITIVE_INFINITY,
  };
}

/** The wait before attempt `attempt` (0-based): min·2^attempt capped at max, then a random 50–100 % of it. */
export function delayFor(backoff: Backoff, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(backoff.maxDelayMs, backoff.minDelayMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling * (0.5 + random() * 0.5));
}
