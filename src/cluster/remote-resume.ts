// Resuming, on this instance, a session another instance (or nobody) hosts. Two ways:
// - relay: the owner is alive. Ask it to hand the session off; until it releases it (its running response may
//   still be streaming), relay the owner's events from the session's Redis stream to the client, in seq order,
//   and forward the client's barge-ins to the owner. Then restore the final state here.
// - take over: the owner is gone (crashed, or released it earlier). Claim ownership with a compare-and-set,
//   replay what the client missed from the stream, and restore the last stored state. A response the dead owner
//   never finished is reported as failed, and what it had said is kept in history.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { ClientEvent, SessionResumeEvent } from '../protocol.js';
import type { LoggedEvent } from '../hosting/event-log.js';
import type { PendingRemoteResume, RelayTarget, RestoredSession, ResumeFailure, ResumeOutcome } from '../hosting/scale-out-port.js';
import { digestToken } from '../hosting/session-registry.js';
import type { ControlChannel } from './control-channel.js';
import type { InstancePresence } from './instance-presence.js';
import type { RedisLink } from './redis-link.js';
import { inSeqOrder, type SessionStore, type StoredSession, type StreamItem } from './session-store.js';

export interface RemoteResumeOptions {
  store: SessionStore;
  link: RedisLink;
  presence: InstancePresence;
  control: ControlChannel;
  instanceId: string;
  /** Store TTL to set when taking ownership. */
  ttlMs: number;
  /** How long the owner may stay silent before answering the hand-off request (re-sent every TAIL_BLOCK_MS meanwhile). */
  answerMs: number;
  /** How long the relay waits when the owner sends nothing at all (its response must end some time). */
  stallMs: number;
  request: SessionResumeEvent;
  target: RelayTarget;
  logger: Logger;
}

/** How long one blocking read waits before the owner's liveness is checked again. */
const TAIL_BLOCK_MS = 1_000;
/** Events kept for the restored log's replay buffer. */
const RECENT_EVENTS = 2_000;
/** Ownership changes followed during one resume before giving up (the client may simply resume again). */
const MAX_HOPS = 3;
/** Client frames held until the owner answers the hand-off request: barge-ins and tool results, never many. */
const MAX_FORWARD_QUEUE = 32;

class ResumeAborted extends Error {}

/** How a relay ended: an outcome, or the next step (taken after its blocking connection is closed). */
type RelayEnd = ResumeOutcome | { next: 'reconsider' } | { next: 'takeOver'; stored: StoredSession };

export class RemoteResume implements PendingRemoteResume {
  readonly done: Promise<ResumeOutcome>;
  /** The owner asked for the hand-off, once the request is out: only events after it can be its answer. */
  private owner: string | null = null;
  private readonly forwardQueue: ClientEvent[] = [];
  private aborted = false;
  private forwardedSeq: number;
  private relayed = false;
  /** The owner's session.resumed for this resume was relayed. */
  private announced = false;
  /** The owner's attach count in the record this resume acts on. */
  private epochSeen = 0;
  private recent: LoggedEvent[] = [];
  /** This resume's id in its hand-off requests: the owner answers, or refuses, each resume once. */
  private readonly requestId = randomBytes(9).toString('base64url');
  /** Events relayed out of order, waiting for the gap before them to fill (see pass). */
  private readonly held = new Map<number, LoggedEvent>();
  private reader: ReturnType<RedisLink['blockingReader']> | null = null;

  constructor(private readonly options: RemoteResumeOptions) {
    this.forwardedSeq = options.request.lastSeq;
    this.done = this.run().catch((err: unknown) => {
      // A client that left also breaks the blocking read: that is an abort, not a failure.
      const aborted = this.aborted || err instanceof ResumeAborted;
      if (!aborted) options.logger.warn({ sessionId: options.request.sessionId, err: String(err) }, 'remote resume failed');
      return { ok: false as const, reason: aborted ? ('aborted' as const) : ('unavailable' as const), relayed: this.relayed };
    });
  }

  get sessionId(): string {
    return this.options.request.sessionId;
  }

  /** Whether events of the session were relayed to the client already. */
  get hasRelayed(): boolean {
    return this.relayed;
  }

