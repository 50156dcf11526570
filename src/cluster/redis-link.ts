// The gateway's connections to Redis (ioredis): one for commands, one for pub/sub, and short-lived ones for
// blocking stream reads. Tracks whether Redis is usable, so callers degrade to in-memory state instead of
// queueing work behind a dead server: commands fail fast while it is down, and ioredis keeps reconnecting.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

export interface RedisLinkEvents {
  up: [];
  down: [reason: string];
}

/** Reconnect backoff: quick at first, then at most every 2 s, forever (Redis may come back any time). */
function retryDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 6), 2_000);
}

/**
 * Bounds a Redis call. Commands reject at once while the link is down, but one already in flight when the
 * connection dies waits for ioredis's reconnect and retry; callers must not hang on that.
 */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  // The losing side may still settle later; it must not surface as an unhandled rejection.
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const REDIS_CALL_TIMEOUT_MS = 500;
/** Longest a blocking reader's command may take (its blocks are much shorter). */
const BLOCKING_COMMAND_TIMEOUT_MS = 10_000;
/** Longest any other command may take: a write still pending then fails (and is retried or rewritten) rather
 * than holding up everything that waits for writes to settle. */
const COMMAND_TIMEOUT_MS = 5_000;

/** Every script, so a fresh connection loads them all before anything can run them (see RedisLink). */
const scripts = new Set<LuaScript>();

/**
 * A Lua script run by SHA. RedisLink loads every script on each (re)connect. A call that meets a Redis without it
 * anyway (one ioredis re-sent after a reconnect, ahead of that load; a SCRIPT FLUSH) fails rather than falling
 * back to EVAL: the fallback would be sent after commands issued later and could apply an older write over a
 * newer one. Callers already treat a failed call as "Redis missed this" (a rewrite, a resync, a retry).
 */
export class LuaScript {
  private readonly sha: string;

  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
    scripts.add(this);
  }

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      // Loaded for the calls after this one (in order behind it), but this one is not retried out of order.
      if (err instanceof Error && err.message.includes('NOSCRIPT'))
        redis.script('LOAD', this.lua).catch(() => undefined);
      throw err;
    }
  }
}

/** host:port of a Redis URL, for logs: the URL itself may carry a password. */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

export class RedisLink extends EventEmitter<RedisLinkEvents> {
  /** Commands (auto-pipelined: one round trip carries everything issued in the same tick). */
  readonly commands: Redis;
  /** Subscriptions only (a subscribed connection cannot run other commands). */
  readonly subscriber: Redis;
  private up = false;
  private closing = false;
  private readonly blockingReaders = new Set<Redis>();

  constructor(
    private readonly url: string,
    readonly keyPrefix: string,
    private readonly logger: Logger,
  ) {
    super();
    this.commands = new Redis(url, this.options({ enableAutoPipelining: true, commandTimeout: COMMAND_TIMEOUT_MS }));
    // Subscriptions may be issued before the first connect; ioredis re-subscribes after every reconnect.
    this.subscriber = new Redis(url, this.options({ enableOfflineQueue: true, maxRetriesPerRequest: null }));
    this.commands.on('ready', () => {
      // First on the new connection, so every EVALSHA issued after it finds its script (Redis may be empty).
      for (const script of scripts) this.commands.script('LOAD', script.lua).catch(() => undefined);
      this.setUp(true);
    });
    this.commands.on('close', () => this.setUp(false, 'connection closed'));
    // ioredis reports every failed attempt here; the state change is what matters, the rest is debug noise.
    this.commands.on('error', (err: Error) => this.logger.debug({ err: err.message }, 'redis error'));
    this.subscriber.on('error', (err: Error) => this.logger.debug({ err: err.message }, 'redis subscriber error'));
  }

  get isUp(): boolean {
    return this.up && !this.closing;
  }

  /** Resolves once both connections are ready, or rejects after `timeoutMs` (the gateway then starts degraded). */
  async ready(timeoutMs: number): Promise<void> {
    await withTimeout(Promise.all([waitReady(this.commands), waitReady(this.subscriber)]), timeoutMs);
  }

  /** A separate connection for one blocking read (XREAD BLOCK would stall every other command). Close it after use. */
  blockingReader(): Redis {
    // A reply later than any block a reader asks for means a dead connection (one that vanished without a reset).
    const reader = new Redis(
      this.url,
      this.options({ maxRetriesPerRequest: 0, enableOfflineQueue: true, commandTimeout: BLOCKING_COMMAND_TIMEOUT_MS }),
    );
    reader.on('error', (err: Error) => this.logger.debug({ err: err.message }, 'redis reader error'));
    this.blockingReaders.add(reader);
    reader.once('end', () => this.blockingReaders.delete(reader));
    return reader;
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const reader of this.blockingReaders) reader.disconnect();
    await Promise.allSettled([this.commands.quit(), this.subscriber.quit()]);
    this.commands.disconnect();
    this.subscriber.disconnect();
  }

  private setUp(up: boolean, reason = ''): void {
    if (this.closing || up === this.up) return;
    this.up = up;
    if (up) {
      this.logger.info({ redis: describeRedisUrl(this.url) }, 'redis connected');
      this.emit('up');
    } else {
      this.logger.warn(
        { redis: describeRedisUrl(this.url), reason },
        'redis unavailable: serving from memory until it returns',
      );
      this.emit('down', reason);
    }
  }

  private options(overrides: Partial<RedisOptions>): RedisOptions {
    return {
      // Fail fast while disconnected: the caller falls back to memory instead of waiting on a queue.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      // Notices a connection that vanished without a reset (a host or network gone) within seconds.
      keepAlive: 5_000,
      retryStrategy: retryDelay,
      lazyConnect: false,
      ...overrides,
    };
  }
}

function waitReady(client: Redis): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => client.once('ready', () => resolve()));
}
