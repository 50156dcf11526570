// Keeps upstream connections open ahead of demand, so that no turn pays TCP + TLS set-up on its critical path: a
// spare connection for every session that just opened (its first turn is coming) and for the recent peak of
// concurrent requests plus one, refreshed before the keep-alive timeout closes it, never more than the cap. A turn
// that finds no free connection while a warm-up is opening one waits for it instead of opening its own.
import { DecayingPeak } from './decaying-peak.js';

/** What the warmer reads of the pool: an undici Pool's `stats`, and UpstreamPool's protocol (absent: h1). */
export interface PoolGauge {
  readonly stats: {
    readonly connected: number;
    readonly free: number;
    readonly pending: number;
    readonly queued: number;
  };
  /** h2: one open connection carries new requests beside its others; pending: not known before one connects. */
  readonly protocol?: 'h1' | 'h2' | 'pending';
  /** Whether a connection is open and free now; cheaper than `stats` (it stops at the first). Absent: stats.free. */
  hasFree?(): boolean;
  /**
   * Connections open now, counted from the pool's connect and disconnect events, without reading each one: for a
   * moment after a connection closes it is one above `stats.connected`. Absent: ensure() always counts.
   */
  readonly openConnections?: number;
  /** Open free connections that took a request at or after `since` (Date.now()); absent: none is known to have. */
  freshFree?(since: number): number;
}

/** One light request (GET /models) on the pool: it opens a connection, or keeps an idle one from expiring. */
export interface TouchResult {
  ok: boolean;
  /** The response's Keep-Alive header (`timeout=5`), when it sent one. */
  keepAlive?: string | undefined;
}

export interface ConnectionWarmerOptions {
  pool: PoolGauge;
  /**
   * Never rejects. `opens`: the touch must open a connection (the pool takes a closed or new one for it, not an
   * open free one); otherwise it refreshes an open free connection (with `staleBefore`, one that last took a
   * request before then, where the pool knows), or opens one when none is free.
   */
  touch: (opens: boolean, staleBefore?: number) => Promise<TouchResult>;
  /** Warm-ups never bring the connections open (or opening) above this. */
  maxConnections: number;
  /** The pool's idle keep-alive; the server's Keep-Alive hint (less undici's threshold) can shorten it. */
  keepAliveMs: number;
  /** Taken off the server's hint, as the pool does (keepAliveThresholdMs). */
  keepAliveThresholdMs: number;
  /** How long an opened session waits for its first turn, and a concurrency peak is remembered. Default 60 s. */
  memoryMs?: number;
  /**
   * Whether a touch that opens gets a connection of its own even while one is free (the pool chooses connections:
   * connection-choice.ts). Default true. When false, such a touch would ride the free connection and the pool would
   * never grow, so the warmer opens connections only while none is free.
   */
  opensWhileFree?: boolean;
}

/** Idle connections still wanted are touched again before they have been idle this share of their keep-alive. */
export const REFRESH_FRACTION = 0.6;
const MIN_REFRESH_MS = 250;
/** A warm-up slower than this (a slow GET /models) is not waited for: the request opens its own connection. */
export const MAX_READY_WAIT_MS = 1_000;
const DEFAULT_MEMORY_MS = 60_000;
/**
 * A free connection idle this long may already be gone: an upstream may close idle connections sooner than it
 * says (HTTP/2 sends no Keep-Alive hint at all). A session that opens then touches one off the turn's path: the
 * touch restarts the upstream's idle clock, or opens a fresh connection if that one was closed.
 */
export const STALE_IDLE_MS = 1_000;

interface WarmUp {
  readonly done: Promise<void>;
  /** A waiting request has taken this one's connection (HTTP/1.1: one each). */
  claimed: boolean;
  readonly opens: boolean;
}

/** dispatched() counts the pool at most this often (then once more at the interval's end)… */
export const ENSURE_INTERVAL_MS = 20;
/**
 * …and, for a large pool, at most once per (its connections ÷ this) ms, up to ENSURE_MAX_INTERVAL_MS. Counting
 * reads every connection's socket, and a thousand of them lie scattered in memory: at 1,000 sessions, counting
 * every 20 ms took about 2 % of the gateway's CPU. A pool that large keeps spares for its recent peak, which cover
 * the longer wait.
 */
