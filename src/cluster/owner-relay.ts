// The relay of a remote resume: while the live owner finishes the session's running response, its events are
// tailed from the session's Redis stream and passed to the client, and the hand-off request is re-sent until the
// owner answers. Ends at the owner's release marker, a refusal, a timeout or a change of owner.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { SessionResumeEvent } from '../protocol.js';
import type { RestoredSession, ResumeFailure } from '../hosting/scale-out-port.js';
import type { ControlChannel, ControlMessage } from './control-channel.js';
import type { FrameForwarder } from './frame-forwarder.js';
import type { InstancePresence } from './instance-presence.js';
import type { RedisLink } from './redis-link.js';
import type { RelayedEvents } from './relayed-events.js';
import type { SessionStore, StoredSession, StreamItem } from './session-store.js';

/** How long one blocking read waits before the owner's liveness is checked again. */
const TAIL_BLOCK_MS = 1_000;

export interface RelayOptions {
  store: SessionStore;
  link: RedisLink;
  presence: InstancePresence;
  control: ControlChannel;
  instanceId: string;
  /** How long the owner may stay silent before answering the hand-off request. */
  answerMs: number;
  /** How long the relay waits when the owner sends nothing at all (its response must end some time). */
  stallMs: number;
  request: SessionResumeEvent;
  logger: Logger;
  /** This resume's id in its hand-off requests. */
  requestId: string;
  /** The owner's attach count in the record the resume acts on. */
  epoch: number;
  events: RelayedEvents;
  frames: FrameForwarder;
  /** Throws once the client has gone away. */
  checkAborted: () => void;
  /** The blocking connection in use (null once closed), so an abort can break its read. */
  onReader: (reader: Redis | null) => void;
}

/** How a relay ended: what the resume reports, or its next step (taken after the blocking connection closed). */
export type RelayEnd =
  | { end: 'restored'; stored: StoredSession; lastSeq: number; announce: RestoredSession['announce'] }
  | { end: 'failed'; reason: ResumeFailure }
  | { end: 'timeout'; why: string }
  | { end: 'reconsider' }
  | { end: 'takeOver'; stored: StoredSession };

type Marker = Extract<StreamItem, { releasedTo: string }>;

/** Relays from `owner` on a blocking connection of its own, closed before anything that follows. */
export async function relayFrom(owner: string, options: RelayOptions): Promise<RelayEnd> {
  const reader = options.link.blockingReader();
  options.onReader(reader);
  try {
    return await new OwnerRelay(owner, reader, options).run();
  } finally {
    reader.disconnect();
    options.onReader(null);
  }
}

class OwnerRelay {
  /** The last stream entry seen: markers already in the stream end earlier hand-offs; only one after ours counts. */
  private lastId = '0-0';
  private sentAt = 0;
  /** When the owner last made progress: both waits restart with every stream item. */
  private progressAt = 0;
  private readonly handoff: ControlMessage;

  constructor(
    private readonly owner: string,
    private readonly reader: Redis,
    private readonly options: RelayOptions,
  ) {
    const { request, instanceId, epoch, requestId } = options;
    this.handoff = {
      t: 'handoff',
      sessionId: request.sessionId,
      to: instanceId,
      lastSeq: request.lastSeq,
      epoch,
      rid: requestId,
      ...(request.eventId === undefined ? {} : { eventId: request.eventId }),
    };
  }

  async run(): Promise<RelayEnd> {
    const { store, request, control } = this.options;
    const backlog = await store.readAll(request.sessionId);
    this.lastId = backlog.at(-1)?.id ?? '0-0';
    for (const item of backlog) if ('events' in item) this.options.events.pass(item.events);
    // The owner may have released the session (to here, or elsewhere) between our first look and the backlog.
    if ((await store.owner(request.sessionId)) !== this.owner) return { end: 'reconsider' };
    this.options.checkAborted();
    await control.send(this.owner, this.handoff);
    this.sentAt = Date.now();
    this.progressAt = this.sentAt;
    this.options.frames.requested(this.owner);
    for (;;) {
      const end = await this.round();
      if (end !== null) return end;
    }
  }

