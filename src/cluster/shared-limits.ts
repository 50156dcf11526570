// Limits that hold across every gateway instance behind the load balancer: open connections per client IP and
// turns per minute per session and per gateway token. Each check is one Lua script, so it is atomic and uses
// Redis's clock. When Redis cannot answer, methods say so and the caller falls back to its in-memory limits.
import { randomBytes } from 'node:crypto';
import type { SharedTurnLimits } from '../hosting/scale-out-port.js';
import { instancesKey } from './instance-presence.js';
import { LuaScript, REDIS_CALL_TIMEOUT_MS, withTimeout, type RedisLink } from './redis-link.js';

const TURN_WINDOW_MS = 60_000;
/** Per-IP hashes outlive any connection; refreshed on every write, so only abandoned ones expire. */
const CONNECTION_KEY_TTL_MS = 86_400_000;
/** IPs per resync script call: keeps each call short so Redis is not blocked by one big rewrite. */
const RESYNC_BATCH = 500;

// Sums the counts of live instances only, so a crashed instance's connections stop counting once its heartbeat
// lapses. The caller's own field always counts: it is running this. Dead fields are left to the key's expiry
// rather than deleted, because an instance re-registering after a Redis restart may look dead for a moment.
// KEYS: conn hash, instances zset. ARGV: own id, limit, presence ttl ms, key ttl ms. Returns 1 (taken) or 0.
const ACQUIRE = new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local fields = redis.call('HGETALL', KEYS[1])
local total = 0
for i = 1, #fields, 2 do
  local count = tonumber(fields[i + 1])
  if fields[i] == ARGV[1] then
    total = total + count
  else
    local seen = redis.call('ZSCORE', KEYS[2], fields[i])
    if seen and tonumber(seen) > now - tonumber(ARGV[3]) then total = total + count end
  end
end
if total >= tonumber(ARGV[2]) then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`);

// A field at zero is removed, so an IP with no connections anywhere leaves no key behind.
// KEYS: conn hash. ARGV: own id, key ttl ms.
const RELEASE = new LuaScript(`
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if left <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return left
`);

// Overwrites this instance's field per IP with the local count (0 removes it); other instances' fields are theirs.
// KEYS: conn hashes. ARGV: own id, key ttl ms, then one count per key.
const RESYNC = new LuaScript(`
for i, key in ipairs(KEYS) do
  local count = tonumber(ARGV[i + 2])
  if count > 0 then
    redis.call('HSET', key, ARGV[1], count)
    redis.call('PEXPIRE', key, ARGV[2])
  else
    redis.call('HDEL', key, ARGV[1])
  end
end
return #KEYS
`);

// Sliding windows as ZSETs of event times (Redis clock). A turn is recorded in every window or in none, so a
// refusal by one window (a session's flood) does not use up another's allowance (its token's or address's). Like SlidingWindowLimiter.take, the
// wait is until enough old events leave the window, at least 1 ms.
// KEYS: session window, address window [, token window]. ARGV: window ms, unique member suffix, then one limit per key.
const TAKE_TURN = new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local excess = redis.call('ZCARD', key) - tonumber(ARGV[i + 2])
  if excess >= 0 then
    local oldest = redis.call('ZRANGE', key, excess, excess, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + window - now, 1)
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, now .. ':' .. ARGV[2])
  redis.call('PEXPIRE', key, window)
end
return 0
`);

export interface SharedLimitsOptions {
  /** This instance's id, as its InstancePresence beats it. */
  instanceId: string;
  turnsPerMinute: number;
  turnsPerMinutePerToken: number;
  turnsPerMinutePerIp: number;
  maxConnectionsPerIp: number;
  /** How long after its last heartbeat an instance's connections still count (default 5000: the presence TTL). */
  presenceTtlMs?: number;
}

export class SharedLimits implements SharedTurnLimits {
  private readonly presenceTtlMs: number;
  /**
   * IPs this instance may have a field for. A release lost while Redis was down leaves a stale field behind;
   * resync clears the ones local truth no longer has without scanning Redis.
   */
  private readonly written = new Set<string>();
  /** Connections this instance admitted and has not released yet, per IP: the local truth a resync restores. */
  private readonly held = new Map<string, number>();

  constructor(
    private readonly link: RedisLink,
    private readonly options: SharedLimitsOptions,
  ) {
    this.presenceTtlMs = options.presenceTtlMs ?? 5_000;
  }

