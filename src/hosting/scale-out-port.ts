// What hosting and the transports need from scale-out (REDIS_URL), as interfaces the cluster implements: taking
// a session over from another instance (remote resume), taking back one handed off, mirroring a hosted session,
// and turn limits shared by every instance. Nothing here imports cluster/: the arrow points from cluster to here.
import type { ClientEvent, SessionResumeEvent } from '../protocol.js';
import type { SessionSnapshot } from '../session/snapshot.js';
import type { LoggedEvent } from './event-log.js';
import type { HostedSession } from './session-registry.js';

/** Where relayed events go: the resuming client's socket. */
export interface RelayTarget {
  write(event: LoggedEvent): void;
}

/** A session taken over from another instance, ready to be hosted here. */
export interface RestoredSession {
  sessionId: string;
  digest: Buffer;
  snapshot: SessionSnapshot;
  /** The restored event log continues after this seq. */
  lastSeq: number;
  /** The attach count so far; attaching here goes on from it. */
  epoch: number;
  /** The session's recent events (for the restored log's replay buffer), oldest first. */
  recent: LoggedEvent[];
  /** Events the client has not been sent yet (take-over only; a relay has sent them already). */
  replay: LoggedEvent[];
  /** This instance announces session.resumed itself (take-over, or an owner that passed it on unannounced). Null when the old owner announced it. */
  announce: { resumedFrom: number; replayed: number; missedEvents: boolean } | null;
  /** A response a dead owner never finished: its id and the text the client was sent. */
  unfinished: { responseId: string; text: string } | null;
}

/** `timeout`: the owner is alive but neither answered the hand-off request nor made progress in time. */
export type ResumeFailure = 'not_found' | 'bad_token' | 'unavailable' | 'moved' | 'timeout' | 'aborted';

export type ResumeOutcome =
  | { ok: true; restored: RestoredSession }
  /** `relayed`: events of the old session already reached the client, so its socket must not carry on as a fresh session. */
  | { ok: false; reason: ResumeFailure; relayed: boolean };

/** A resume of a session another instance holds, while it is taken over (its events are relayed meanwhile). */
export interface PendingRemoteResume {
  readonly done: Promise<ResumeOutcome>;
  readonly sessionId: string;
  /** Events of the session already reached the client through the relay. */
  readonly hasRelayed: boolean;
  /** A barge-in or tool result for the response the old owner still runs. */
  forward(event: ClientEvent): void;
  /** Frames the old owner never got, for the session once it is here. */
  takeHeldFrames(): ClientEvent[];
  abort(): void;
}

/** Sessions mirrored to the shared store, resumable on any instance. */
export interface SessionScaleOut {
  /** Starts mirroring a hosted session. */
  track(entry: HostedSession): void;
  /** Something a snapshot holds changed: persist it. Must not throw. */
  stateChanged(entry: HostedSession): void;
  /** Takes back a session handed off to another instance: true at once, or when the release under way is over. */
  reclaim(entry: HostedSession): true | Promise<void>;
  resumeRemote(request: SessionResumeEvent, target: RelayTarget): PendingRemoteResume;
}

/** Turn windows shared by every instance; null when the store cannot answer (the local windows decide). */
export interface SharedTurnLimits {
  takeTurn(turn: { sessionId: string; ip: string; tokenId: string | null }): Promise<number | null>;
}
