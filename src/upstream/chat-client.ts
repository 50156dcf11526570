// The upstream streaming chat client: POST {baseUrl}/chat/completions over an injected undici dispatcher,
// SSE (or a plain JSON reply) → ChatEvents delivered synchronously to the sink, with retries, first-token and
// stall timeouts, and abort. It knows nothing about sessions or speech; chat-attempt.ts runs one HTTP attempt.
import { Pool, type Dispatcher } from 'undici';
import type { ErrorCode, GatewayError } from '../errors.js';
import type { UpstreamConnectionStats } from '../metrics.js';
import { SecretRedactor } from '../secrets.js';
import { sleep } from './abortable-sleep.js';
import { encodeChatBody } from './chat-body.js';
import type { AttemptContext, CallState } from './attempt-context.js';
import { runAttempt } from './chat-attempt.js';
import { outputBudgetChars } from './output-budget.js';
import { ConnectionWarmer, type PoolGauge, type TouchResult } from './connection-warmer.js';
import { fastGauge } from './pool-counts.js';
import type { ChatEventSink, ChatOutcome, ChatRequest, ChatStreamer, UpstreamLogger } from './types.js';
import { createUpstreamPool, keepAliveThresholdMs, UpstreamPool, yieldToPool } from './upstream-pool.js';
import { sendWarmUp, type WarmResult, type WarmUpPurpose } from './warm-up-request.js';

export type { UpstreamLogger } from './types.js';
export { createUpstreamPool } from './upstream-pool.js';
export type { WarmResult } from './warm-up-request.js';

export interface ChatClientOptions {
  /** e.g. https://api.asi1.ai/v1 (no trailing slash); the client POSTs {baseUrl}/chat/completions. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer …`; omitted when undefined. Never appears in errors or logs. */
  apiKey?: string;
  /** Injected by the app and tests; default: createUpstreamPool(baseUrl, { connections: 256 }), owned and closed by close(). */
  dispatcher?: Dispatcher;
  /** Per attempt: from sending the request until the first token (text, reasoning, tool call or finish). */
  firstTokenTimeoutMs: number;
  /** After the first data: longest silence between received bytes (comments/keep-alives count as life). */
  stallTimeoutMs: number;
  /** After the first event: longest run of keep-alives with no event (stall-watch.ts); at least stallTimeoutMs. */
  pingsOnlyTimeoutMs: number;
  /** Default 2. */
  maxRetries: number;
  /** Default 200; full-jitter exponential backoff: random(0, min(max, base × 2^(attempt-1))). */
  retryBaseDelayMs?: number;
  /** Default 2000; a Retry-After longer than this is not waited for: the call fails with the retryable error. */
  retryMaxDelayMs?: number;
  userAgent?: string;
  /** pino-compatible; retries at warn, malformed chunks at debug. Keys and user text are never logged. */
  logger?: UpstreamLogger;
  /**
   * Keep connections warm ahead of demand (connection-warmer.ts); needs a dispatcher with `stats` (an undici Pool;
   * an UpstreamPool also tells whether it speaks HTTP/2). `keepAliveMs` must be the pool's keep-alive.
   */
  warm?: { maxConnections: number; keepAliveMs: number; memoryMs?: number };
}

const DEFAULT_USER_AGENT = 'asi1-voice-gateway/0.1';
/** Only these failures are retried, and only while nothing was forwarded: a client must never hear a reply twice. */
const RETRIED: ReadonlySet<ErrorCode> = new Set([
  'GW_UPSTREAM_CONNECT',
  'GW_UPSTREAM_RATE_LIMITED',
  'GW_UPSTREAM_UNAVAILABLE',
  'GW_UPSTREAM_DROPPED',
]);

/** The pool as the warmer and metrics read it: counted in one pass for an undici Pool, else its own `stats`. */
function gaugeOf(dispatcher: Dispatcher): PoolGauge | undefined {
  if (dispatcher instanceof Pool) return fastGauge(dispatcher);
  const gauge = dispatcher as Partial<PoolGauge>;
  return gauge.stats === undefined ? undefined : (gauge as PoolGauge);
}

