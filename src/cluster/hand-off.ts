// Handing a hosted session off to the instance its client resumed on, and taking it back: the stale socket here
// is closed, the running response finishes (its events keep flowing through the store to the new instance),
// then the session is released to it. A client that comes back here first cancels the move.
import type { Logger } from 'pino';
import { CLOSE_RESUMED_ELSEWHERE } from '../hosting/close-codes.js';
import type { HostedSession, SessionRegistry } from '../hosting/session-registry.js';
import type { MirrorWriter } from './mirror-writer.js';
import type { SessionMirror } from './session-mirror.js';
import type { OwnedWrite, SessionStore } from './session-store.js';
import type { StoreWrites } from './store-writes.js';

/** One resume's hand-off request, as this instance (the owner) acts on it. */
export interface HandOffRequest {
  /** The instance the client resumed on. */
  to: string;
  /** The client's last seq, and its resume's eventId (session.resumed echoes it). */
  lastSeq: number;
  eventId: string | undefined;
  /** The resume's id: each resume is answered, or refused, once. */
  rid: string;
}

export interface HandOffOptions {
  registry: SessionRegistry;
  store: SessionStore;
  instanceId: string;
  detachedTtlMs: number;
  attachedTtlMs: number;
  logger: Logger;
}

export class HandOff {
  /** Per session being handed off, the resume (request id) its last session.resumed answered. */
  private readonly answered = new Map<string, string>();

  constructor(
    private readonly options: HandOffOptions,
    private readonly writer: MirrorWriter,
    private readonly writes: StoreWrites,
  ) {}

  /** Whether the session's last session.resumed answered resume `rid`. */
  hasAnswered(sessionId: string, rid: string): boolean {
    return this.answered.get(sessionId) === rid;
  }

  /** Starts moving the session to `request.to`: closes its socket here and answers the resume. */
  start(entry: HostedSession, request: HandOffRequest): void {
    const mirror = this.writer.get(entry.session.id);
    if (mirror === undefined || entry.handedTo !== null) return;
    this.options.logger.info(
      { sessionId: entry.session.id, to: request.to },
      'handing session off to another instance',
    );
    this.options.registry.handOff(entry, request.to, (socket) =>
      socket.close(CLOSE_RESUMED_ELSEWHERE, 'session resumed on another connection'),
    );
    this.announce(entry, request);
    if (!entry.session.hasActiveResponse) setImmediate(() => this.release(mirror));
  }

  /** Answers one resume, in this session's numbered stream, so the new instance relays it in order. */
  announce(entry: HostedSession, request: HandOffRequest): void {
    const { lastSeq, eventId, rid } = request;
    this.answered.set(entry.session.id, rid);
    const replay = entry.log.since(lastSeq);
    entry.session.announce({
      type: 'session.resumed',
      sessionId: entry.session.id,
      resumedFrom: lastSeq,
      replayed: replay?.length ?? entry.log.bufferedCount,
      missedEvents: replay === null,
      ...(eventId === undefined ? {} : { eventId }),
    });
  }

  /** Hands the session to its new owner: last events, final state and the marker, atomically; then forgets it. */
  release(mirror: SessionMirror): void {
    const { entry } = mirror;
    const to = entry.handedTo;
    // Not once it is forgotten (drained or expired meanwhile): forgetting it released it already.
    if (to === null || mirror.isReleasing || entry.session.hasActiveResponse || !this.writer.isTracked(mirror)) return;
    this.writer.beginRelease(mirror);
    // Writes already issued must land before the marker (a relay may be reading the stream right now).
    const work = this.writes.settle().then(async (): Promise<OwnedWrite | null> => {
      // A response started while those writes landed: release when it settles instead (stateChanged).
      if (entry.session.hasActiveResponse) {
        mirror.releaseCalledOff();
        return null;
      }
      return this.writer.releaseTo(mirror, to, this.options.detachedTtlMs);
    });
    void this.writes.persist('release', work).then(async (ok) => {
      if (!mirror.isReleasing) return;
      if (ok) {
        // Released, or found owned by another instance already: either way it is not ours any more.
        if ((await work) !== null) this.writer.dropCopy(mirror, 'session handed off');
        return;
      }
      // Without the store the new instance cannot take over: keep the session here, resumable as before. Had the
      // release landed after all (only its reply was lost), the fenced rewrite that follows finds that out and
      // drops it.
      this.options.logger.warn({ sessionId: entry.session.id }, 'hand-off failed; keeping the session here');
      mirror.releaseFailed();
      this.options.registry.cancelHandOff(entry);
      if (this.writer.isTracked(mirror)) this.writer.schedule(mirror);
    });
  }

  /**
   * The client came back here while its session was being handed to another instance (it gave up there).
   * Cancels the hand-off: the session stays here, and the marker tells a still-waiting relay it moved on.
   * Returns a promise when the release is already under way; the caller then tries the resume again once it is
   * done (the session is then here again, or gone to the new owner).
   */
  reclaim(entry: HostedSession): true | Promise<void> {
    const mirror = this.writer.get(entry.session.id);
    if (mirror === undefined || entry.handedTo === null) return true;
    if (mirror.isReleasing) return this.writes.settle();
    this.options.registry.cancelHandOff(entry);
    // Released to itself: the marker ends the waiting relay ("it stayed with its owner"). The state is taken
    // when the release is issued, not now: the client's next turn may land before it.
    const work = this.writes
      .settle()
      .then(() => this.writer.releaseTo(mirror, this.options.instanceId, this.options.attachedTtlMs));
    // A failed release may have taken pending events with it: the session is rewritten whole a moment later.
    void this.writes
      .persist('release', work)
      .then((ok) => (ok ? this.writer.ownedResult(mirror, work) : this.writer.retryLater(mirror)));
    this.answered.delete(entry.session.id);
    this.options.logger.info({ sessionId: entry.session.id }, 'hand-off cancelled: the client came back');
    return true;
  }

  /** A hand-off request for a session this instance no longer hosts: pass ownership on if it is still ours. */
  releaseUnhosted(sessionId: string, to: string): void {
    const { store, instanceId, detachedTtlMs } = this.options;
    const work = (async () => {
      const stored = await store.load(sessionId);
      // Fenced again in the release itself: the owner may change between these two calls.
      if (stored !== null && stored.owner === instanceId) {
        await store.release(sessionId, {
          owner: instanceId,
          events: [],
          to,
          state: null,
          lastSeq: stored.seq,
          ttlMs: detachedTtlMs,
        });
      }
    })();
    void this.writes.persist('release', work);
  }

  /** Refuses resume `rid`'s request (a newer connection holds the session), after the writes issued so far. */
  refuse(sessionId: string, rid: string): void {
    const { store, instanceId } = this.options;
    void this.writes.persist(
      'refuse',
      this.writes.settle().then(() => store.refuse(sessionId, instanceId, rid)),
    );
  }

  /** The session is gone from here. */
  forget(sessionId: string): void {
    this.answered.delete(sessionId);
  }
}
