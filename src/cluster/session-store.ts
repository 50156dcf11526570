// Where sessions live in Redis, so any instance can resume them. Per session:
//   <prefix>s:<id>     hash   digest (of the resume token), owner (instance id), snap (SessionSnapshot JSON), seq
//   <prefix>s:<id>:ev  stream the session's numbered events, batched: { f: first seq, e: events joined by "\n" };
//                             a handoff ends with a marker entry { r: new owner, s: last seq }
// Both keys carry a TTL: long while a socket is attached, RESUME_TTL_MS once it is gone. A stream is the natural
// fit: ordered, bounded (MAXLEN), readable from any id, and tailable with a blocking XREAD.
import type { Redis } from 'ioredis';
import type { LoggedEvent } from '../session/event-log.js';
import { parseSnapshot, type SessionSnapshot } from '../session/snapshot.js';
import type { RedisLink } from './redis-link.js';

export interface StoredSession {
  digest: Buffer;
  owner: string;
  snapshot: SessionSnapshot;
  seq: number;
  /** The owner's attach count when last written (see HostedSession.attachEpoch). */
  epoch: number;
}

/** One entry of a session's stream: a batch of events, or the marker that ends a handoff. */
export type StreamItem = { id: string; events: LoggedEvent[] } | { id: string; releasedTo: string; lastSeq: number };

function stateFields(state: StoredSession): Record<string, string> {
  return { digest: state.digest.toString('hex'), owner: state.owner, snap: JSON.stringify(state.snapshot), seq: String(state.seq), epoch: String(state.epoch) };
}

export interface SessionStoreOptions {
  /** Most events kept per session stream (approximately: MAXLEN ~ trims whole nodes). */
  maxEvents: number;
}

/** Stream entry fields arrive as a flat [k1, v1, k2, v2] array. */
function parseEntry(id: string, fields: string[]): StreamItem | null {
  const get = (key: string) => {
    for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === key) return fields[i + 1];
    return undefined;
  };
  const releasedTo = get('r');
  if (releasedTo !== undefined) return { id, releasedTo, lastSeq: Number(get('s') ?? 0) };
  const first = Number(get('f'));
  const joined = get('e');
  if (!Number.isInteger(first) || first < 1 || joined === undefined) return null;
  // JSON.stringify never emits a raw newline, so "\n" separates events unambiguously.
  return { id, events: joined.split('\n').map((json, i) => ({ seq: first + i, json })) };
}

/**
 * Events in seq order, each once. A stream can repeat events (a release that rewrote a stream another write
 * had just reached) or, after trimming, start late; readers never rely on its entries being disjoint.
 */
export function inSeqOrder(events: readonly LoggedEvent[]): LoggedEvent[] {
  const bySeq = new Map<number, LoggedEvent>();
  for (const event of events) if (!bySeq.has(event.seq)) bySeq.set(event.seq, event);
  return [...bySeq.values()].sort((x, y) => x.seq - y.seq);
}

export class SessionStore {
  private readonly redis: Redis;

  constructor(
    private readonly link: RedisLink,
    private readonly options: SessionStoreOptions,
  ) {
    this.redis = link.commands;
  }

  private stateKey(sessionId: string): string {
    return `${this.link.keyPrefix}s:${sessionId}`;
  }

  private streamKey(sessionId: string): string {
    return `${this.link.keyPrefix}s:${sessionId}:ev`;
  }

  /**
   * Appends events and, when given, the session's state, then sets both keys' TTL. Issued in one tick, so
   * auto-pipelining sends it as one round trip, in order.
   */
  async write(sessionId: string, events: readonly LoggedEvent[], state: StoredSession | null, ttlMs: number): Promise<void> {
    // No MULTI: this runs for every active session every tick it has events, and order is all it needs.
    const writes: Promise<unknown>[] = [];
    if (events.length > 0) writes.push(this.redis.xadd(...this.eventArgs(sessionId, events)));
    if (state !== null) writes.push(this.redis.hset(this.stateKey(sessionId), stateFields(state)));
    else if (events.length > 0) writes.push(this.redis.hset(this.stateKey(sessionId), 'seq', String(events.at(-1)?.seq ?? 0)));
    writes.push(this.redis.pexpire(this.stateKey(sessionId), ttlMs), this.redis.pexpire(this.streamKey(sessionId), ttlMs));
    await Promise.all(writes);
  }

  /** Replaces the stream with `events` (after Redis lost or missed them) and writes the state. */
  async rewrite(sessionId: string, events: readonly LoggedEvent[], state: StoredSession, ttlMs: number): Promise<void> {
    await this.redis.del(this.streamKey(sessionId));
    await this.write(sessionId, events, state, ttlMs);
  }

