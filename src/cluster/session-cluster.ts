// Scale-out of sessions across instances (REDIS_URL set). Three jobs:
// - mirror: every tracked session's events and state go to the SessionStore, batched once per tick, so another
//   instance can resume it; while Redis is down nothing waits on it, and everything is rewritten when it returns;
// - hand off: when a client resumes on another instance, this one closes its stale socket, lets the running
//   response finish (its events keep flowing through the store to the new instance), then releases the session;
// - resume: remote-resume.ts does the other side (taking a session over from another instance).
import type { Logger } from 'pino';
import type { SessionResumeEvent } from '../protocol.js';
import type { LoggedEvent } from '../hosting/event-log.js';
import { CLOSE_RESUMED_ELSEWHERE } from '../hosting/close-codes.js';
import { parseClientFrame } from '../hosting/client-frames.js';
import type { ForgetReason, HostedSession, SessionRegistry } from '../hosting/session-registry.js';
import { ControlChannel, type ControlMessage } from './control-channel.js';
import type { InstancePresence } from './instance-presence.js';
import type { RedisLink } from './redis-link.js';
import type { RelayTarget, SessionScaleOut } from '../hosting/scale-out-port.js';
import { RemoteResume } from './remote-resume.js';
import type { OwnedWrite, SessionState, SessionStore } from './session-store.js';

/** How long a hand-off request that predates the attached connection waits to see whether that one is dead. */
const STALE_REQUEST_WAIT_MS = 1_000;
/** A write Redis refused while it stays up (out of memory, a read-only replica) is retried this much later. */
const RETRY_MS = 1_000;

export interface SessionClusterOptions {
  link: RedisLink;
  store: SessionStore;
  presence: InstancePresence;
  registry: SessionRegistry;
  instanceId: string;
  /** Store TTL of a session whose socket is gone: RESUME_TTL_MS. */
  detachedTtlMs: number;
  /**
   * Store TTL while a socket is attached (refreshed on every write): longer than the longest silence of an
   * attached session (an idle connection, a client tool the response waits on), plus the detached TTL.
   */
  attachedTtlMs: number;
  /** How long a relay waits for the owner to answer or make progress (see RemoteResume). */
  relayTimeouts: { answerMs: number; stallMs: number };
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
  /** A retry of a failed write is scheduled (see retryLater). */
  retry: NodeJS.Timeout | null;
}

export class SessionCluster implements SessionScaleOut {
  private readonly mirrors = new Map<string, Mirror>();
  private readonly dirty = new Set<Mirror>();
  private flushScheduled = false;
  private readonly inFlight = new Set<Promise<boolean>>();
  /** Sessions whose stale-request check is under way: repeated requests wait for its verdict. */
  private readonly deciding = new Set<string>();
  /** Per session being handed off, the resume (request id) its last session.resumed answered. */
  private readonly answered = new Map<string, string>();
  readonly control: ControlChannel;

