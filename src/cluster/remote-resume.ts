// Resuming, on this instance, a session another instance (or nobody) hosts: relay from a live owner until it
// releases the session, or take it over from a dead one; decides which, follows ownership changes, and reports
// the outcome. The relay loop, event ordering and frame forwarding live in their own modules.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ClientEvent, SessionResumeEvent } from '../protocol.js';
import type { LoggedEvent } from '../hosting/event-log.js';
import type {
  PendingRemoteResume,
  RelayTarget,
  RestoredSession,
  ResumeFailure,
  ResumeOutcome,
} from '../hosting/scale-out-port.js';
import { digestToken } from '../hosting/session-registry.js';
import { recordResume, type ResumeRecord } from '../tracing/resume-span.js';
import type { Tracing } from '../tracing/tracing.js';
import type { ControlChannel } from './control-channel.js';
import { FrameForwarder } from './frame-forwarder.js';
import type { InstancePresence } from './instance-presence.js';
import { relayFrom } from './owner-relay.js';
import type { RedisLink } from './redis-link.js';
import { RelayedEvents } from './relayed-events.js';
import { inSeqOrder, type SessionStore, type StoredSession } from './session-store.js';

export interface RemoteResumeOptions {
  store: SessionStore;
  link: RedisLink;
  presence: InstancePresence;
  control: ControlChannel;
  instanceId: string;
  /** Store TTL to set when taking ownership. */
  ttlMs: number;
  /** How long the owner may stay silent before answering the hand-off request (re-sent every second meanwhile). */
  answerMs: number;
  /** How long the relay waits when the owner sends nothing at all (its response must end some time). */
  stallMs: number;
  request: SessionResumeEvent;
  target: RelayTarget;
  logger: Logger;
  /** Tracing, or null: the resume's span (resume-span.ts) joins the trace of the response in flight. */
  tracing?: Tracing | null;
}

/** Ownership changes followed during one resume before giving up (the client may simply resume again). */
const MAX_HOPS = 3;

class ResumeAborted extends Error {}

/** What a restored session carries besides the stored record. */
type Restoring = Pick<RestoredSession, 'lastSeq' | 'replay' | 'announce' | 'unfinished'>;

/**
 * Two ways to resume a session hosted elsewhere:
 * - relay (owner-relay.ts): the owner is alive. Ask it to hand the session off; until it releases it (its running
 *   response may still be streaming), relay the owner's events from the session's Redis stream to the client, in
 *   seq order, and forward the client's barge-ins to the owner. Then restore the final state here.
 * - take over: the owner is gone (crashed, or released it earlier). Claim ownership with a compare-and-set,
 *   replay what the client missed from the stream, and restore the last stored state. A response the dead owner
 *   never finished is reported as failed, and what it had said is kept in history.
 */
export class RemoteResume implements PendingRemoteResume {
  readonly done: Promise<ResumeOutcome>;
  private aborted = false;
  /** The owner's attach count in the record this resume acts on. */
  private epochSeen = 0;
  /** This resume's id in its hand-off requests: the owner answers, or refuses, each resume once. */
  private readonly requestId = randomBytes(9).toString('base64url');
  private readonly events: RelayedEvents;
  private readonly frames: FrameForwarder;
  private reader: Redis | null = null;
  /** What the resume's span reports: when it began, the stored record it acted on, and the way it took. */
  private readonly traced: Pick<ResumeRecord, 'startedAt' | 'latest' | 'path' | 'owner'> = {
    startedAt: performance.now(),
    latest: undefined,
    path: undefined,
    owner: undefined,
  };

  constructor(private readonly options: RemoteResumeOptions) {
    this.frames = new FrameForwarder(options.control, options.request);
    this.events = new RelayedEvents(options.request.lastSeq, options.target, (event) => this.frames.delivered(event));
    const running = this.run().catch((err: unknown) => {
      // A client that left also breaks the blocking read: that is an abort, not a failure.
      const aborted = this.aborted || err instanceof ResumeAborted;
      if (!aborted)
        options.logger.warn({ sessionId: options.request.sessionId, err: String(err) }, 'remote resume failed');
      return {
        ok: false as const,
        reason: aborted ? ('aborted' as const) : ('unavailable' as const),
        relayed: this.events.relayed,
      };
    });
    const tracing = options.tracing ?? null;
    this.done = tracing === null ? running : running.then((outcome) => this.trace(tracing, outcome));
  }

  get sessionId(): string {
    return this.options.request.sessionId;
  }

  /** Whether events of the session were relayed to the client already. */
  get hasRelayed(): boolean {
    return this.events.relayed;
  }

  /**
   * Client frames still held when the resume ended (the owner never answered before it released the session):
   * they belong to the restored session now (a barge-in's heardChars still trims the last reply).
   */
  takeHeldFrames(): ClientEvent[] {
    return this.frames.takeHeld();
  }