  /**
   * Ends this instance's ownership: the last events, the final state with its new owner, and the marker that
   * tells the new owner's relay to take over, atomically.
   */
  async release(sessionId: string, events: readonly LoggedEvent[], to: string, snapshot: SessionSnapshot | null, lastSeq: number, ttlMs: number, replace = false): Promise<void> {
    const pipeline = this.redis.multi();
    // `replace`: the stream missed writes (Redis was down), so `events` are all of them and replace it.
    if (replace) pipeline.del(this.streamKey(sessionId));
    if (events.length > 0) pipeline.xadd(...this.eventArgs(sessionId, events));
    pipeline.hset(this.stateKey(sessionId), snapshot === null ? { owner: to, seq: String(lastSeq) } : { owner: to, snap: JSON.stringify(snapshot), seq: String(lastSeq) });
    pipeline.xadd(this.streamKey(sessionId), 'MAXLEN', '~', String(this.options.maxEvents + 1), '*', 'r', to, 's', String(lastSeq));
    pipeline.pexpire(this.stateKey(sessionId), ttlMs);
    pipeline.pexpire(this.streamKey(sessionId), ttlMs);
    await pipeline.exec();
  }

  async load(sessionId: string): Promise<StoredSession | null> {
    const hash = await this.redis.hgetall(this.stateKey(sessionId));
    if (hash.digest === undefined || hash.snap === undefined) return null;
    const snapshot = parseSnapshot(hash.snap);
    if (snapshot === null || !/^[0-9a-f]{64}$/.test(hash.digest)) return null;
    return { digest: Buffer.from(hash.digest, 'hex'), owner: hash.owner ?? '', snapshot, seq: Number(hash.seq ?? 0) || 0, epoch: Number(hash.epoch ?? 0) || 0 };
  }

  async owner(sessionId: string): Promise<string | null> {
    return this.redis.hget(this.stateKey(sessionId), 'owner');
  }

  /** Takes ownership only if `expected` still owns it (no two instances ever both take over). */
  async takeOwnership(sessionId: string, expected: string, owner: string, ttlMs: number): Promise<boolean> {
    const result = await this.redis.eval(
      // Compare-and-set on the owner field; the TTL refresh keeps the record alive for the new owner.
      "if (redis.call('HGET', KEYS[1], 'owner') or '') ~= ARGV[1] then return 0 end " +
        "redis.call('HSET', KEYS[1], 'owner', ARGV[2]) redis.call('PEXPIRE', KEYS[1], ARGV[3]) redis.call('PEXPIRE', KEYS[2], ARGV[3]) return 1",
      2,
      this.stateKey(sessionId),
      this.streamKey(sessionId),
      expected,
      owner,
      String(ttlMs),
    );
    return result === 1;
  }

  /** Every stored stream item, in stream order (events may repeat across items after a rewrite: see inSeqOrder). */
  async readAll(sessionId: string): Promise<StreamItem[]> {
    const entries = await this.redis.xrange(this.streamKey(sessionId), '-', '+');
    return entries.flatMap(([id, fields]) => parseEntry(id, fields) ?? []);
  }

  /** Blocks (on its own connection) until items after `afterId` arrive, or `blockMs` passes. */
  async tail(reader: Redis, sessionId: string, afterId: string, blockMs: number): Promise<StreamItem[]> {
    const result = await reader.xread('BLOCK', blockMs, 'STREAMS', this.streamKey(sessionId), afterId);
    if (result === null) return [];
    return result.flatMap(([, entries]) => entries.flatMap(([id, fields]) => parseEntry(id, fields) ?? []));
  }

  /** A socket attached to the session on its owner: the new attach count, and the TTL for an attached session. */
  async attached(sessionId: string, epoch: number, ttlMs: number): Promise<void> {
    await Promise.all([
      this.redis.hset(this.stateKey(sessionId), 'epoch', String(epoch)),
      this.redis.pexpire(this.stateKey(sessionId), ttlMs),
      this.redis.pexpire(this.streamKey(sessionId), ttlMs),
    ]);
  }

  /** Refuses a hand-off (a newer connection has the session): the marker names the owner, so the relay gives up. */
  async refuse(sessionId: string, owner: string): Promise<void> {
    await this.redis.xadd(this.streamKey(sessionId), 'MAXLEN', '~', String(this.options.maxEvents + 1), '*', 'r', owner, 's', '0');
  }

  async expire(sessionId: string, ttlMs: number): Promise<void> {
    await this.redis.pexpire(this.stateKey(sessionId), ttlMs);
    await this.redis.pexpire(this.streamKey(sessionId), ttlMs);
  }

  async delete(sessionId: string): Promise<void> {
    await this.redis.del(this.stateKey(sessionId), this.streamKey(sessionId));
  }

  /** XADD arguments for a batch of events (trimmed to about maxEvents entries). */
  private eventArgs(sessionId: string, events: readonly LoggedEvent[]): [string, 'MAXLEN', '~', string, '*', 'f', string, 'e', string] {
    const first = events[0]?.seq ?? 0;
    return [this.streamKey(sessionId), 'MAXLEN', '~', String(this.options.maxEvents), '*', 'f', String(first), 'e', events.map((e) => e.json).join('\n')];
  }
}
