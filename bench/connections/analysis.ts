// From the rounds' turn records to the figures of each pass and level: the added first-token latency (sent
// `turn` → first response.delta; the simulator's own first-token time is 0) of first turns and of later turns,
// their difference, which turns arrived on a new upstream connection and which paid for one (the turns after a
// barge-in apart too), and how many connections were opened.

import { summarize, type Summary } from '../lib/clock.js';
import { endedAsPlanned, type RoundRun, type TurnRecord } from './round.js';
import type { PassSetup } from './stack.js';

export interface TurnGroup {
  /** Added first-token latency, ms (turns that got a delta). */
  addedMs: Summary;
  turns: number;
  /**
   * Turns whose request was the first on its upstream connection. Not all of them paid for it: undici reopens the
   * connection of an aborted request (a barge-in) in the background, and a later turn may be the first on it.
   */
  onNewConnection: number;
  /** Turns that waited for their connection's set-up: they paid for a connection on their critical path. */
  paidForConnection: number;
  /** Turns slower than half the connection cost: what paying for a connection looks like from the client. */
  slow: number;
  /** Turns without a reply delta (error, timeout) or without a request the simulator recorded. */
  failed: number;
  unrecorded: number;
}

export interface LevelFigures {
  pass: string;
  http: 'h1' | 'h2';
  warm: boolean;
  level: number;
  sessions: number;
  first: TurnGroup;
  later: TurnGroup;
  /** Later turns right after a barge-in (over HTTP/1.1 the interrupted reply's connection was closed). */
  afterBargeIn: TurnGroup;
  /** first − later, p50 and p99 (ms): what a session's first turn pays more. */
  firstMinusLater: { p50: number | null; p99: number | null };
  connectionsOpened: number;
  /** Connections the upstream's idle timeout closed in the quiet gaps before the rounds. */
  idleCloses: number;
  /** When the rounds' new connections were accepted (TLS done), ms after the round's sessions were opened. */
  opensMs: Summary;
  /** When the slow first turns (≥ half the connection cost) were sent, ms after their round began, in order. */
  slowFirstSentMs: number[];
  errors: Record<string, number>;
  durationMs: number;
}

function group(turns: readonly TurnRecord[], slowMs: number): TurnGroup {
  const added = turns.flatMap((t) => (t.firstDeltaMs === null ? [] : [t.firstDeltaMs]));
  return {
    addedMs: summarize(added),
    turns: turns.length,
    onNewConnection: turns.filter((t) => t.newConnection === true).length,
    paidForConnection: turns.filter((t) => t.paidForConnection === true).length,
    slow: added.filter((ms) => ms >= slowMs).length,
    failed: turns.filter((t) => t.firstDeltaMs === null || !endedAsPlanned(t)).length,
    // Connection 0: the simulator could not tell the request's connection, nor whether it waited for one.
    unrecorded: turns.filter((t) => t.connection === null || t.connection === 0).length,
  };
}

const minus = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a - b);

/** The turns whose previous turn, in the same session, the user talked over. */
function afterBargeIn(run: RoundRun): TurnRecord[] {
  const interrupted = new Set(run.turns.filter((t) => t.bargedIn).map((t) => `${t.session}.${t.turn + 1}`));
  return run.turns.filter((t) => interrupted.has(`${t.session}.${t.turn}`));
}

function figuresOf(setup: PassSetup, level: number, runs: readonly RoundRun[], costMs: number): LevelFigures {
  const turns = runs.flatMap((run) => run.turns);
  const first = group(
    turns.filter((t) => t.turn === 0),
    costMs / 2,
  );
  const later = group(
    turns.filter((t) => t.turn > 0),
    costMs / 2,
  );
  const afterBargeIns = group(runs.flatMap(afterBargeIn), costMs / 2);
  const errors: Record<string, number> = {};
  for (const t of turns) if (t.error !== undefined) errors[t.error] = (errors[t.error] ?? 0) + 1;
  return {
    pass: setup.id,
    http: setup.http,
    warm: setup.warm,
    level,
    sessions: runs.reduce((sum, run) => sum + new Set(run.turns.map((t) => t.session)).size, 0),
    first,
    later,
    afterBargeIn: afterBargeIns,
    firstMinusLater: {
      p50: minus(first.addedMs.p50, later.addedMs.p50),
      p99: minus(first.addedMs.p99, later.addedMs.p99),
    },
    connectionsOpened: runs.reduce((sum, run) => sum + run.connectionsOpened, 0),
    idleCloses: runs.reduce((sum, run) => sum + run.idleCloses, 0),
    opensMs: summarize(runs.flatMap((run) => run.connectionOpensMs)),
    slowFirstSentMs: turns
      .filter((t) => t.turn === 0 && t.firstDeltaMs !== null && t.firstDeltaMs >= costMs / 2)
      .map((t) => Math.round(t.sentMs))
      .sort((a, b) => a - b),
    errors,
    durationMs: runs.reduce((sum, run) => sum + run.durationMs, 0),
  };
}

/** One entry per level and pass, levels first. */
export function analyse(
  runs: readonly RoundRun[],
  setups: readonly PassSetup[],
  levels: readonly number[],
  costMs: number,
): LevelFigures[] {
  return levels.flatMap((level) =>
    setups.map((setup) =>
      figuresOf(
        setup,
        level,
        runs.filter((run) => run.pass === setup.id && run.level === level),
        costMs,
      ),
    ),
  );
}