  constructor(private readonly options: SessionClusterOptions) {
    this.control = new ControlChannel(options.link, options.instanceId);
    options.registry.setHooks({
      // The attach count (in the state) and the TTL (attached or detached) change: the next flush writes them.
      attached: (entry) => this.touch(entry, true),
      detached: (entry) => this.touch(entry, false),
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
    const mirror: Mirror = { entry, pending: mirrored(entry), stateDirty: true, stale: false, rewriting: false, releasing: false, retry: null };
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
   * Returns a promise when the release is already under way; the caller then tries the resume again once it is
   * done (the session is then here again, or gone to the new owner).
   */
  reclaim(entry: HostedSession): true | Promise<void> {
    const mirror = this.mirrors.get(entry.session.id);
    if (mirror === undefined || entry.handedTo === null) return true;
    if (mirror.releasing) return this.settle();
    this.options.registry.cancelHandOff(entry);
    // Released to itself: the marker ends the waiting relay ("it stayed with its owner"). The state is taken
    // when the release is issued, not now: the client's next turn may land before it.
    const work = this.settle().then(() => this.releaseTo(mirror, this.options.instanceId, this.options.attachedTtlMs));
    // A failed release may have taken pending events with it: the session is rewritten whole a moment later.
    void this.persist('release', work).then((ok) => (ok ? this.ownedResult(mirror, work) : this.retryLater(mirror)));
    this.answered.delete(entry.session.id);
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
      ...this.options.relayTimeouts,
      request,
      target,
      logger: this.options.logger,
    });
  }

  private onControl(message: ControlMessage): void {
    const entry = this.options.registry.get(message.sessionId);
    if (message.t === 'handoff') {
      if (entry === undefined) return void this.releaseUnhosted(message.sessionId, message.to);
      const rid = message.rid ?? message.to;
      // Already moving to that instance, and the client resumed there again (its first relay was abandoned):
      // this resume gets its own answer, or its relay would wait for one forever.
      if (entry.handedTo === message.to && this.answered.get(message.sessionId) !== rid) return this.announceResume(entry, message.lastSeq, message.eventId, rid);
      // Already moving (a re-sent request; a competing request from another instance loses), or a stale-request
      // check for it is under way: nothing new to do.
      if (entry.handedTo !== null || this.deciding.has(message.sessionId)) return;
      const socket = entry.socket;
      if (message.epoch !== undefined && message.epoch !== entry.attachEpoch && socket !== null) {
        // A connection attached here after the requester looked. If it is already dead (its close not yet seen),
        // the request stands; if it is still there after a moment, it is the newer one and the request is stale
        // (from a resume the client abandoned).
        this.deciding.add(message.sessionId);
        const decide = (stands: boolean) => {
          if (!this.deciding.delete(message.sessionId)) return;
          clearTimeout(timer);
          socket.off('close', onClose);
          if (stands) return this.handOff(entry, message.to, message.lastSeq, message.eventId, rid);
          this.options.logger.info({ sessionId: entry.session.id, to: message.to }, 'stale hand-off request refused');
          void this.persist('refuse', this.settle().then(() => this.options.store.refuse(entry.session.id, this.options.instanceId, rid)));
        };
        const onClose = () => setImmediate(() => decide(true));
        const timer = setTimeout(() => decide(entry.socket === null), STALE_REQUEST_WAIT_MS);
        socket.once('close', onClose);
        return;
      }
      this.handOff(entry, message.to, message.lastSeq, message.eventId, rid);
      return;
    }
    // A frame for a session being handed off: its response still runs here.
    if (entry === undefined || entry.handedTo === null || this.mirrors.get(entry.session.id)?.releasing) return;
    const frame = parseClientFrame(Buffer.from(message.frame), false, this.options.maxFrameBytes);
    if (frame.ok && frame.event.type !== 'session.resume') entry.session.handle(frame.event);
  }

  private handOff(entry: HostedSession, to: string, lastSeq: number, eventId: string | undefined, rid: string): void {
    const mirror = this.mirrors.get(entry.session.id);
    if (mirror === undefined || entry.handedTo !== null) return;
    this.options.logger.info({ sessionId: entry.session.id, to }, 'handing session off to another instance');
    this.options.registry.handOff(entry, to, (socket) => socket.close(CLOSE_RESUMED_ELSEWHERE, 'session resumed on another connection'));
    this.announceResume(entry, lastSeq, eventId, rid);
    if (!entry.session.hasActiveResponse) setImmediate(() => this.release(mirror));
  }

  /** Answers one resume, in this session's numbered stream, so the new instance relays it in order. */
  private announceResume(entry: HostedSession, lastSeq: number, eventId: string | undefined, rid: string): void {
    this.answered.set(entry.session.id, rid);
    const replay = entry.log.since(lastSeq);
    entry.session.announce({
      type: 'session.resumed',
      sessionId: entry.session.id,
      resumedFrom: lastSeq,
      replayed: (replay ?? entry.log.buffered()).length,
      missedEvents: replay === null,
      ...(eventId === undefined ? {} : { eventId }),
    });
  }

  /** Hands the session to its new owner: last events, final state and the marker, atomically; then forgets it. */
  private release(mirror: Mirror): void {
    const { entry } = mirror;
    const to = entry.handedTo;
    // Not once it is forgotten (drained or expired meanwhile): forgotten() released it already.
    if (to === null || mirror.releasing || entry.session.hasActiveResponse || !this.isTracked(mirror)) return;
    mirror.releasing = true;
    this.dirty.delete(mirror);
    // Writes already issued must land before the marker (a relay may be reading the stream right now).
    const work = this.settle().then(async (): Promise<OwnedWrite | null> => {
      // A response started while those writes landed: release when it settles instead (stateChanged).
      if (entry.session.hasActiveResponse) {
        mirror.releasing = false;
        return null;
      }
      return this.releaseTo(mirror, to, this.options.detachedTtlMs);
    });
    void this.persist('release', work).then(async (ok) => {
      if (!mirror.releasing) return;
      if (ok) {
        // Released, or found owned by another instance already: either way it is not ours any more.
        if ((await work) !== null) this.dropCopy(mirror, 'session handed off');
        return;
      }
      // Without the store the new instance cannot take over: keep the session here, resumable as before. Had the
      // release landed after all (only its reply was lost), the fenced rewrite below finds that out and drops it.
      this.options.logger.warn({ sessionId: entry.session.id }, 'hand-off failed; keeping the session here');
      mirror.releasing = false;
      mirror.stale = true;
      this.options.registry.cancelHandOff(entry);
      if (this.isTracked(mirror)) this.schedule(mirror);
    });
  }

  /** A hand-off request for a session this instance no longer hosts: pass ownership on if it is still ours. */
  private releaseUnhosted(sessionId: string, to: string): void {
    const { store, instanceId, detachedTtlMs } = this.options;
    const work = (async () => {
      const stored = await store.load(sessionId);
      // Fenced again in the release itself: the owner may change between these two calls.
      if (stored !== null && stored.owner === instanceId) await store.release(sessionId, instanceId, [], to, null, stored.seq, detachedTtlMs);
    })();
    void this.persist('release', work);
  }

  private forgotten(entry: HostedSession, reason: ForgetReason): void {
    const mirror = this.mirrors.get(entry.session.id);
    if (mirror === undefined || mirror.entry !== entry) return;
    this.mirrors.delete(entry.session.id);
    this.dirty.delete(mirror);
    this.answered.delete(entry.session.id);
    entry.log.onAppend = null;
    // Released (or owned elsewhere), or a release is already under way: nothing of it is this instance's to write.
    // Marked as releasing either way, so a write still in flight cannot schedule anything more for it.
    const alreadyReleasing = mirror.releasing;
    mirror.releasing = true;
    clearTimeout(mirror.retry ?? undefined);
    if (reason === 'released' || alreadyReleasing) return;
    if (entry.handedTo !== null || reason === 'drained') {
      // Expired mid hand-off (closing it ended its response: the new instance is waiting), or this instance is
      // shutting down: leave the final state in the store, owned by the new instance or by nobody, so the
      // client can resume on any instance.
      const to = entry.handedTo ?? '';
      void this.persist('release', this.settle().then(() => this.releaseTo(mirror, to, this.options.detachedTtlMs)));
      return;
    }
    // Expired, evicted or closed for good: nobody may resume it anywhere (unless another instance owns it now).
    void this.persist('delete', this.options.store.delete(entry.session.id, this.options.instanceId));
  }

  /** The next flush writes this session's state (`withState`) and refreshes its TTL for the socket's new state. */
  private touch(entry: HostedSession, withState: boolean): void {
    const mirror = this.mirrors.get(entry.session.id);
    if (mirror === undefined || mirror.entry !== entry) return;
    if (withState) mirror.stateDirty = true;
    this.schedule(mirror);
  }

  /**
   * Another instance owns the session now (it took it over while this one looked dead, or this one handed it
   * off): close its socket here, if any, and forget it without writing anything more.
   */
  private dropCopy(mirror: Mirror, why: string): void {
    const { entry } = mirror;
    if (!this.isTracked(mirror)) return;
    this.options.logger.info({ sessionId: entry.session.id, to: entry.handedTo }, why);
    this.options.registry.disown(entry, (socket) => socket.close(CLOSE_RESUMED_ELSEWHERE, 'session resumed on another connection'));
  }

  /** Acts on a fenced write's outcome (`work` has settled successfully). */
  private async ownedResult(mirror: Mirror, work: Promise<OwnedWrite>): Promise<void> {
    const outcome = await work;
    if (!this.isTracked(mirror)) return;
    if (outcome === 'lost') {
      this.options.logger.warn({ sessionId: mirror.entry.session.id }, 'another instance took this session over; dropping the copy here');
      this.dropCopy(mirror, 'session owned elsewhere');
    } else if (outcome === 'missing') {
      // Its record expired in Redis: the next flush writes it whole.
      mirror.stale = true;
      this.schedule(mirror);
    }
  }

  /**
   * Releases the session to `to` (this instance itself when a hand-off is cancelled; '' for nobody) with what the
   * store has not got yet. A record that vanished (evicted, or Redis restarted empty) is brought back whole with
   * the release, so the new owner finds the session.
   */
  private async releaseTo(mirror: Mirror, to: string, ttlMs: number): Promise<OwnedWrite> {
    const { entry } = mirror;
    const { store, instanceId } = this.options;
    const { events, replace } = this.unsent(mirror);
    const state = this.stateOf(entry);
    const outcome = await store.release(entry.session.id, instanceId, events, to, state, state.seq, ttlMs, replace);
    if (outcome !== 'missing' || replace) return outcome;
    return store.release(entry.session.id, instanceId, mirrored(entry), to, state, state.seq, ttlMs, true);
  }

  /**
   * Redis refused a write while it is up (while it is down, rewriteAll() catches up on its return): the session
   * is rewritten whole a little later, not at once, so an erroring Redis is not hammered.
   */
  private retryLater(mirror: Mirror): void {
    mirror.stale = true;
    if (mirror.retry !== null || !this.options.link.isUp) return;
    mirror.retry = setTimeout(() => {
      mirror.retry = null;
      if (this.isTracked(mirror)) this.schedule(mirror);
    }, RETRY_MS);
    mirror.retry.unref();
  }

  /** Events the store has not got yet: the pending ones, or all of them when it missed some (`replace`). */
  private unsent(mirror: Mirror): { events: LoggedEvent[]; replace: boolean } {
    const events = mirror.stale ? mirrored(mirror.entry) : mirror.pending;
    const replace = mirror.stale;
    mirror.pending = [];
    return { events, replace };
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
        // A rewrite Redis refused is retried by its timer, not by every new event (up to 1 MiB each time).
        if (mirror.retry === null) this.rewrite(mirror);
        continue;
      }
      const events = mirror.pending;
      mirror.pending = [];
      const state = mirror.stateDirty ? this.stateOf(entry) : null;
      mirror.stateDirty = false;
      const work = this.options.store.write(entry.session.id, this.options.instanceId, events, state, this.ttlOf(entry));
      void this.persist('write', work).then((ok) => {
        if (ok) return this.ownedResult(mirror, work);
        this.retryLater(mirror);
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
    const work = this.options.store.write(entry.session.id, this.options.instanceId, mirrored(entry), this.stateOf(entry), this.ttlOf(entry), true);
    void this.persist('rewrite', work).then(async (ok) => {
      mirror.rewriting = false;
      if (!ok) return this.retryLater(mirror);
      await this.ownedResult(mirror, work);
      if ((mirror.pending.length > 0 || mirror.stateDirty || mirror.stale) && this.isTracked(mirror)) this.schedule(mirror);
    });
  }

  private stateOf(entry: HostedSession): SessionState {
    return { digest: entry.resumeDigest, snapshot: entry.session.snapshot(), seq: entry.log.lastSeq, epoch: entry.attachEpoch };
  }

  /** Whether `mirror` is still its session's mirror here (not forgotten, released or replaced meanwhile). */
  private isTracked(mirror: Mirror): boolean {
    return this.mirrors.get(mirror.entry.session.id) === mirror;
  }

  private ttlOf(entry: HostedSession): number {
    return entry.socket === null ? this.options.detachedTtlMs : this.options.attachedTtlMs;
  }
}

/** Every event the session's log still holds, as the store gets them (a rewrite's whole stream). */
function mirrored(entry: HostedSession): LoggedEvent[] {
  return entry.log.buffered().map(withoutResumeToken);
}

/** session.ready carries the resume token: Redis keeps only its digest, so the mirrored copy drops it. */
function withoutResumeToken(event: LoggedEvent): LoggedEvent {
  if (!event.json.startsWith('{"type":"session.ready"')) return event;
  const { resumeToken: _token, ...rest } = JSON.parse(event.json) as Record<string, unknown>;
  return { seq: event.seq, json: JSON.stringify(rest) };
}
