// Mirrors every tracked session's events and state to the SessionStore, batched once per tick, so another
// instance can resume it. While Redis is down nothing waits on it; whatever it missed is rewritten whole when it
// returns. Also leaves a forgotten session's last word in the store (a final release, or its deletion).
import type { Logger } from 'pino';
import { CLOSE_RESUMED_ELSEWHERE } from '../hosting/close-codes.js';
import type { ForgetReason, HostedSession, SessionRegistry } from '../hosting/session-registry.js';
import type { RedisLink } from './redis-link.js';
import { mirrored, SessionMirror, withoutResumeToken } from './session-mirror.js';
import type { OwnedWrite, SessionState, SessionStore } from './session-store.js';
import type { StoreWrites } from './store-writes.js';

/** A write Redis refused while it stays up (out of memory, a read-only replica) is retried this much later. */
const RETRY_MS = 1_000;

export interface MirrorWriterOptions {
  link: RedisLink;
  store: SessionStore;
  registry: SessionRegistry;
  instanceId: string;
  /** Store TTL of a session whose socket is gone. */
  detachedTtlMs: number;
  /** Store TTL while a socket is attached (refreshed on every write). */
  attachedTtlMs: number;
  logger: Logger;
}

export class MirrorWriter {
  private readonly mirrors = new Map<string, SessionMirror>();
  private readonly dirty = new Set<SessionMirror>();
  private flushScheduled = false;

  constructor(
    private readonly options: MirrorWriterOptions,
    private readonly writes: StoreWrites,
  ) {
    options.link.on('up', () => this.rewriteAll());
  }

  /**
   * Mirrors a (voice) session from its start. Even a session nobody has spoken in yet gets its small record at
   * once: a client whose first turn is still in flight when its socket drops may resume on any instance.
   */
  track(entry: HostedSession): void {
    const mirror = new SessionMirror(entry);
    this.mirrors.set(entry.session.id, mirror);
    entry.log.onAppend = (event) => {
      mirror.pending.push(withoutResumeToken(event));
      this.schedule(mirror);
    };
    this.schedule(mirror);
  }

  /** The session's mirror, if it is mirrored here. */
  get(sessionId: string): SessionMirror | undefined {
    return this.mirrors.get(sessionId);
  }

  /** Whether `mirror` is still its session's mirror here (not forgotten, released or replaced meanwhile). */
  isTracked(mirror: SessionMirror): boolean {
    return this.mirrors.get(mirror.entry.session.id) === mirror;
  }

  /**
   * The next flush writes this session's state (`withState`) and refreshes its TTL for the socket's new state.
   * Returns its mirror (undefined when this entry is not the one mirrored).
   */
  touch(entry: HostedSession, withState: boolean): SessionMirror | undefined {
    const mirror = this.mirrors.get(entry.session.id);
    if (mirror === undefined || mirror.entry !== entry) return undefined;
    if (withState) mirror.markDirty();
    this.schedule(mirror);
    return mirror;
  }

  /** The session is gone from here. Returns false when this entry was not the one mirrored. */
  forget(entry: HostedSession, reason: ForgetReason): boolean {
    const mirror = this.mirrors.get(entry.session.id);
    if (mirror === undefined || mirror.entry !== entry) return false;
    this.mirrors.delete(entry.session.id);
    this.dirty.delete(mirror);
    entry.log.onAppend = null;
    // Expired mid hand-off (closing it ended its response: the new instance is waiting), or this instance is
    // shutting down: leave the final state in the store, owned by the new instance or by nobody, so the client
    // can resume on any instance.
    const finalRelease = reason !== 'released' && (entry.handedTo !== null || reason === 'drained');
    // Released (or owned elsewhere), or a release is already under way: nothing of it is this instance's to write.
    if (mirror.forget(finalRelease) || reason === 'released') return true;
    if (finalRelease) {
      const to = entry.handedTo ?? '';
      void this.writes.persist(
        'release',
        this.writes.settle().then(() => this.releaseTo(mirror, to, this.options.detachedTtlMs)),
      );
    } else {
      // Expired, evicted or closed for good: nobody may resume it anywhere (unless another instance owns it now).
      void this.writes.persist('delete', this.options.store.delete(entry.session.id, this.options.instanceId));
    }
    return true;
  }

  /** A release starts: flushes leave the mirror alone from now on. */
  beginRelease(mirror: SessionMirror): void {
    mirror.startRelease();
    this.dirty.delete(mirror);
  }

  /**
   * Another instance owns the session now (it took it over while this one looked dead, or this one handed it
   * off): close its socket here, if any, and forget it without writing anything more.
   */
  dropCopy(mirror: SessionMirror, why: string): void {
    const { entry } = mirror;
    if (!this.isTracked(mirror)) return;
    this.options.logger.info({ sessionId: entry.session.id, to: entry.handedTo }, why);
    this.options.registry.disown(entry, (socket) =>
      socket.close(CLOSE_RESUMED_ELSEWHERE, 'session resumed on another connection'),
    );
  }

