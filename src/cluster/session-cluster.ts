// Scale-out of sessions across instances (REDIS_URL set). Three jobs:
// - mirror: every tracked session's events and state go to the SessionStore, batched once per tick, so another
//   instance can resume it; while Redis is down nothing waits on it, and everything is rewritten when it returns;
// - hand off: when a client resumes on another instance, this one closes its stale socket, lets the running
//   response finish (its events keep flowing through the store to the new instance), then releases the session;
// - resume: remote-resume.ts does the other side (taking a session over from another instance).
import type { Logger } from 'pino';
import type { SessionResumeEvent } from '../protocol.js';
import type { LoggedEvent } from '../session/event-log.js';
import { CLOSE_RESUMED_ELSEWHERE } from '../transports/close-codes.js';
import { parseClientFrame } from '../transports/client-frames.js';
import type { ForgetReason, HostedSession, SessionRegistry } from '../transports/session-registry.js';
import { ControlChannel, type ControlMessage } from './control-channel.js';
import type { InstancePresence } from './instance-presence.js';
import type { RedisLink } from './redis-link.js';
import { RemoteResume, type RelayTarget } from './remote-resume.js';
import type { SessionStore } from './session-store.js';

/** How long a hand-off request that predates the attached connection waits to see whether that one is dead. */
const STALE_REQUEST_WAIT_MS = 1_000;

export interface SessionClusterOptions {
  link: RedisLink;
  store: SessionStore;
  presence: InstancePresence;
  registry: SessionRegistry;
  instanceId: string;
  /** Store TTL of a session whose socket is gone: RESUME_TTL_MS. */
  detachedTtlMs: number;
  /** Store TTL while a socket is attached (refreshed on every write): long enough to outlive an idle connection. */
  attachedTtlMs: number;
  maxFrameBytes: number;
  logger: Logger;
  /** Counts store operations that failed (Redis down or erroring). */
  onStoreError: (operation: string) => void;
}

/** Per-session mirror state. */
interface Mirror {
  entry: HostedSession;
  pending: LoggedEvent[];
  stateDirty: boolean;
  /** Redis missed writes (it was down): the whole session is rewritten when it returns. */
  stale: boolean;
  /** A rewrite is in flight: later events wait in `pending`, so nothing lands in the stream before it. */
  rewriting: boolean;
  releasing: boolean;
}

export class SessionCluster {
  private readonly mirrors = new Map<string, Mirror>();
  private readonly dirty = new Set<Mirror>();
  private flushScheduled = false;
  private readonly inFlight = new Set<Promise<boolean>>();
  readonly control: ControlChannel;

  constructor(private readonly options: SessionClusterOptions) {
    this.control = new ControlChannel(options.link, options.instanceId);
    options.registry.setHooks({
      attached: (entry) => this.attached(entry),
      detached: (entry) => this.refreshTtl(entry, options.detachedTtlMs),
      forgotten: (entry, reason) => this.forgotten(entry, reason),
    });
    options.link.on('up', () => this.rewriteAll());
  }

  /** Listens for hand-off requests. Does not wait for Redis: while it is down, ioredis subscribes once it is back. */
  start(): void {
    this.control.listen((message) => this.onControl(message)).catch((err: unknown) => {
      this.options.onStoreError('subscribe');
      this.options.logger.warn({ err: String(err) }, 'cannot listen for hand-offs yet');
    });
  }

  /** Resolves once every store write issued so far has finished (before closing Redis on shutdown). */
  async settle(): Promise<void> {
    const pending = [...this.inFlight];
    if (pending.length > 0) await Promise.allSettled(pending);
  }

  /** Runs a store operation, counting its failure; returns whether it succeeded. */
  private persist(operation: string, work: Promise<unknown>): Promise<boolean> {
    const tracked = work.then(
      () => true,
      () => {
        this.options.onStoreError(operation);
        return false;
      },
    );
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
    return tracked;
  }

  /**
   * Mirrors a (voice) session from its start. Even a session nobody has spoken in yet gets its small record at
   * once: a client whose first turn is still in flight when its socket drops may resume on any instance.
   */
  track(entry: HostedSession): void {
    const mirror: Mirror = { entry, pending: entry.log.buffered().map(withoutResumeToken), stateDirty: true, stale: false, rewriting: false, releasing: false };
    this.mirrors.set(entry.session.id, mirror);
    entry.log.onAppend = (event) => {
      mirror.pending.push(withoutResumeToken(event));
      this.schedule(mirror);
    };
    this.schedule(mirror);
  }

  /** The session's state changed (Session.onStateChange): persist it, and finish a pending hand-off once idle. */
  stateChanged(entry: HostedSession): void {
    const mirror = this.mirrors.get(entry.session.id);
    if (mirror === undefined || mirror.entry !== entry) return;
    mirror.stateDirty = true;
    this.schedule(mirror);
    if (entry.handedTo !== null && !entry.session.hasActiveResponse) setImmediate(() => this.release(mirror));
  }

