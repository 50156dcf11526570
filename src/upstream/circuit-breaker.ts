// A circuit breaker in front of the upstream: after N consecutive failures that mean "the service is down"
// it opens and fails fast (GW_UPSTREAM_CIRCUIT_OPEN, retryable) for a cooldown, then lets one probe through;
// the probe's success closes it, its failure re-opens it. Client errors (4xx, auth) never trip it.
import { GatewayError, type ErrorCode } from '../errors.js';
import type { ChatEventSink, ChatOutcome, ChatRequest, ChatStreamer } from './types.js';

/** Failures that say the upstream itself is unhealthy. */
const TRIPPING: ReadonlySet<ErrorCode> = new Set([
  'GW_UPSTREAM_CONNECT',
  'GW_UPSTREAM_UNAVAILABLE',
  'GW_UPSTREAM_TIMEOUT',
  'GW_UPSTREAM_STALLED',
  'GW_UPSTREAM_DROPPED',
  'GW_UPSTREAM_PROTOCOL',
]);

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  failureThreshold: number;
  cooldownMs: number;
  now?: () => number;
  onStateChange?: (state: BreakerState) => void;
}

export class CircuitBreaker implements ChatStreamer {
  private stateValue: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private readonly now: () => number;

  constructor(
    private readonly inner: ChatStreamer,
    private readonly options: CircuitBreakerOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  get state(): BreakerState {
    if (this.stateValue === 'open' && this.now() - this.openedAt >= this.options.cooldownMs) return 'half-open';
    return this.stateValue;
  }

  /** Forwarded while the breaker is closed: an upstream that is failing gets no warm-ups. */
  prepare(): void {
    if (this.state === 'closed') this.inner.prepare?.();
  }

  async stream(request: ChatRequest, sink: ChatEventSink): Promise<ChatOutcome> {
    const state = this.state;
    if (state === 'open' || (state === 'half-open' && this.probing)) {
      const retryAfterMs = Math.max(0, this.openedAt + this.options.cooldownMs - this.now());
      throw new GatewayError('GW_UPSTREAM_CIRCUIT_OPEN', { retryAfterMs });
    }
    const isProbe = state === 'half-open';
    if (isProbe) {
      this.probing = true;
      this.setState('half-open');
    }
    try {
      const outcome = await this.inner.stream(request, sink);
      if (!outcome.aborted || isProbe) this.recordSuccess();
      return outcome;
    } catch (err) {
      if (err instanceof GatewayError && TRIPPING.has(err.code)) this.recordFailure(isProbe);
      else if (isProbe) this.recordSuccess(); // the service answered, even if with a client error
      throw err;
    } finally {
      if (isProbe) this.probing = false;
    }
  }

  private recordSuccess(): void {
    this.failures = 0;
    if (this.stateValue !== 'closed') this.setState('closed');
  }

  private recordFailure(wasProbe: boolean): void {
    this.failures += 1;
    if (wasProbe || this.failures >= this.options.failureThreshold) {
      this.openedAt = this.now();
      this.setState('open');
    }
  }

  private setState(state: BreakerState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.options.onStateChange?.(state);
  }
}