  /** One blocking read and what follows from it; null: read on. */
  private async round(): Promise<RelayEnd | null> {
    const { store, request, checkAborted } = this.options;
    checkAborted();
    const items = await store.tail(this.reader, request.sessionId, this.lastId, TAIL_BLOCK_MS);
    checkAborted();
    const now = Date.now();
    if (items.length > 0) this.progressAt = now;
    for (const item of items) {
      this.lastId = item.id;
      if ('events' in item) {
        this.options.events.pass(item.events);
        continue;
      }
      const end = await this.atMarker(item);
      if (end !== null) return end;
    }
    // Pub/sub delivers at most once (a request sent while the owner's subscriber reconnected is gone), so the
    // request goes out again every round until the hand-off ends; the owner ignores one it already acts on,
    // and acts on it again if its hand-off failed meanwhile. A failed send is just retried next round.
    if (now - this.sentAt >= TAIL_BLOCK_MS) {
      this.sentAt = now;
      this.options.control.send(this.owner, this.handoff).catch(() => undefined);
    }
    return items.length > 0 ? null : this.whenQuiet(now);
  }

  /** A marker ends the hand-off; null for a refusal of another resume's request (not about this one). */
  private async atMarker(item: Marker): Promise<RelayEnd | null> {
    const { store, request, instanceId, events, frames } = this.options;
    // The owner kept it (a newer connection holds it, or the client came back there): this resume is over.
    if (item.releasedTo === this.owner)
      return item.refused !== undefined && item.refused !== this.options.requestId
        ? null
        : { end: 'failed', reason: 'moved' };
    const final = await store.load(request.sessionId);
    if (final === null) return { end: 'failed', reason: 'not_found' };
    // Released to nobody: the owner shut down meanwhile; take it over from what it left.
    if (item.releasedTo === '') return { end: 'takeOver', stored: final };
    // Handed to a third instance (another resume got there first): follow it.
    if (item.releasedTo !== instanceId) return { end: 'reconsider' };
    const missedEvents = events.flushHeld();
    if (missedEvents)
      this.options.logger.warn(
        { sessionId: request.sessionId },
        'events missing from the shared stream were not relayed',
      );
    // An owner that no longer hosted the session passes it on without announcing anything: we announce.
    const announce = frames.ownerAnswered
      ? null
      : { resumedFrom: request.lastSeq, replayed: events.forwardedSeq - request.lastSeq, missedEvents };
    return {
      end: 'restored',
      stored: final,
      lastSeq: Math.max(item.lastSeq, final.seq, events.forwardedSeq),
      announce,
    };
  }

  /** Nothing new for a while: did the owner give up, die, or pass the session on? null: read on. */
  private async whenQuiet(now: number): Promise<RelayEnd | null> {
    const { frames, presence, store, request } = this.options;
    // An owner still streaming (to an instance it hands the session to first) is making progress: progressAt.
    if (!frames.ownerAnswered && now - this.progressAt > this.options.answerMs)
      return { end: 'timeout', why: 'the owner never answered the hand-off request' };
    if (frames.ownerAnswered && now - this.progressAt > this.options.stallMs)
      return { end: 'timeout', why: 'the owner stopped sending during the hand-off' };
    // Is the owner still there, and still the owner, to finish the hand-off? (A dead owner's session is taken
    // over by RemoteResume.decide, which checks that whoever owns it now is dead too.)
    if (!(await presence.isAlive(this.owner))) {
      this.options.logger.warn(
        { sessionId: request.sessionId, owner: this.owner },
        'owner died during hand-off; taking the session over',
      );
      return { end: 'reconsider' };
    }
    if ((await store.owner(request.sessionId)) !== this.owner) return { end: 'reconsider' };
    return null;
  }
}