  /**
   * Counts one more connection from `ip` across all live instances (this one counts only while its
   * InstancePresence beats under the same id). 'unavailable': use the local count instead. An 'unavailable' that
   * timed out may still be applied once Redis answers, so release every connection accepted on 'ok' or
   * 'unavailable' (not on 'over_limit'), and resync on 'up': together they keep this instance's field exact.
   */
  async acquireConnection(ip: string): Promise<'ok' | 'over_limit' | 'unavailable'> {
    try {
      const taken = await this.call(
        ACQUIRE,
        [this.connectionKey(ip), instancesKey(this.link.keyPrefix)],
        [this.options.instanceId, this.options.maxConnectionsPerIp, this.presenceTtlMs, CONNECTION_KEY_TTL_MS],
      );
      if (taken !== 1) return 'over_limit';
      this.hold(ip);
      return 'ok';
    } catch {
      this.hold(ip);
      return 'unavailable';
    }
  }

  private hold(ip: string): void {
    this.written.add(ip);
    this.held.set(ip, (this.held.get(ip) ?? 0) + 1);
  }

  /** The connection closed. Best effort: a lost release is repaired by the next resync. Never throws. */
  releaseConnection(ip: string): void {
    const left = (this.held.get(ip) ?? 0) - 1;
    if (left > 0) this.held.set(ip, left);
    else this.held.delete(ip);
    this.call(RELEASE, [this.connectionKey(ip)], [this.options.instanceId, CONNECTION_KEY_TTL_MS]).then(
      (left) => {
        if (typeof left === 'number' && left <= 0) this.written.delete(ip);
      },
      () => undefined,
    );
  }

  /**
   * After Redis came back (its data may be gone): rewrites this instance's per-IP counts from `counts` (by
   * default the connections it admitted and has not released: exactly what its acquires and releases count),
   * and removes its fields for IPs not in it. Issued on the same connection as later acquires and releases, so
   * those apply after it. Never throws.
   */
  async resyncConnections(counts: ReadonlyMap<string, number> = new Map(this.held)): Promise<void> {
    const ips = new Set([...this.written, ...counts.keys()]);
    const batches: string[][] = [];
    let batch: string[] = [];
    for (const ip of ips) {
      batch.push(ip);
      if (batch.length === RESYNC_BATCH) {
        batches.push(batch);
        batch = [];
      }
    }
    if (batch.length > 0) batches.push(batch);
    const results = await Promise.allSettled(
      batches.map((ipsOfBatch) =>
        this.call(
          RESYNC,
          ipsOfBatch.map((ip) => this.connectionKey(ip)),
          [this.options.instanceId, CONNECTION_KEY_TTL_MS, ...ipsOfBatch.map((ip) => Math.max(0, counts.get(ip) ?? 0))],
        ),
      ),
    );
    results.forEach((result, index) => {
      if (result.status !== 'fulfilled') return;
      for (const ip of batches[index] ?? []) if ((counts.get(ip) ?? 0) <= 0) this.written.delete(ip);
    });
  }

  /**
   * A turn for a session, its client address and its gateway token (if any). 0: allowed and recorded in every
   * window; above 0: ms until allowed, nothing recorded; null: Redis cannot answer, use the local limiter.
   */
  async takeTurn(turn: { sessionId: string; ip: string; tokenId: string | null }): Promise<number | null> {
    const { sessionId, ip, tokenId } = turn;
    const prefix = this.link.keyPrefix;
    const keys = [`${prefix}turns:s:${sessionId}`, `${prefix}turns:ip:${ip}`];
    const limits = [this.options.turnsPerMinute, this.options.turnsPerMinutePerIp];
    if (tokenId !== null) {
      keys.push(`${prefix}turns:t:${tokenId}`);
      limits.push(this.options.turnsPerMinutePerToken);
    }
    try {
      const wait = await this.call(TAKE_TURN, keys, [TURN_WINDOW_MS, randomBytes(6).toString('base64url'), ...limits]);
      return typeof wait === 'number' ? wait : null;
    } catch {
      return null;
    }
  }

  private connectionKey(ip: string): string {
    return `${this.link.keyPrefix}conn:${ip}`;
  }

  private call(script: LuaScript, keys: string[], args: (string | number)[]): Promise<unknown> {
    return withTimeout(script.run(this.link.commands, keys, args), REDIS_CALL_TIMEOUT_MS);
  }
}