/**
 * OpenAI-compatible streaming chat client for ASI:One (and the simulator, llama.cpp, vLLM…).
 *
 * Invariants: each event reaches the sink in the same tick it was parsed; no event after an abort or after
 * the call settled; an abort resolves `{ aborted: true }` and never rejects; every other failure rejects with
 * a GatewayError whose message is client-safe (the API key never appears). Retries (connect errors, 429,
 * 5xx, and a drop) happen only while no `text`, `tool_call` or reasoning from `<think>` tags in `content` was
 * delivered; a retried attempt may repeat other `reasoning` events, which are never spoken.
 */
export class ChatClient implements ChatStreamer {
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly options: Readonly<Omit<ChatClientOptions, 'apiKey'>>;
  private readonly maxRetries: number;
  private readonly retryBaseDelayMs: number;
  private readonly retryMaxDelayMs: number;
  /** Keeps connections open ahead of demand (options.warm), or null. */
  private readonly warmer: ConnectionWarmer | null;
  /** The warmer's touches so far (metrics): to open a connection, to keep one open. */
  private readonly warmUps = { opening: 0, refreshing: 0 };
  /** The pool's counts (pool-counts.ts), for the warmer and metrics; undefined when the dispatcher has no stats. */
  private readonly gauge: PoolGauge | undefined;
  /** The upstream's host and port, as a traced call reports them (server.address, server.port). */
  private readonly server: { address: string; port: number };
  // ES-private so that logging or serialising the client can never reveal the key.
  readonly #headers: Record<string, string>;
  readonly #secrets: SecretRedactor;