  /** A client frame for the response the old owner is still running (barge-in, tool result): see FrameForwarder. */
  forward(event: ClientEvent): void {
    this.frames.forward(event);
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
    this.traced.latest = stored.snapshot.trace;
    return this.decide(stored, 0);
  }

  /** Relay from a live owner, or take over from a dead (or no) owner. `hops` bounds ownership changes seen meanwhile. */
  private async decide(stored: StoredSession, hops: number): Promise<ResumeOutcome> {
    this.checkAborted();
    this.epochSeen = stored.epoch;
    const { instanceId, presence } = this.options;
    if (stored.owner !== '' && stored.owner !== instanceId && (await presence.isAlive(stored.owner)))
      return this.relay(stored.owner, hops);
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
    Object.assign(this.traced, { path: 'relay', owner });
    const end = await relayFrom(owner, {
      ...this.options,
      requestId: this.requestId,
      epoch: this.epochSeen,
      events: this.events,
      frames: this.frames,
      checkAborted: () => this.checkAborted(),
      onReader: (reader) => (this.reader = reader),
    });
    switch (end.end) {
      case 'restored':
        return this.restored(end.stored, {
          lastSeq: end.lastSeq,
          replay: [],
          announce: end.announce,
          unfinished: null,
        });
      case 'failed':
        return this.fail(end.reason);
      case 'timeout':
        this.options.logger.warn({ sessionId: this.sessionId, owner }, end.why);
        return this.fail('timeout');
      case 'takeOver':
        return this.takeOver(end.stored);
      case 'reconsider':
        // Another owner now: frames wait for its answer, not the old owner's.
        this.frames.ownerChanged();
        return this.reconsider(hops);
    }
  }

  private async takeOver(stored: StoredSession): Promise<ResumeOutcome> {
    Object.assign(this.traced, { path: 'take_over', owner: stored.owner });
    const { store, request, instanceId, ttlMs } = this.options;
    if (!(await store.takeOwnership(request.sessionId, stored.owner, instanceId, ttlMs))) return this.fail('moved');
    // The whole stream is read again below: what waited for a gap is replayed from it, in order.
    this.events.dropHeld();
    const events = inSeqOrder(
      (await store.readAll(request.sessionId)).flatMap((item) => ('events' in item ? item.events : [])),
    );
    const forwardedSeq = this.events.forwardedSeq;
    const lastSeq = Math.max(stored.seq, events.at(-1)?.seq ?? 0, forwardedSeq);
    const replay = events.filter((e) => e.seq > forwardedSeq);
    const missedEvents = forwardedSeq < lastSeq && (replay[0]?.seq ?? Infinity) > forwardedSeq + 1;
    this.events.keepRecent(events);
    const announce = {
      resumedFrom: request.lastSeq,
      replayed: replay.length + (forwardedSeq - request.lastSeq),
      missedEvents,
    };
    return this.restored(stored, { lastSeq, replay, announce, unfinished: findUnfinished(events) });
  }

  private restored(stored: StoredSession, restoring: Restoring): ResumeOutcome {
    const { lastSeq, replay, announce, unfinished } = restoring;
    return {
      ok: true,
      restored: {
        sessionId: this.sessionId,
        digest: stored.digest,
        snapshot: stored.snapshot,
        lastSeq,
        epoch: stored.epoch,
        recent: this.events.recent,
        replay,
        announce,
        unfinished,
      },
    };
  }

  /** Records the resume's span once it is over, and passes its outcome on. */
  private trace(tracing: Tracing, outcome: ResumeOutcome): ResumeOutcome {
    const restored = outcome.ok ? outcome.restored : null;
    try {
      recordResume(tracing, {
        ...this.traced,
        sessionId: this.sessionId,
        outcome: outcome.ok ? 'resumed' : outcome.reason,
        relayed: this.events.relayed,
        announce: restored?.announce ?? null,
        lostResponseId: restored?.unfinished?.responseId,
      });
    } catch (err) {
      // A trace is never worth a resume.
      this.options.logger.warn({ err: String(err) }, 'could not record the resume span');
    }
    return outcome;
  }

  private checkAborted(): void {
    if (this.aborted) throw new ResumeAborted();
  }

  private fail(reason: ResumeFailure): ResumeOutcome {
    return { ok: false, reason, relayed: this.events.relayed };
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
    if (parsed.type === 'response.created' && typeof parsed.responseId === 'string')
      open = { responseId: parsed.responseId, text: '' };
    else if (open === null || parsed.responseId !== open.responseId) continue;
    else if (parsed.type === 'response.done') open = null;
    else if (parsed.type === 'response.delta' && typeof parsed.text === 'string') open.text += parsed.text;
  }
  return open;
}