  /**
   * Client frames still held when the resume ended (the owner never answered before it released the session):
   * they belong to the restored session now (a barge-in's heardChars still trims the last reply).
   */
  takeHeldFrames(): ClientEvent[] {
    return this.forwardQueue.splice(0);
  }

  /**
   * A client frame for the response the old owner is still running (barge-in, tool result). Sent once the owner
   * has answered the hand-off request (before that it would ignore it: the session is not moving yet, as far as
   * it knows); held until then.
   */
  forward(event: ClientEvent): void {
    if (this.owner === null || !this.announced) {
      // Bounded: a client flooding frames meanwhile loses the excess (a repeated cancel changes nothing anyway).
      const last = this.forwardQueue.at(-1);
      if (this.forwardQueue.length < MAX_FORWARD_QUEUE && !(event.type === 'response.cancel' && last?.type === 'response.cancel')) this.forwardQueue.push(event);
      return;
    }
    this.options.control.send(this.owner, { t: 'frame', sessionId: this.sessionId, frame: JSON.stringify(event) }).catch(() => undefined);
  }

  /** The client went away. The hand-off still completes at the owner; whoever resumes next takes it from the store. */
  abort(): void {
    this.aborted = true;
    this.reader?.disconnect();
  }

  private async run(): Promise<ResumeOutcome> {
    const { store, request } = this.options;
    const stored = await store.load(request.sessionId);
    if (stored === null) return this.fail('not_found');
    if (!timingSafeEqual(stored.digest, digestToken(request.resumeToken))) return this.fail('bad_token');
    return this.decide(stored, 0);
  }

  /** Relay from a live owner, or take over from a dead (or no) owner. `hops` bounds ownership changes seen meanwhile. */
  private async decide(stored: StoredSession, hops: number): Promise<ResumeOutcome> {
    this.checkAborted();
    this.epochSeen = stored.epoch;
    const { instanceId, presence } = this.options;
    if (stored.owner !== '' && stored.owner !== instanceId && (await presence.isAlive(stored.owner))) return this.relay(stored.owner, hops);
    return this.takeOver(stored);
  }

  /** The owner changed while we looked (a hand-off to here or elsewhere landed): decide again from the new state. */
  private async reconsider(hops: number): Promise<ResumeOutcome> {
    if (hops >= MAX_HOPS) return this.fail('moved');
    const current = await this.options.store.load(this.sessionId);
    return current === null ? this.fail('not_found') : this.decide(current, hops + 1);
  }

  /** Relays from `owner` until the hand-off ends; then restores here, takes over, or follows the session on. */
  private async relay(owner: string, hops: number): Promise<ResumeOutcome> {
    const end = await this.relayFrom(owner);
    if (!('next' in end)) return end;
    if (end.next === 'takeOver') return this.takeOver(end.stored);
    // Another owner now: frames wait for its answer, not the old owner's.
    this.owner = null;
    this.announced = false;
    return this.reconsider(hops);
  }

