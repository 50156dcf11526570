// Caps concurrent upstream requests, with a short FIFO queue in front. A full queue, or a wait longer than the
// queue timeout, fails fast with a retryable GW_UPSTREAM_BUSY: a voice user is better told "busy" than kept waiting.
import { GatewayError } from '../errors.js';
import type { ChatEventSink, ChatOutcome, ChatRequest, ChatStreamer } from './types.js';

interface Waiter {
  start: () => void;
  fail: (error: GatewayError) => void;
}

export interface ConcurrencyLimiterOptions {
  maxConcurrent: number;
  queueSize: number;
  queueTimeoutMs: number;
}

export class ConcurrencyLimiter implements ChatStreamer {
  private active = 0;
  private readonly queue: Waiter[] = [];

  constructor(
    private readonly inner: ChatStreamer,
    private readonly options: ConcurrencyLimiterOptions,
  ) {}

  get activeCount(): number {
    return this.active;
  }

  get queuedCount(): number {
    return this.queue.length;
  }

  prepare(): void {
    this.inner.prepare?.();
  }

  async stream(request: ChatRequest, sink: ChatEventSink): Promise<ChatOutcome> {
    if (this.active >= this.options.maxConcurrent) {
      const admitted = await this.wait(request.signal);
      if (!admitted) return { finishReason: null, usage: null, aborted: true, attempts: 0 };
    }
    this.active += 1;
    try {
      return await this.inner.stream(request, sink);
    } finally {
      this.active -= 1;
      this.queue.shift()?.start();
    }
  }

  /** Resolves true when a slot is free, false when the request was aborted while waiting; rejects when busy. */
  private wait(signal: AbortSignal): Promise<boolean> {
    if (this.queue.length >= this.options.queueSize) return Promise.reject(new GatewayError('GW_UPSTREAM_BUSY'));
    return new Promise((resolve, reject) => {
      const leave = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        const index = this.queue.indexOf(waiter);
        if (index >= 0) this.queue.splice(index, 1);
      };
      const waiter: Waiter = {
        start: () => {
          leave();
          resolve(true);
        },
        fail: (error) => {
          leave();
          reject(error);
        },
      };
      const onAbort = () => {
        leave();
        resolve(false);
      };
      const timer = setTimeout(() => waiter.fail(new GatewayError('GW_UPSTREAM_BUSY')), this.options.queueTimeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
    });
  }
}
