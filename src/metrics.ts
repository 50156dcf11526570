// Prometheus metrics (prom-client), one registry per app so tests can build many apps. Sessions report
// through the small GatewayObserver interface, so nothing below the transport imports prom-client.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ResponseStatus, ResponseTimings, Usage } from './protocol.js';

/** What a settled response reports: one call per response.done. */
export interface ResponseSummary {
  status: ResponseStatus;
  timings: ResponseTimings;
  usage?: Usage;
  errorCode?: string;
  /** Gateway's own share of the first-token latency (before the upstream request + after the first token). */
  addedMs?: number;
  /** The model of each upstream request the response made, in order (a second one after an escalation). */
  upstreamModels?: readonly string[];
}

/** The observability hooks the session layer calls. */
export interface GatewayObserver {
  responseStarted(): void;
  responseSettled(summary: ResponseSummary): void;
}

/** One settled reply, as the quality figures see it (per model and experiment arm). */
export interface ReplyQuality {
  /** The counted experiment arm, or null (no experiment, or the client chose its own model). */
  arm: string | null;
  /** The model that began the reply (the session's); `models` also names a deeper one it escalated to. */
  model: string;
  models: readonly string[];
  status: ResponseStatus;
  firstTokenMs: number | null;
  firstSpeechMs: number | null;
  replyChars: number;
  /** Characters of the reply the user heard (all of a completed one, until the client says otherwise). */
  heardChars: number;
  toolCalls: number;
  toolErrors: number;
  escalated: boolean;
  promptTokens: number;
  completionTokens: number;
  /** Estimated from MODEL_PRICES; null when a model of the reply has no price. */
  costUsd: number | null;
}

/** Where the quality figures go: Prometheus series by model and arm, and the experiment's totals. */
export interface QualityObserver {
  /** A session had its first reply: one conversation of its arm. */
  sessionStarted(arm: string | null): void;
  replySettled(reply: ReplyQuality): void;
  /** A completed reply the client stopped while speaking it: it counts as interrupted, with what was heard. */
  replyCutWhileSpoken(reply: { arm: string | null; model: string; replyChars: number; heardChars: number }): void;
  /** `previous`: the rating this reply had before (a changed mind replaces it). */
  feedback(reply: { arm: string | null; model: string }, rating: 'up' | 'down', previous: 'up' | 'down' | null): void;
  /** The next turn restated the one this reply answered. */
  reask(reply: { arm: string | null; model: string }): void;
}

/** Why a speculation was dropped: the turn said something else, the interim changed, the prompt changed under it, it failed, or the session ended. */
export type DiscardReason = 'mismatch' | 'revised' | 'stale' | 'failed' | 'closed';

/** What speculation costs and saves (protocol 1.2's turn.interim). */
export interface SpeculationObserver {
  speculationStarted(): void;
  speculationAdopted(): void;
  /** `tokens`: completion tokens it spent (the upstream's count, or estimated from its text when cut off). */
  speculationDiscarded(reason: DiscardReason, tokens: number): void;
  /** A user turn committed; `upstreamRequests` counts its speculations and the reply's own request. */
  turnCommitted(upstreamRequests: number, speculative: boolean): void;
}

/** The upstream pool as a scrape reads it (ChatClient.connectionStats); undefined when the dispatcher cannot tell. */
export interface UpstreamConnectionStats {
  open: number;
  free: number;
  /** Warm-up requests (GET /models) sent since start: to open a connection, or to keep an idle one from expiring. */
  warmUps: { opening: number; refreshing: number };
}

const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000, 30000];
const ADDED_BUCKETS_MS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 25, 50, 100];

export class GatewayMetrics implements GatewayObserver, SpeculationObserver {
  readonly registry = new Registry();
  private readonly firstToken = this.histogram(
    'asi1_gateway_first_token_ms',
    'Time from turn to first forwarded delta',
    LATENCY_BUCKETS_MS,
  );
  private readonly firstSpeech = this.histogram(
    'asi1_gateway_first_speech_ms',
    'Time from turn to first speech segment',
    LATENCY_BUCKETS_MS,
  );
  private readonly duration = this.histogram(
    'asi1_gateway_response_duration_ms',
    'Time from turn to response.done',
    LATENCY_BUCKETS_MS,
  );
  private readonly added = this.histogram(
    'asi1_gateway_added_latency_ms',
    'Gateway share of first-token latency',
    ADDED_BUCKETS_MS,
  );
  private readonly responses = new Counter({
    name: 'asi1_gateway_responses_total',
    help: 'Responses by final status',
    labelNames: ['status'],
    registers: [this.registry],
  });
  private readonly upstreamErrors = new Counter({
    name: 'asi1_gateway_upstream_errors_total',
    help: 'Failed responses by error code',
    labelNames: ['code'],
    registers: [this.registry],
  });
  private readonly interruptions = new Counter({
    name: 'asi1_gateway_interruptions_total',
    help: 'Responses interrupted (barge-in, new turn, disconnect, drain)',
    registers: [this.registry],
  });
  private readonly tokens = new Counter({
    name: 'asi1_gateway_tokens_total',
    help: 'Upstream tokens by direction',
    labelNames: ['direction'],
    registers: [this.registry],
  });
  readonly rejectedConnections = new Counter({
    name: 'asi1_gateway_rejected_connections_total',
    help: 'Refused or dropped connections by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly openSessions = new Gauge({
    name: 'asi1_gateway_open_sessions',
    help: 'Open WebSocket sessions',
    registers: [this.registry],
  });
  readonly activeResponses = new Gauge({
    name: 'asi1_gateway_active_responses',
    help: 'Responses in progress',
    registers: [this.registry],
  });
  readonly redisUp = new Gauge({
    name: 'asi1_gateway_redis_up',
    help: '1 while Redis (REDIS_URL) is reachable, 0 while the gateway serves from memory; absent without Redis',
    registers: [this.registry],
  });
  readonly redisErrors = new Counter({
    name: 'asi1_gateway_redis_errors_total',
    help: 'Redis operations that failed, by operation',
    labelNames: ['operation'],
    registers: [this.registry],
  });
  readonly breakerState = new Gauge({
    name: 'asi1_gateway_upstream_breaker_open',
    help: '1 while the upstream circuit breaker is open or probing',
    registers: [this.registry],
  });