  /** The relay proper, on its own blocking connection (closed before anything that follows it). */
  private async relayFrom(owner: string): Promise<RelayEnd> {
    const { store, request, control, instanceId, link } = this.options;
    const reader = link.blockingReader();
    this.reader = reader;
    try {
      const backlog = await store.readAll(request.sessionId);
      // Markers already in the stream end earlier hand-offs; only one after our request counts.
      let lastId = backlog.at(-1)?.id ?? '0-0';
      for (const item of backlog) if ('events' in item) this.pass(item.events);
      // The owner may have released the session (to here, or elsewhere) between our first look and the backlog.
      if ((await store.owner(request.sessionId)) !== owner) return { next: 'reconsider' };
      this.checkAborted();
      const handoff = {
        t: 'handoff' as const,
        sessionId: request.sessionId,
        to: instanceId,
        lastSeq: request.lastSeq,
        epoch: this.epochSeen,
        rid: this.requestId,
        ...(request.eventId === undefined ? {} : { eventId: request.eventId }),
      };
      await control.send(owner, handoff);
      let sentAt = Date.now();
      let progressAt = sentAt;
      this.owner = owner;
      for (;;) {
        this.checkAborted();
        const items: StreamItem[] = await store.tail(reader, request.sessionId, lastId, TAIL_BLOCK_MS);
        this.checkAborted();
        const now = Date.now();
        if (items.length > 0) progressAt = now;
        for (const item of items) {
          lastId = item.id;
          if ('events' in item) {
            this.pass(item.events);
            continue;
          }
          // The owner kept it (a newer connection holds it, or the client came back there): this resume is over.
          // A refusal of another resume's request is not about this one.
          if (item.releasedTo === owner) {
            if (item.refused !== undefined && item.refused !== this.requestId) continue;
            return this.fail('moved');
          }
          const final = await store.load(request.sessionId);
          if (final === null) return this.fail('not_found');
          // Released to nobody: the owner shut down meanwhile; take it over from what it left.
          if (item.releasedTo === '') return { next: 'takeOver', stored: final };
          // Handed to a third instance (another resume got there first): follow it.
          if (item.releasedTo !== instanceId) return { next: 'reconsider' };
          const missedEvents = this.flushHeld();
          // An owner that no longer hosted the session passes it on without announcing anything: we announce.
          const announce = this.announced ? null : { resumedFrom: request.lastSeq, replayed: this.forwardedSeq - request.lastSeq, missedEvents };
          return this.restored(final, Math.max(item.lastSeq, final.seq, this.forwardedSeq), [], announce, null);
        }
        // Pub/sub delivers at most once (a request sent while the owner's subscriber reconnected is gone), so the
        // request goes out again every round until the hand-off ends; the owner ignores one it already acts on,
        // and acts on it again if its hand-off failed meanwhile. A failed send is just retried next round.
        if (now - sentAt >= TAIL_BLOCK_MS) {
          sentAt = now;
          control.send(owner, handoff).catch(() => undefined);
        }
        if (items.length > 0) continue;
        // An owner still streaming (to an instance it hands the session to first) is making progress, so both
        // waits restart with every item.
        if (!this.announced && now - progressAt > this.options.answerMs) return this.timedOut(owner, 'the owner never answered the hand-off request');
        if (this.announced && now - progressAt > this.options.stallMs) return this.timedOut(owner, 'the owner stopped sending during the hand-off');
        // Nothing new for a while: is the owner still there, and still the owner, to finish the hand-off?
        // (A dead owner's session is taken over by decide(), which checks that whoever owns it now is dead too.)
        if (!(await this.options.presence.isAlive(owner))) {
          this.options.logger.warn({ sessionId: request.sessionId, owner }, 'owner died during hand-off; taking the session over');
          return { next: 'reconsider' };
        }
        if ((await store.owner(request.sessionId)) !== owner) return { next: 'reconsider' };
      }
    } finally {
      reader.disconnect();
      if (this.reader === reader) this.reader = null;
    }
  }

  private async takeOver(stored: StoredSession): Promise<ResumeOutcome> {
    const { store, request, instanceId, ttlMs } = this.options;
    if (!(await store.takeOwnership(request.sessionId, stored.owner, instanceId, ttlMs))) return this.fail('moved');
    // The whole stream is read again below: what waited for a gap is replayed from it, in order.
    this.held.clear();
    const events = inSeqOrder((await store.readAll(request.sessionId)).flatMap((item) => ('events' in item ? item.events : [])));
    const lastSeq = Math.max(stored.seq, events.at(-1)?.seq ?? 0, this.forwardedSeq);
    const replay = events.filter((e) => e.seq > this.forwardedSeq);
    const missedEvents = this.forwardedSeq < lastSeq && (replay[0]?.seq ?? Infinity) > this.forwardedSeq + 1;
    this.recent = events.slice(-RECENT_EVENTS);
    const announce = { resumedFrom: request.lastSeq, replayed: replay.length + (this.forwardedSeq - request.lastSeq), missedEvents };
    return this.restored(stored, lastSeq, replay, announce, findUnfinished(events));
  }

  private restored(stored: StoredSession, lastSeq: number, replay: LoggedEvent[], announce: RestoredSession['announce'], unfinished: RestoredSession['unfinished']): ResumeOutcome {
    return {
      ok: true,
      restored: { sessionId: this.sessionId, digest: stored.digest, snapshot: stored.snapshot, lastSeq, epoch: stored.epoch, recent: this.recent, replay, announce, unfinished },
    };
  }