  constructor(options: ChatClientOptions) {
    const { apiKey, ...rest } = options;
    this.options = rest;
    const url = new URL(options.baseUrl);
    this.origin = url.origin;
    this.server = { address: url.hostname, port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80) };
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher ?? createUpstreamPool(options.baseUrl, { connections: 256 });
    this.#headers = { 'user-agent': options.userAgent ?? DEFAULT_USER_AGENT };
    if (apiKey !== undefined) this.#headers.authorization = `Bearer ${apiKey}`;
    this.#secrets = new SecretRedactor([apiKey]);
    this.maxRetries = options.maxRetries ?? 2;
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 200;
    this.retryMaxDelayMs = options.retryMaxDelayMs ?? 2000;
    this.gauge = gaugeOf(this.dispatcher);
    this.warmer = this.createWarmer(options.warm);
  }

  /** The pool's open and free connections now, and the warm-ups sent; undefined when the dispatcher has no stats. */
  connectionStats(): UpstreamConnectionStats | undefined {
    const counts = this.gauge?.stats;
    if (counts === undefined) return undefined;
    return { open: counts.connected, free: counts.free, warmUps: { ...this.warmUps } };
  }

  /** A session opened: make a connection ready for its first turn (no-op without options.warm). */
  prepare(): void {
    this.warmer?.prepare();
  }

  async stream(request: ChatRequest, sink: ChatEventSink): Promise<ChatOutcome> {
    const state: CallState = { forwarded: false, finishReason: null, usage: null };
    const outcome = (aborted: boolean, attempts: number): ChatOutcome => ({
      finishReason: state.finishReason,
      usage: state.usage,
      aborted,
      attempts,
    });
    if (request.signal.aborted) return outcome(true, 0);

    const context: AttemptContext = {
      dispatcher: this.dispatcher,
      origin: this.origin,
      path: `${this.basePath}/chat/completions`,
      headers: {
        ...this.#headers,
        'content-type': 'application/json',
        accept: 'text/event-stream',
        'x-session-id': request.sessionId,
        // traceparent (tracing on): a tracing-aware upstream or proxy joins the turn's trace.
        ...request.trace?.headers,
      },
      body: encodeChatBody(request),
      signal: request.signal,
      sink,
      state,
      firstTokenTimeoutMs: this.options.firstTokenTimeoutMs,
      stallTimeoutMs: this.options.stallTimeoutMs,
      pingsOnlyTimeoutMs: this.options.pingsOnlyTimeoutMs,
      outputBudgetChars: outputBudgetChars(request.maxTokens),
      secrets: this.#secrets,
      logger: request.logger ?? this.options.logger,
      trace: request.trace,
    };
    const warmer = this.warmer;
    if (warmer === null) return this.attempts(context, outcome);
    warmer.streamStarted();
    try {
      // No free connection but one on its way: take it rather than open another on this turn's critical path.
      await warmer.ready(request.signal);
      return await this.attempts(context, outcome);
    } finally {
      warmer.streamEnded();
    }
  }

  /** The attempts of one call: the first, then retries with backoff while nothing was forwarded. */
  private async attempts(
    context: AttemptContext,
    outcome: (aborted: boolean, attempts: number) => ChatOutcome,
  ): Promise<ChatOutcome> {
    const { state, signal } = context;
    for (let attempt = 1; ; attempt += 1) {
      state.finishReason = null;
      state.usage = null;
      context.trace?.attemptStarted(attempt, this.server);
      const running = runAttempt(context);
      // The request holds its connection now (dispatch is synchronous): keep a spare ready for the next one.
      if (attempt === 1) this.warmer?.dispatched();
      const result = await running;
      if (result.kind === 'done') {
        await yieldToPool();
        return outcome(false, attempt);
      }
      if (result.kind === 'aborted') return outcome(true, attempt);
      const delayMs = this.retryDelayMs(result.error, attempt, state.forwarded);
      if (delayMs === undefined) throw result.error;
      context.trace?.retrying(attempt, result.error.code, result.error.status, delayMs);
      context.logger?.warn(
        { attempt, delayMs, code: result.error.code, status: result.error.status },
        'upstream attempt failed; retrying',
      );
      if (await sleep(delayMs, signal)) {
        state.finishReason = null;
        state.usage = null;
        return outcome(true, attempt);
      }
    }
  }

  /** The backoff before the next attempt, or undefined when this failure must not be retried. */
  private retryDelayMs(error: GatewayError, attempt: number, forwarded: boolean): number | undefined {
    if (forwarded || attempt > this.maxRetries) return undefined;
    if (!RETRIED.has(error.code) || !error.retryable) return undefined;
    const retryAfter = error.retryAfterMs;
    if (retryAfter !== undefined && retryAfter > this.retryMaxDelayMs) return undefined;
    const ceiling = Math.min(this.retryMaxDelayMs, this.retryBaseDelayMs * 2 ** (attempt - 1));
    return Math.max(retryAfter ?? 0, Math.floor(Math.random() * ceiling));
  }

  /**
   * Opens a keep-alive connection (GET {baseUrl}/models with the auth header) so the first turn does not
   * pay TCP/TLS set-up. Any HTTP answer counts as warmed (ASI:One may have no /models).
   * Never throws: failures are logged at warn and returned.
   */
  async warm(): Promise<WarmResult> {
    const { result } = await this.touch({ opens: false });
    if (!result.ok)
      this.options.logger?.warn({ code: result.error.code, err: result.error.cause }, 'upstream warm-up failed');
    return result;
  }

  /** One warm-up (warm-up-request.ts): to open a connection, or to refresh one unused since `staleBefore`. */
  private touch(purpose: WarmUpPurpose): Promise<{ result: WarmResult; keepAlive?: string | undefined }> {
    const target = {
      dispatcher: this.dispatcher,
      origin: this.origin,
      path: `${this.basePath}/models`,
      headers: this.#headers,
    };
    return sendWarmUp(target, purpose);
  }

  private createWarmer(warm: ChatClientOptions['warm']): ConnectionWarmer | null {
    const pool = this.gauge;
    if (warm === undefined || pool === undefined) return null;
    const chooses = this.dispatcher instanceof UpstreamPool && this.dispatcher.choosesConnections;
    if (this.dispatcher instanceof UpstreamPool && !chooses)
      this.options.logger?.warn({ undici: 'internals not found' }, 'warm-ups open connections only while none is free');
    return new ConnectionWarmer({
      ...warm,
      opensWhileFree: chooses,
      pool,
      keepAliveThresholdMs: keepAliveThresholdMs(warm.keepAliveMs),
      touch: async (opens, staleBefore): Promise<TouchResult> => {
        this.warmUps[opens ? 'opening' : 'refreshing'] += 1;
        const { result, keepAlive } = await this.touch({ opens, staleBefore });
        if (!result.ok) this.options.logger?.debug({ code: result.error.code }, 'upstream warm-up failed');
        return { ok: result.ok, keepAlive };
      },
    });
  }

  /** Stops the warmer; closes the pool if this client created it (an injected dispatcher belongs to its owner). */
  async close(): Promise<void> {
    this.warmer?.close();
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}
