// This gateway instance's heartbeat in Redis, so the other instances can tell whether it is still alive (and
// ignore what a crashed instance left behind). Owns the presence keys; does not decide what to do about a dead peer.
import { LuaScript, REDIS_CALL_TIMEOUT_MS, withTimeout, type RedisLink } from './redis-link.js';

/** Expires on its own (PX) when the instance stops beating: liveness never compares clocks across machines. */
export function instanceKey(keyPrefix: string, instanceId: string): string {
  return `${keyPrefix}instance:${instanceId}`;
}

/** ZSET of instance ids scored by their last heartbeat, in Redis server time (ms), for checks inside scripts. */
export function instancesKey(keyPrefix: string): string {
  return `${keyPrefix}instances`;
}

// The ZSET score comes from Redis's clock, so instances with skewed clocks compare the same way. Members
// silent for a day are pruned here, so ids of long-gone instances do not pile up.
const HEARTBEAT = new LuaScript(`
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 86400000)
return 1
`);

export interface InstancePresenceOptions {
  /** How often to beat (default 1000). */
  intervalMs?: number;
  /** How long one beat keeps the instance alive (default 5000): a few missed beats are tolerated. */
  ttlMs?: number;
}

export class InstancePresence {
  private readonly intervalMs: number;
  private readonly ttlMs: number;
  private timer: NodeJS.Timeout | null = null;
  private readonly onUp = (): void => this.beat();

  constructor(
    private readonly link: RedisLink,
    readonly instanceId: string,
    options: InstancePresenceOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 1_000;
    this.ttlMs = options.ttlMs ?? 5_000;
  }

  /** Beats now, every `intervalMs`, and at once when Redis comes back (its data may be gone). Idempotent. */
  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.beat(), this.intervalMs);
    this.timer.unref();
    this.link.on('up', this.onUp);
    this.beat();
  }

  /** Stops beating and removes this instance's presence at once (best effort: otherwise it expires). Never throws. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.link.off('up', this.onUp);
    const redis = this.link.commands;
    // Issued on the same connection after any beat in flight, so a late beat cannot resurrect the key.
    await Promise.allSettled([
      withTimeout(redis.del(instanceKey(this.link.keyPrefix, this.instanceId)), REDIS_CALL_TIMEOUT_MS),
      withTimeout(redis.zrem(instancesKey(this.link.keyPrefix), this.instanceId), REDIS_CALL_TIMEOUT_MS),
    ]);
  }

  /** Whether `instanceId` beat within its TTL. Rejects when Redis cannot answer: the caller decides what that means. */
  async isAlive(instanceId: string): Promise<boolean> {
    const count = await withTimeout(
      this.link.commands.exists(instanceKey(this.link.keyPrefix, instanceId)),
      REDIS_CALL_TIMEOUT_MS,
    );
    return count > 0;
  }

  private beat(): void {
    const prefix = this.link.keyPrefix;
    const beat = HEARTBEAT.run(
      this.link.commands,
      [instanceKey(prefix, this.instanceId), instancesKey(prefix)],
      [this.instanceId, this.ttlMs],
    );
    // Redis being down is reported by RedisLink; a missed beat is retried on the next tick or on 'up'.
    withTimeout(beat, REDIS_CALL_TIMEOUT_MS).catch(() => undefined);
  }
}