  /** Relays events the client has not seen, in seq order, once each. */
  private pass(events: readonly LoggedEvent[]): void {
    for (const event of events) {
      if (event.seq <= this.forwardedSeq) {
        this.remember(event);
        continue;
      }
      // Never skip an event: one beyond a gap (a write that failed while later ones landed) waits until the
      // owner's rewrite fills the gap. Only a stream that starts after the client's position may jump (it was
      // trimmed: the client missed those events for good).
      if ((this.relayed || this.recent.length > 0) && event.seq > this.forwardedSeq + 1) {
        if (this.held.size < RECENT_EVENTS) this.held.set(event.seq, event);
        continue;
      }
      this.deliver(event);
      for (let next = this.held.get(this.forwardedSeq + 1); next !== undefined; next = this.held.get(this.forwardedSeq + 1)) {
        this.held.delete(next.seq);
        this.deliver(next);
      }
    }
    if (this.recent.length > RECENT_EVENTS * 2) this.recent = this.recent.slice(-RECENT_EVENTS);
  }

  /** Relays held events whose gap never filled, in order; true when there were any (the client missed some). */
  private flushHeld(): boolean {
    if (this.held.size === 0) return false;
    const rest = [...this.held.values()].sort((x, y) => x.seq - y.seq);
    this.held.clear();
    for (const event of rest) if (event.seq > this.forwardedSeq) this.deliver(event);
    this.options.logger.warn({ sessionId: this.sessionId }, 'events missing from the shared stream were not relayed');
    return true;
  }

  private deliver(event: LoggedEvent): void {
    this.remember(event);
    this.forwardedSeq = event.seq;
    if (this.owner !== null && !this.announced && this.answersUs(event)) {
      this.announced = true;
      for (const held of this.forwardQueue.splice(0)) this.forward(held);
    }
    this.relayed = true;
    this.options.target.write(event);
  }

  /** `recent` must be ordered (it becomes the restored log's replay buffer, which keeps its gap-free tail). */
  private remember(event: LoggedEvent): void {
    if (event.seq > (this.recent.at(-1)?.seq ?? 0)) this.recent.push(event);
  }

  /** The owner's session.resumed for this resume (older ones, from resumes that never reached a client, differ). */
  private answersUs(event: LoggedEvent): boolean {
    if (!event.json.startsWith('{"type":"session.resumed"')) return false;
    try {
      const parsed = JSON.parse(event.json) as { resumedFrom?: unknown; eventId?: unknown };
      return parsed.resumedFrom === this.options.request.lastSeq && parsed.eventId === this.options.request.eventId;
    } catch {
      return false;
    }
  }

  private timedOut(owner: string, why: string): ResumeOutcome {
    this.options.logger.warn({ sessionId: this.sessionId, owner }, why);
    return this.fail('timeout');
  }

  private checkAborted(): void {
    if (this.aborted) throw new ResumeAborted();
  }

  private fail(reason: ResumeFailure): ResumeOutcome {
    return { ok: false, reason, relayed: this.relayed };
  }
}

/** The last response.created with no response.done after it, and the text its deltas carried. */
function findUnfinished(events: readonly LoggedEvent[]): RestoredSession['unfinished'] {
  let open: { responseId: string; text: string } | null = null;
  for (const event of events) {
    // Only the few event types that matter are parsed in full.
    if (!event.json.includes('"type":"response.')) continue;
    let parsed: { type?: unknown; responseId?: unknown; text?: unknown };
    try {
      parsed = JSON.parse(event.json) as typeof parsed;
    } catch {
      continue;
    }
    if (parsed.type === 'response.created' && typeof parsed.responseId === 'string') open = { responseId: parsed.responseId, text: '' };
    else if (open === null || parsed.responseId !== open.responseId) continue;
    else if (parsed.type === 'response.done') open = null;
    else if (parsed.type === 'response.delta' && typeof parsed.text === 'string') open.text += parsed.text;
  }
  return open;
}

