// Where sessions live in Redis, so any instance can resume them: each session's state record and event stream
// (layout below), written only by its owner through Lua scripts fenced on the owner field (see FENCE_AND_APPEND),
// and read back by any instance, checked like external input.
import type { Redis } from 'ioredis';
import type { LoggedEvent } from '../hosting/event-log.js';
import { parseSnapshot, type SessionSnapshot } from '../session/snapshot.js';
import { LuaScript, type RedisLink } from './redis-link.js';

// Per session:
//   <prefix>s:<id>     hash   digest (of the resume token), owner (instance id), snap (SessionSnapshot JSON), seq,
//                             epoch (attach count)
//   <prefix>s:<id>:ev  stream the session's numbered events, batched: { f: first seq, e: events joined by "\n" };
//                             a handoff ends with a marker entry { r: new owner, s: last seq }
// Both keys carry a TTL: long while a socket is attached, RESUME_TTL_MS once it is gone. A stream is the natural
// fit: ordered, bounded, readable from any id, and tailable with a blocking XREAD. MAXLEN counts entries, and an
// entry is one event-loop tick's batch of one session (a rewrite's is the whole replay buffer, itself bounded in
// events and bytes), so a stream keeps at least the replay buffer's worth of events and at most MAXLEN batches.

export interface StoredSession {
  digest: Buffer;
  owner: string;
  snapshot: SessionSnapshot;
  seq: number;
  /** The owner's attach count when last written (see HostedSession.attachEpoch). */
  epoch: number;
}

/** What a session's state write carries (its owner is the writer). */
export type SessionState = Omit<StoredSession, 'owner'>;

/**
 * One entry of a session's stream: a batch of events, or the marker that ends a handoff. A refusal (the owner
 * keeps the session) names the owner as `releasedTo` and the instance whose request it answers as `refused`.
 */
export type StreamItem =
  { id: string; events: LoggedEvent[] } | { id: string; releasedTo: string; lastSeq: number; refused?: string };

/**
 * The outcome of an owner's write: 'ok'; 'lost' when another instance owns the session now (the writer must drop
 * its copy: writing on would split the conversation in two); 'missing' when the record is gone (expired) and
 * the write carried no full state to recreate it with.
 */
export type OwnedWrite = 'ok' | 'lost' | 'missing';

/** What an owner writes (see SessionStore.write). */
export interface OwnerWrite {
  /** The writing instance: the write is fenced on it. */
  owner: string;
  events: readonly LoggedEvent[];
  /** The session's full state; null leaves the stored one (only the seq moves on). */
  state: SessionState | null;
  ttlMs: number;
  /** The stream missed writes (Redis lost or never got them), so `events` are all of them and replace it. */
  replace?: boolean;
}

/** What an owner writes when it lets the session go (see SessionStore.release). */
export interface OwnerRelease extends OwnerWrite {
  /** The new owner ('' for nobody). */
  to: string;
  /** The session's last seq, in the record and in the marker. */
  lastSeq: number;
}

const OUTCOMES: Partial<Record<number, OwnedWrite>> = { 1: 'ok', 0: 'lost', 2: 'missing' };

// Every write by an owner is fenced on the owner field, in the same script as the write, so an instance that
// lost the session (its heartbeat stalled and another took it over, or a hand-off whose reply it never got)
// can never overwrite the new owner's state or stream. A missing record is recreated only by a write that brings
// its whole state and a whole stream (one that replaces the stream, or a new session's first batch, from seq 1).
// ARGV: [1] writer, [2] ttl ms, [3] stream MAXLEN, [4] '1': replace the stream, [5] first seq of the batch
// ('' for none), [6] events joined by "\n", [7] seq ('' to leave it), [8] '1': full state follows in
// [9] digest, [10] snapshot JSON, [11] epoch.
const FENCE_AND_APPEND = `
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner == false then
  if ARGV[8] ~= '1' or (ARGV[4] ~= '1' and ARGV[5] ~= '1') then return 2 end
elseif owner ~= ARGV[1] then
  return 0
end
-- Emptied rather than deleted: the stream keeps its last id, so the entries that replace it get higher ids and a
-- relay tailing it from an old id sees them, even within the same millisecond.
if ARGV[4] == '1' then redis.call('XTRIM', KEYS[2], 'MAXLEN', '0') end
if ARGV[5] ~= '' then redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'f', ARGV[5], 'e', ARGV[6]) end
`;

const EXPIRE_BOTH = `
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`;

const WRITE = new LuaScript(`${FENCE_AND_APPEND}
if ARGV[8] == '1' then
  redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'digest', ARGV[9], 'snap', ARGV[10], 'seq', ARGV[7], 'epoch', ARGV[11])
elseif ARGV[7] ~= '' then
  redis.call('HSET', KEYS[1], 'seq', ARGV[7])
end
${EXPIRE_BOTH}`);

// A release also names the new owner ([12]; '' for nobody) and ends with the marker a waiting relay acts on.
const RELEASE = new LuaScript(`${FENCE_AND_APPEND}
if ARGV[8] == '1' then
  redis.call('HSET', KEYS[1], 'owner', ARGV[12], 'digest', ARGV[9], 'snap', ARGV[10], 'seq', ARGV[7], 'epoch', ARGV[11])
else
  redis.call('HSET', KEYS[1], 'owner', ARGV[12], 'seq', ARGV[7])
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3] + 1, '*', 'r', ARGV[12], 's', ARGV[7])
${EXPIRE_BOTH}`);