  private readonly upstreamRequests = new Counter({
    name: 'asi1_gateway_upstream_requests_total',
    help: 'Upstream requests of settled responses, by model (speculations count only once adopted)',
    labelNames: ['model'],
    registers: [this.registry],
  });
  private readonly speculations = new Counter({
    name: 'asi1_gateway_speculations_total',
    help: 'Speculative replies by outcome: started, adopted, discarded',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  private readonly discards = new Counter({
    name: 'asi1_gateway_speculations_discarded_total',
    help: 'Discarded speculative replies by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly discardedTokens = new Counter({
    name: 'asi1_gateway_speculation_discarded_tokens_total',
    help: 'Completion tokens spent on discarded speculations (estimated from the text when cut off)',
    registers: [this.registry],
  });
  private readonly committedTurns = new Counter({
    name: 'asi1_gateway_turns_committed_total',
    help: 'Committed user turns (native endpoint), by whether a speculation answered them',
    labelNames: ['speculative'],
    registers: [this.registry],
  });
  private readonly turnRequests = new Counter({
    name: 'asi1_gateway_turn_upstream_requests_total',
    help: "Upstream requests a committed turn started for its answer: its speculations and, unless one was adopted, the reply's first (divide by turns committed)",
    registers: [this.registry],
  });

  /** Read at each scrape (watchUpstream); null until the app is given the upstream's pool. */
  private upstream: (() => UpstreamConnectionStats | undefined) | null = null;
  private readonly upstreamConnections = new Gauge({
    name: 'asi1_gateway_upstream_connections',
    help: 'Upstream connections open now (state="open"), and of those the ones free for a request (state="free")',
    labelNames: ['state'],
    registers: [this.registry],
    collect: () => {
      const stats = this.upstream?.();
      if (stats === undefined) return;
      this.upstreamConnections.set({ state: 'open' }, stats.open);
      this.upstreamConnections.set({ state: 'free' }, stats.free);
    },
  });
  // Against the real API every warm-up is a request on the operator's key: this says how many the warmer sends.
  private readonly warmUps = new Counter({
    name: 'asi1_gateway_upstream_warmups_total',
    help: 'Warm-up requests (GET /models) sent upstream: purpose="open" adds a connection, "refresh" keeps one open',
    labelNames: ['purpose'],
    registers: [this.registry],
    collect: () => {
      const stats = this.upstream?.();
      if (stats === undefined) return;
      this.warmUps.reset();
      this.warmUps.inc({ purpose: 'open' }, stats.warmUps.opening);
      this.warmUps.inc({ purpose: 'refresh' }, stats.warmUps.refreshing);
    },
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** The upstream pool's connections and warm-ups, read at each scrape. */
  watchUpstream(read: () => UpstreamConnectionStats | undefined): void {
    this.upstream = read;
  }

  responseStarted(): void {
    this.activeResponses.inc();
  }

  responseSettled(summary: ResponseSummary): void {
    this.activeResponses.dec();
    this.responses.inc({ status: summary.status });
    if (summary.status === 'interrupted') this.interruptions.inc();
    if (summary.errorCode !== undefined) this.upstreamErrors.inc({ code: summary.errorCode });
    const { firstTokenMs, firstSpeechMs, totalMs } = summary.timings;
    if (firstTokenMs !== null) this.firstToken.observe(firstTokenMs);
    if (firstSpeechMs !== null) this.firstSpeech.observe(firstSpeechMs);
    this.duration.observe(totalMs);
    if (summary.addedMs !== undefined) this.added.observe(summary.addedMs);
    for (const model of summary.upstreamModels ?? []) this.upstreamRequests.inc({ model });
    if (summary.usage) {
      this.tokens.inc({ direction: 'in' }, summary.usage.promptTokens);
      this.tokens.inc({ direction: 'out' }, summary.usage.completionTokens);
    }
  }

  speculationStarted(): void {
    this.speculations.inc({ outcome: 'started' });
  }

  speculationAdopted(): void {
    this.speculations.inc({ outcome: 'adopted' });
  }

  speculationDiscarded(reason: DiscardReason, tokens: number): void {
    this.speculations.inc({ outcome: 'discarded' });
    this.discards.inc({ reason });
    this.discardedTokens.inc(tokens);
  }

  turnCommitted(upstreamRequests: number, speculative: boolean): void {
    this.committedTurns.inc({ speculative: String(speculative) });
    this.turnRequests.inc(upstreamRequests);
  }

  private histogram(name: string, help: string, buckets: number[]): Histogram {
    return new Histogram({ name, help, buckets, registers: [this.registry] });
  }
}