  /** Acts on a fenced write's outcome (`work` has settled successfully). */
  async ownedResult(mirror: SessionMirror, work: Promise<OwnedWrite>): Promise<void> {
    const outcome = await work;
    if (!this.isTracked(mirror)) return;
    if (outcome === 'lost') {
      this.options.logger.warn(
        { sessionId: mirror.entry.session.id },
        'another instance took this session over; dropping the copy here',
      );
      this.dropCopy(mirror, 'session owned elsewhere');
    } else if (outcome === 'missing') {
      // Its record expired in Redis: the next flush writes it whole.
      mirror.markStale();
      this.schedule(mirror);
    }
  }

  /**
   * Releases the session to `to` (this instance itself when a hand-off is cancelled; '' for nobody) with what the
   * store has not got yet. A record that vanished (evicted, or Redis restarted empty) is brought back whole with
   * the release, so the new owner finds the session.
   */
  async releaseTo(mirror: SessionMirror, to: string, ttlMs: number): Promise<OwnedWrite> {
    const { entry } = mirror;
    // What the store has not got yet: the pending events, or all of them when it missed some (`replace`).
    const replace = mirror.isStale;
    const events = replace ? mirrored(entry) : mirror.pending;
    mirror.pending = [];
    const state = this.stateOf(entry);
    const release = { owner: this.options.instanceId, to, state, lastSeq: state.seq, ttlMs };
    const outcome = await this.options.store.release(entry.session.id, { ...release, events, replace });
    if (outcome !== 'missing' || replace) return outcome;
    return this.options.store.release(entry.session.id, { ...release, events: mirrored(entry), replace: true });
  }

  /**
   * Redis refused a write while it is up (while it is down, rewriteAll() catches up on its return): the session
   * is rewritten whole a little later, not at once, so an erroring Redis is not hammered.
   */
  retryLater(mirror: SessionMirror): void {
    mirror.markStale();
    // A forgotten session is never retried: nothing more is written for it.
    if (mirror.retryArmed || !this.options.link.isUp || !this.isTracked(mirror)) return;
    mirror.armRetry(RETRY_MS, () => {
      if (this.isTracked(mirror)) this.schedule(mirror);
    });
  }

  schedule(mirror: SessionMirror): void {
    this.dirty.add(mirror);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // One flush per tick for all sessions: a delta and its speech segment share one stream entry.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const up = this.options.link.isUp;
    for (const mirror of this.dirty) {
      // A rewrite or release in flight takes care of it (the rewrite reschedules it once it has landed).
      if (mirror.isBusy) continue;
      if (!up) {
        // Redis cannot take it now; rewriteAll() sends the whole session when it is back.
        mirror.markStale();
        mirror.pending = [];
      } else if (mirror.state === 'stale') {
        this.rewrite(mirror);
      } else if (mirror.state !== 'backoff') {
        // ('backoff': a rewrite Redis refused is retried by its timer, not by every new event, up to 1 MiB each time.)
        this.writeIncrement(mirror);
      }
    }
    this.dirty.clear();
  }

  /** Appends the pending events, with the state when it changed, and refreshes the TTLs. */
  private writeIncrement(mirror: SessionMirror): void {
    const { entry } = mirror;
    const events = mirror.pending;
    mirror.pending = [];
    const state = mirror.owesState ? this.stateOf(entry) : null;
    mirror.wrote();
    const work = this.options.store.write(entry.session.id, {
      owner: this.options.instanceId,
      events,
      state,
      ttlMs: this.ttlOf(entry),
    });
    void this.writes.persist('write', work).then((ok) => {
      if (ok) return this.ownedResult(mirror, work);
      this.retryLater(mirror);
    });
  }

  /** Redis is back (possibly empty after a restart): rewrite every session it missed. */
  private rewriteAll(): void {
    for (const mirror of this.mirrors.values()) if (!mirror.isBusy) this.rewrite(mirror);
  }

  /** Replaces the session's stream and state with what this instance holds; newer events follow once it landed. */
  private rewrite(mirror: SessionMirror): void {
    const { entry } = mirror;
    mirror.startRewrite();
    mirror.pending = [];
    const write = {
      owner: this.options.instanceId,
      events: mirrored(entry),
      state: this.stateOf(entry),
      ttlMs: this.ttlOf(entry),
      replace: true,
    };
    const work = this.options.store.write(entry.session.id, write);
    void this.writes.persist('rewrite', work).then(async (ok) => {
      mirror.rewriteEnded();
      if (!ok) return this.retryLater(mirror);
      await this.ownedResult(mirror, work);
      if ((mirror.pending.length > 0 || mirror.owesState) && this.isTracked(mirror)) this.schedule(mirror);
    });
  }

  private stateOf(entry: HostedSession): SessionState {
    return {
      digest: entry.resumeDigest,
      snapshot: entry.session.snapshot(),
      seq: entry.log.lastSeq,
      epoch: entry.attachEpoch,
    };
  }

  private ttlOf(entry: HostedSession): number {
    return entry.socket === null ? this.options.detachedTtlMs : this.options.attachedTtlMs;
  }
}