  /**
   * The client came back here while its session was being handed to another instance (it gave up there).
   * Cancels the hand-off: the session stays here, and the marker tells a still-waiting relay it moved on.
   * Returns a promise when the release is already under way; the caller then resumes it remotely once it is done.
   */
  reclaim(entry: HostedSession): true | Promise<void> {
    const mirror = this.mirrors.get(entry.session.id);
    if (mirror === undefined || entry.handedTo === null) return true;
    if (mirror.releasing) return this.settle();
    this.options.registry.cancelHandOff(entry);
    const snapshot = entry.session.snapshot();
    const work = this.settle().then(() => this.options.store.release(entry.session.id, [], this.options.instanceId, snapshot, entry.log.lastSeq, this.options.attachedTtlMs));
    void this.persist('release', work);
    this.options.logger.info({ sessionId: entry.session.id }, 'hand-off cancelled: the client came back');
    return true;
  }

  /** Starts taking over a session that this instance does not host (see RemoteResume). */
  resumeRemote(request: SessionResumeEvent, target: RelayTarget): RemoteResume {
    return new RemoteResume({
      store: this.options.store,
      link: this.options.link,
      presence: this.options.presence,
      control: this.control,
      instanceId: this.options.instanceId,
      ttlMs: this.options.attachedTtlMs,
      request,
      target,
      logger: this.options.logger,
    });
  }

  private onControl(message: ControlMessage): void {
    const entry = this.options.registry.get(message.sessionId);
    if (message.t === 'handoff') {
      if (entry === undefined) return void this.releaseUnhosted(message.sessionId, message.to);
      const socket = entry.socket;
      if (message.epoch !== undefined && message.epoch !== entry.attachEpoch && socket !== null) {
        // A connection attached here after the requester looked. If it is already dead (its close not yet seen),
        // the request stands; if it is still there after a moment, it is the newer one and the request is stale
        // (from a resume the client abandoned).
        const decide = (stands: boolean) => {
          clearTimeout(timer);
          socket.off('close', onClose);
          if (stands) return this.handOff(entry, message.to, message.lastSeq, message.eventId);
          this.options.logger.info({ sessionId: entry.session.id, to: message.to }, 'stale hand-off request refused');
          void this.persist('refuse', this.settle().then(() => this.options.store.refuse(entry.session.id, this.options.instanceId)));
        };
        const onClose = () => setImmediate(() => decide(true));
        const timer = setTimeout(() => decide(entry.socket === null), STALE_REQUEST_WAIT_MS);
        socket.once('close', onClose);
        return;
      }
      this.handOff(entry, message.to, message.lastSeq, message.eventId);
      return;
    }
    // A frame for a session being handed off: its response still runs here.
    if (entry === undefined || entry.handedTo === null || this.mirrors.get(entry.session.id)?.releasing) return;
    const frame = parseClientFrame(Buffer.from(message.frame), false, this.options.maxFrameBytes);
    if (frame.ok && frame.event.type !== 'session.resume') entry.session.handle(frame.event);
  }

  private handOff(entry: HostedSession, to: string, lastSeq: number, eventId: string | undefined): void {
    const mirror = this.mirrors.get(entry.session.id);
    if (mirror === undefined || entry.handedTo !== null) return;
    this.options.logger.info({ sessionId: entry.session.id, to }, 'handing session off to another instance');
    this.options.registry.handOff(entry, to, (socket) => socket.close(CLOSE_RESUMED_ELSEWHERE, 'session resumed on another connection'));
    // Announced here, in this session's numbered stream, so the new instance relays it in order.
    const replay = entry.log.since(lastSeq);
    entry.session.announce({
      type: 'session.resumed',
      sessionId: entry.session.id,
      resumedFrom: lastSeq,
      replayed: (replay ?? entry.log.buffered()).length,
      missedEvents: replay === null,
      ...(eventId === undefined ? {} : { eventId }),
    });
    if (!entry.session.hasActiveResponse) setImmediate(() => this.release(mirror));
  }

  /** Hands the session to its new owner: last events, final state and the marker, atomically; then forgets it. */
  private release(mirror: Mirror): void {
    const { entry } = mirror;
    const to = entry.handedTo;
    if (to === null || mirror.releasing || entry.session.hasActiveResponse) return;
    mirror.releasing = true;
    this.dirty.delete(mirror);
    // Writes already issued must land before the marker: MULTI does not queue behind auto-pipelined commands.
    const work = this.settle().then(async () => {
      // A response started while those writes landed: release when it settles instead (stateChanged).
      if (entry.session.hasActiveResponse) {
        mirror.releasing = false;
        return;
      }
      const events = mirror.stale ? entry.log.buffered().map(withoutResumeToken) : mirror.pending;
      mirror.pending = [];
      await this.options.store.release(entry.session.id, events, to, entry.session.snapshot(), entry.log.lastSeq, this.options.detachedTtlMs, mirror.stale);
    });
    void this.persist('release', work).then((ok) => {
      if (!mirror.releasing) return;
      if (ok) {
        this.options.registry.release(entry);
        this.options.logger.info({ sessionId: entry.session.id, to }, 'session handed off');
        return;
      }
      // Without the store the new instance cannot take over: keep the session here, resumable as before.
      this.options.logger.warn({ sessionId: entry.session.id }, 'hand-off failed; keeping the session here');
      mirror.releasing = false;
      mirror.stale = true;
      this.options.registry.cancelHandOff(entry);
    });
  }

