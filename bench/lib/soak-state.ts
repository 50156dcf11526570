// The soak test's shared state: the run-wide counters (totals), what every client knows about the run, and
// the per-client state (connections, turn plans, open responses) that the event checks and faults work on.

import type WebSocket from 'ws';
import type { RecordedRequest } from '../../src/simulator/server.js';

/** The run-wide counters every client adds to; the report spreads them as they are. */
export function newTotals() {
  return {
    created: 0,
    done: 0,
    lost: 0,
    turnsSent: 0,
    turnsAccepted: 0,
    /** Turns sent on a socket that then dropped, never answered by response.created or an error (not accepted). */
    turnsUnanswered: 0,
    finalTurns: 0,
    resumes: { sameInstance: 0, otherInstance: 0 },
    resumeFailed: { total: 0, duringRedisOutage: 0 },
    /** Responses left behind in a session whose resume failed during the Redis outage (never seen done). */
    abandonedResponses: 0,
    resumeDrops: 0,
    /** session.resumed events answering other resumes (that never reached their client), seen as past events. */
    foreignResumedEvents: 0,
    /** Responses the servers settled in sessions the clients had to leave (a resume failed in a Redis outage). */
    settledUnseenAfterFailedResume: 0,
    missedEvents: 0,
    closeCodes: {} as Record<string, number>,
    disconnects: { afterSend: 0, afterCreated: 0, midStream: 0, afterDone: 0, duringResume: 0 },
    turnsDuringRelay: 0,
    bargeInsDuringRelay: 0,
    historyChecked: 0,
    violations: [] as string[],
    status: {} as Record<string, number>,
    errors: {} as Record<string, number>,
  };
}

export type SoakTotals = ReturnType<typeof newTotals>;
export type DisconnectKind = keyof SoakTotals['disconnects'];

/** What every client of one soak run shares. */
export interface SoakRun {
  turns: number;
  bargeInRate: number;
  disconnectRate: number;
  /** The gateways' WebSocket URLs; each connection picks one at random. */
  urls: string[];
  totals: SoakTotals;
  /** The most recent upstream request of each gateway session (by x-session-id). */
  lastRequestOf: Map<string, RecordedRequest>;
  /** During the Redis outage GW_RESUME_FAILED and close 4004 are expected. */
  inOutage: () => boolean;
  /** Date.now() when the load started (trace and report times count from it). */
  startedAt: number;
}

/** One WebSocket of a session: which instance, where it is in the resume handshake, and whether we dropped it. */
export interface Connection {
  no: number;
  instance: number;
  ws: WebSocket;
  phase: 'ready' | 'resuming' | 'live';
  /** We terminated it: anything it still delivers is ignored (the client considers it gone). */
  dead: boolean;
  closed: boolean;
  /** The fresh session this socket started with (used when a resume fails). */
  fresh: { sessionId: string; resumeToken: string; seq: number } | null;
  /** Drop the socket while the resume is still replaying/relaying (after this many events; 0 = right after sending). */
  dropDuringResumeAfter: number;
  resumeEvents: number;
}

/** What to do to the response of one turn: barge in after some deltas, and/or drop the socket at some point. */
export interface TurnPlan {
  turnId: string;
  responseId: string | null;
  deltas: number;
  bargeAfter: number;
  drop: 'after-send' | 'after-created' | 'mid-stream' | 'after-done' | null;
  dropAfterDeltas: number;
}

/** The session the client speaks in, and the last seq it saw there. */
export interface Track {
  sessionId: string;
  resumeToken: string;
  lastSeq: number;
}

/** A soak client's state as the event checks and the fault injection see it (SoakSession implements it). */
export interface SoakClient {
  readonly run: SoakRun;
  /** Set from the first session.ready; replaced only when a resume fails. */
  track: Track | null;
  lastInstance: number;
  readonly open: Map<string, { text: string; sessionId: string }>;
  readonly done: Set<string>;
  readonly turnText: Map<string, string>;
  readonly createdTurns: Set<string>;
  /** Accepted user turns (got response.created), in order, per gateway session id. */
  readonly accepted: Map<string, string[]>;
  pendingTurn: { turnId: string; conn: Connection } | null;
  plan: TurnPlan | null;
  /** After a resume: barge in on the relayed response after its first delta. */
  relayBargeIn: boolean;
  drop(conn: Connection, kind: DisconnectKind): void;
  violation(message: string): void;
  log(entry: Record<string, unknown>): void;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