export const ENSURE_CONNECTIONS_PER_MS = 10;
export const ENSURE_MAX_INTERVAL_MS = 200;

export class ConnectionWarmer {
  private readonly warmUps: WarmUp[] = [];
  /** When ensure() last counted the pool, and its trailing run if one is due. */
  private ensuredAt = -Infinity;
  private ensureTimer: NodeJS.Timeout | undefined;
  /** When each session opened whose first turn has not started yet (oldest first). */
  private readonly expected: number[] = [];
  private streams = 0;
  private readonly peak: DecayingPeak;
  /** The pool's connections (open or opening) at the last count: how far apart dispatched() counts. */
  private counted = 0;
  private readonly memoryMs: number;
  private keepAliveMs: number;
  private backoffUntil = 0;
  /** When a request or a touch last went over the pool. */
  private lastActive = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: ConnectionWarmerOptions) {
    this.memoryMs = options.memoryMs ?? DEFAULT_MEMORY_MS;
    this.peak = new DecayingPeak(this.memoryMs);
    this.keepAliveMs = options.keepAliveMs;
    this.schedule();
  }

  /** The longest a wanted idle connection goes untouched: a little before the effective keep-alive closes it. */
  get refreshMs(): number {
    return Math.max(MIN_REFRESH_MS, Math.floor(this.keepAliveMs * REFRESH_FRACTION));
  }

  /** A session opened: its first turn should find a connection ready. */
  prepare(): void {
    if (this.closed) return;
    if (this.expected.length < this.options.maxConnections) this.expected.push(Date.now());
    const stale = Date.now() - this.lastActive > STALE_IDLE_MS && this.hasFree();
    if (stale && !this.warmUps.some((w) => !w.opens)) this.warmUp(false);
    this.ensure();
  }

  /** A request starts: it consumes one opened session's expectation and counts toward the peak. */
  streamStarted(): void {
    this.lastActive = Date.now();
    this.expected.shift();
    this.streams += 1;
    this.peak.note(this.streams);
  }

  streamEnded(): void {
    this.lastActive = Date.now();
    this.streams -= 1;
  }

  /**
   * When no connection is free but a warm-up is opening (or refreshing) one, the promise of that warm-up (at most
   * MAX_READY_WAIT_MS): the request then takes its connection instead of opening another. Undefined: dispatch
   * now. Never rejects.
   */
  ready(signal: AbortSignal): Promise<void> | undefined {
    // The request is dispatched right after this returns, so the next one already sees its connection taken.
    if (this.closed || this.hasFree()) return undefined;
    const multiplexed = this.multiplexed();
    const warmUp = this.warmUps.find((w) => multiplexed || !w.claimed);
    if (warmUp === undefined) return undefined;
    warmUp.claimed = true;
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, MAX_READY_WAIT_MS);
      signal.addEventListener('abort', done, { once: true });
      void warmUp.done.then(done);
    });
  }

  /** Opens connections until the spare wanted is free or on its way, within the cap. */
  ensure(): void {
    if (this.closed || Date.now() < this.backoffUntil) return;
    this.ensuredAt = performance.now();
    this.forgetExpired();
    const opening = this.warmUps.filter((w) => w.opens).length;
    // At the cap there is nothing to open, and a busy pool is usually there: skip reading every connection.
    const open = this.options.pool.openConnections;
    if (open !== undefined && open + opening >= this.options.maxConnections) {
      this.counted = open;
      return;
    }
    const { connected, free, pending, queued } = this.options.pool.stats;
    this.counted = connected + pending;
    if (queued > 0) return; // every connection is taken and requests wait: warm-ups would only queue too
    if (free > 0 && this.options.opensWhileFree === false) return;
    const coming = free + this.warmUps.length;
    const room = this.options.maxConnections - connected - pending - opening;
    const missing = Math.min(this.spareWanted() - coming, room);
    for (let i = 0; i < missing; i += 1) this.warmUp(true);
  }

  /**
   * A request was just dispatched: ensure(), at most once per interval (else once more at its end): 20 ms, or
   * longer for a large pool (ENSURE_CONNECTIONS_PER_MS). Counting walks every connection, so it cannot run on
   * every turn.
   */
  dispatched(): void {
    const interval = Math.min(
      ENSURE_MAX_INTERVAL_MS,
      Math.max(ENSURE_INTERVAL_MS, this.counted / ENSURE_CONNECTIONS_PER_MS),
    );
    const wait = this.ensuredAt + interval - performance.now();
    if (wait <= 0) return this.ensure();
    this.ensureTimer ??= setTimeout(() => {
      this.ensureTimer = undefined;
      this.ensure();
    }, wait);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.ensureTimer);
  }

  /** Idle connections wanted: one, plus one per session about to speak, plus the way back to the recent peak. */
  private spareWanted(): number {
    if (this.multiplexed()) return 1;
    return 1 + this.expected.length + Math.max(0, this.peak.value() - this.streams);
  }

  /**
   * Over HTTP/2 one connection is enough, and every waiting request may take it. While an `auto` pool has not
   * learnt what its upstream speaks, the same: one connection is opened first, and tells.
   */
  private multiplexed(): boolean {
    const protocol = this.options.pool.protocol ?? 'h1';
    return protocol !== 'h1';
  }

  private hasFree(): boolean {
    const { pool } = this.options;
    return pool.hasFree === undefined ? pool.stats.free > 0 : pool.hasFree();
  }

  private forgetExpired(): void {
    const horizon = Date.now() - this.memoryMs;
    while (this.expected.length > 0 && (this.expected[0] ?? 0) < horizon) this.expected.shift();
  }

  private warmUp(opens: boolean, staleBefore?: number): void {
    const warmUp: WarmUp = {
      opens,
      claimed: false,
      done: this.options.touch(opens, staleBefore).then((result) => {
        this.lastActive = Date.now();
        this.warmUps.splice(this.warmUps.indexOf(warmUp), 1);
        if (result.ok) this.learnKeepAlive(result.keepAlive);
        else this.backoffUntil = Date.now() + this.refreshMs;
      }),
    };
    this.warmUps.push(warmUp);
  }

  /** `Keep-Alive: timeout=N` from the upstream: undici keeps an idle socket N s less its threshold, at most ours. */
  private learnKeepAlive(header: string | undefined): void {
    const seconds = /\btimeout=(\d+)/i.exec(header ?? '')?.[1];
    if (seconds === undefined) return;
    const hinted = Number(seconds) * 1000 - this.options.keepAliveThresholdMs;
    this.keepAliveMs = Math.max(0, Math.min(this.options.keepAliveMs, hinted));
  }

  /**
   * One round: touches the idle connections still wanted (the rest are left to close), then tops up. Where the pool
   * knows which connections took a request (freshFree), rounds run every refreshMs / 2, and a free connection that
   * took one since the last round (a tenth of a round more, for a late timer) is left alone: by the next round it
   * has been idle less than refreshMs. So an idle pool is touched every other round, a busy one hardly at all.
   * Elsewhere every wanted free connection is touched, every refreshMs. The spares kept beside the busy
   * connections stay within the cap.
   */
  private refresh(): void {
    this.forgetExpired();
    const { connected, free } = this.options.pool.stats;
    const refreshing = this.warmUps.filter((w) => !w.opens).length;
    const since = Date.now() - this.roundMs * 1.1;
    const fresh = this.options.pool.freshFree?.(since) ?? 0;
    const kept = Math.min(free, this.spareWanted(), this.options.maxConnections - (connected - free));
    for (let i = fresh + refreshing; i < kept; i += 1) this.warmUp(false, since);
    this.ensure();
  }

  private get roundMs(): number {
    return this.options.pool.freshFree === undefined ? this.refreshMs : this.refreshMs / 2;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      if (this.closed) return;
      this.refresh();
      this.schedule();
    }, this.roundMs);
    this.timer.unref();
  }
}