// Compare-and-set on the owner field (no two instances ever both take over); refreshes the TTLs for the new owner.
// ARGV: [1] expected owner, [2] ttl ms, [3] new owner.
const TAKE_OWNERSHIP = new LuaScript(`
if (redis.call('HGET', KEYS[1], 'owner') or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[3])
${EXPIRE_BOTH}`);

// Only the owner refuses (a marker naming anyone else would send relays after it).
// ARGV: [1] owner, [2] MAXLEN, [3] the requester refused.
const REFUSE = new LuaScript(`
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('XADD', KEYS[2], 'NOMKSTREAM', 'MAXLEN', '~', ARGV[2], '*', 'r', ARGV[1], 's', '0', 'q', ARGV[3])
return 1
`);

// ARGV: [1] the deleting owner.
const DELETE = new LuaScript(`
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner ~= false and owner ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
`);

const ID_PATTERN = /^[\x21-\x7e]{1,128}$/;
const DIGEST_PATTERN = /^[0-9a-f]{64}$/;

/** A non-negative integer field; null when damaged. */
function count(raw: string | undefined): number | null {
  if (raw === '') return null;
  const value = Number(raw ?? 0);
  return Number.isSafeInteger(value) && value >= 0 ? value : null;
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
  if (releasedTo !== undefined) {
    const lastSeq = count(get('s'));
    const refused = get('q');
    if (
      lastSeq === null ||
      (releasedTo !== '' && !ID_PATTERN.test(releasedTo)) ||
      (refused !== undefined && !ID_PATTERN.test(refused))
    )
      return null;
    return refused === undefined ? { id, releasedTo, lastSeq } : { id, releasedTo, lastSeq, refused };
  }
  const first = count(get('f'));
  const joined = get('e');
  if (first === null || first < 1 || joined === undefined) return null;
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

  /** An owner's write: events appended and, when given, the session's full state; both keys' TTLs refreshed. */
  async write(sessionId: string, write: OwnerWrite): Promise<OwnedWrite> {
    return this.run(WRITE, sessionId, this.ownerArgs(write, write.state?.seq ?? write.events.at(-1)?.seq));
  }

  /**
   * Ends the writer's ownership: the last events, the final state with its new owner `to` ('' for nobody), and
   * the marker that tells the new owner's relay to take over, in one script. `state` null: the state stays as stored.
   */
  async release(sessionId: string, release: OwnerRelease): Promise<OwnedWrite> {
    return this.run(RELEASE, sessionId, [...this.ownerArgs(release, release.lastSeq), release.to]);
  }

  async load(sessionId: string): Promise<StoredSession | null> {
    const hash = await this.redis.hgetall(this.stateKey(sessionId));
    // Whatever Redis holds is checked like any external input: a damaged record is no record.
    const { digest, snap, owner = '' } = hash;
    if (
      digest === undefined ||
      snap === undefined ||
      !DIGEST_PATTERN.test(digest) ||
      (owner !== '' && !ID_PATTERN.test(owner))
    )
      return null;
    const snapshot = parseSnapshot(snap);
    const seq = count(hash.seq);
    const epoch = count(hash.epoch);
    if (snapshot === null || seq === null || epoch === null) return null;
    return { digest: Buffer.from(digest, 'hex'), owner, snapshot, seq, epoch };
  }

  async owner(sessionId: string): Promise<string | null> {
    return this.redis.hget(this.stateKey(sessionId), 'owner');
  }

  /** Takes ownership only if `expected` still owns it (no two instances ever both take over). */
  async takeOwnership(sessionId: string, expected: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await TAKE_OWNERSHIP.run(this.redis, this.keys(sessionId), [expected, ttlMs, owner])) === 1;
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

  /**
   * Refuses `requester`'s hand-off request (a newer connection has the session): the marker names the owner and
   * the requester, so that relay gives up and any other ignores it. NOMKSTREAM: a stream that is gone stays
   * gone (a new key would have no TTL).
   */
  async refuse(sessionId: string, owner: string, requester: string): Promise<void> {
    await REFUSE.run(this.redis, this.keys(sessionId), [owner, this.options.maxEvents + 1, requester]);
  }

  /** Deletes the session for good, unless another instance owns it now. */
  async delete(sessionId: string, owner: string): Promise<void> {
    await DELETE.run(this.redis, this.keys(sessionId), [owner]);
  }

  private keys(sessionId: string): [string, string] {
    return [this.stateKey(sessionId), this.streamKey(sessionId)];
  }

  private async run(script: LuaScript, sessionId: string, args: readonly string[]): Promise<OwnedWrite> {
    const result = await script.run(this.redis, this.keys(sessionId), args);
    const outcome = typeof result === 'number' ? OUTCOMES[result] : undefined;
    if (outcome === undefined) throw new Error(`unexpected reply from the session store: ${String(result)}`);
    return outcome;
  }

  /** ARGV [1]–[11] of WRITE and RELEASE (see FENCE_AND_APPEND); `seq` ends up in the record (none: unchanged). */
  private ownerArgs(write: OwnerWrite, seq: number | undefined): string[] {
    const { owner, ttlMs, events, state, replace = false } = write;
    const first = events[0]?.seq;
    return [
      owner,
      String(ttlMs),
      String(this.options.maxEvents),
      replace ? '1' : '0',
      first === undefined ? '' : String(first),
      // JSON.stringify never emits a raw newline, so "\n" separates events unambiguously.
      events.map((e) => e.json).join('\n'),
      seq === undefined ? '' : String(seq),
      state === null ? '0' : '1',
      state === null ? '' : state.digest.toString('hex'),
      state === null ? '' : JSON.stringify(state.snapshot),
      state === null ? '' : String(state.epoch),
    ];
  }
}