  /** A hand-off request for a session this instance no longer hosts: pass ownership on if it is still ours. */
  private releaseUnhosted(sessionId: string, to: string): void {
    const work = (async () => {
      const stored = await this.options.store.load(sessionId);
      if (stored === null || stored.owner !== this.options.instanceId) return;
      await this.options.store.release(sessionId, [], to, null, stored.seq, this.options.detachedTtlMs);
    })();
    void this.persist('release', work);
  }

  private forgotten(entry: HostedSession, reason: ForgetReason): void {
    const mirror = this.mirrors.get(entry.session.id);
    if (mirror === undefined || mirror.entry !== entry) return;
    this.mirrors.delete(entry.session.id);
    this.dirty.delete(mirror);
    entry.log.onAppend = null;
    if (reason === 'released') return;
    if (entry.handedTo !== null || reason === 'drained') {
      // Expired mid hand-off (closing it ended its response: the new instance is waiting), or this instance is
      // shutting down: leave the final state in the store, owned by the new instance or by nobody, so the
      // client can resume on any instance.
      const events = mirror.stale ? entry.log.buffered().map(withoutResumeToken) : mirror.pending;
      const to = entry.handedTo ?? '';
      const snapshot = entry.session.snapshot();
      const work = this.settle().then(() => this.options.store.release(entry.session.id, events, to, snapshot, entry.log.lastSeq, this.options.detachedTtlMs, mirror.stale));
      void this.persist('release', work);
      return;
    }
    // Expired, evicted or closed for good: nobody may resume it anywhere.
    void this.persist('delete', this.options.store.delete(entry.session.id));
  }

  private attached(entry: HostedSession): void {
    const mirror = this.mirrors.get(entry.session.id);
    if (mirror === undefined || !this.options.link.isUp) return;
    void this.persist('attach', this.options.store.attached(entry.session.id, entry.attachEpoch, this.options.attachedTtlMs));
  }

  private refreshTtl(entry: HostedSession, ttlMs: number): void {
    const mirror = this.mirrors.get(entry.session.id);
    if (mirror === undefined || !this.options.link.isUp) return;
    void this.persist('expire', this.options.store.expire(entry.session.id, ttlMs));
  }

  private schedule(mirror: Mirror): void {
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
      if (mirror.releasing || mirror.rewriting) continue;
      const { entry } = mirror;
      if (!up) {
        // Redis cannot take it now; rewriteAll() sends the whole session when it is back.
        mirror.stale = true;
        mirror.pending = [];
        continue;
      }
      if (mirror.stale) {
        this.rewrite(mirror);
        continue;
      }
      const events = mirror.pending;
      mirror.pending = [];
      const state = mirror.stateDirty ? this.stateOf(entry) : null;
      mirror.stateDirty = false;
      const ttl = entry.socket === null ? this.options.detachedTtlMs : this.options.attachedTtlMs;
      void this.persist('write', this.options.store.write(entry.session.id, events, state, ttl)).then((ok) => {
        if (!ok) mirror.stale = true;
      });
    }
    this.dirty.clear();
  }

  /** Redis is back (possibly empty after a restart): rewrite every session it missed. */
  private rewriteAll(): void {
    for (const mirror of this.mirrors.values()) if (!mirror.releasing && !mirror.rewriting) this.rewrite(mirror);
  }

  /** Replaces the session's stream and state with what this instance holds; newer events follow once it landed. */
  private rewrite(mirror: Mirror): void {
    const { entry } = mirror;
    mirror.stale = false;
    mirror.rewriting = true;
    mirror.pending = [];
    mirror.stateDirty = false;
    const ttl = entry.socket === null ? this.options.detachedTtlMs : this.options.attachedTtlMs;
    void this.persist('rewrite', this.options.store.rewrite(entry.session.id, entry.log.buffered().map(withoutResumeToken), this.stateOf(entry), ttl)).then((ok) => {
      mirror.rewriting = false;
      if (!ok) mirror.stale = true;
      if (mirror.pending.length > 0 || mirror.stateDirty || mirror.stale) this.schedule(mirror);
    });
  }

  private stateOf(entry: HostedSession) {
    return { digest: entry.resumeDigest, owner: this.options.instanceId, snapshot: entry.session.snapshot(), seq: entry.log.lastSeq, epoch: entry.attachEpoch };
  }
}

/** session.ready carries the resume token: Redis keeps only its digest, so the mirrored copy drops it. */
function withoutResumeToken(event: LoggedEvent): LoggedEvent {
  if (!event.json.startsWith('{"type":"session.ready"')) return event;
  const { resumeToken: _token, ...rest } = JSON.parse(event.json) as Record<string, unknown>;
  return { seq: event.seq, json: JSON.stringify(rest) };
}
