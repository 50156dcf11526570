// One round of one pass: `sessions` sessions opened in a burst, each waiting a moment after session.ready (the
// user starts speaking) before its first turn, then its later turns after think gaps; every turn timed from the
// client's side and matched to the chat request the simulator recorded for it (its connection, and whether it
// was the first request there). With three turns or more, each session's second turn is a barge-in (cancelled at
// its first delta), so the turn after it shows whether a lost connection is paid for. The plans come from the
// seed, the same for every pass.

import { Prng } from '../turns/prng.js';
import { VoiceSession, type TurnTiming } from './client.js';
import { turnText, type PassStack } from './stack.js';

export interface SessionPlan {
  /** session.ready → the first turn: the user starts speaking. */
  speakAfterMs: number;
  /** Before each later turn: the user listens and thinks. */
  thinkMs: number[];
  /** The turn the user talks over (cancelled at its first delta), or null. */
  bargeInTurn: number | null;
}

export const PLAN_SHAPE = { speakAfterMs: [200, 800], thinkMs: [300, 900] } as const;

export interface TurnRecord extends TurnTiming {
  session: number;
  turn: number;
  tag: string;
  /** When the turn was sent, ms after the round began (its sessions were opened). */
  sentMs: number;
  /** The simulator's connection id for this turn's request; null when it recorded none. */
  connection: number | null;
  /** The request was the first of any kind on its connection (opened for it, or ahead of it without a request). */
  newConnection: boolean | null;
  /**
   * The turn waited for its connection's set-up: its request was the first on a connection the gateway asked for
   * after the turn was sent (so during the turn). Null when the simulator recorded no request for it.
   */
  paidForConnection: boolean | null;
  /** The user talked over this turn's reply (the plan's bargeInTurn). */
  bargedIn: boolean;
}

export interface RoundRun {
  pass: string;
  level: number;
  round: number;
  turns: TurnRecord[];
  /** Upstream connections the simulator accepted from the first session's open to the last one's close. */
  connectionsOpened: number;
  /** Connections the idle relay closed since this pass's previous round: what its quiet gap expired. */
  idleCloses: number;
  /** When the simulator accepted each of those connections (TLS done), ms after the round began (5 ms steps). */
  connectionOpensMs: number[];
  sessionErrors: string[];
  durationMs: number;
}

/** The turn a session's user talks over when it has a turn after it to measure: the second. */
export const BARGE_IN_TURN = 1;

/** The round's plans, from the seed, the level and the round alone. */
export function planRound(seed: number, level: number, round: number, turns: number): SessionPlan[] {
  const prng = new Prng((seed * 1_000_003 + level * 7_919 + round) >>> 0);
  const between = ([min, max]: readonly [number, number]): number => prng.int(min, max);
  return Array.from({ length: level }, () => ({
    speakAfterMs: between(PLAN_SHAPE.speakAfterMs),
    thinkMs: Array.from({ length: turns - 1 }, () => between(PLAN_SHAPE.thinkMs)),
    bargeInTurn: turns > BARGE_IN_TURN + 1 ? BARGE_IN_TURN : null,
  }));
}

/** The turn ended as its plan says: completed, or interrupted when the user talked over it. */
export const endedAsPlanned = (t: TurnTiming & { bargedIn: boolean }): boolean =>
  t.status === (t.bargedIn ? 'interrupted' : 'completed');

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
export const tagFor = (level: number, round: number, session: number, turn: number): string =>
  `L${level}.R${round}.S${session}.T${turn}`;

type Timed = TurnTiming & { turn: number; tag: string; sentMs: number; bargedIn: boolean };

async function runSession(
  url: string,
  plan: SessionPlan,
  tag: (turn: number) => string,
  began: number,
): Promise<Timed[]> {
  const turns = plan.thinkMs.length + 1;
  let session: VoiceSession;
  try {
    session = await VoiceSession.open(url);
  } catch (err) {
    const error = `open: ${(err as Error).message}`;
    return Array.from({ length: turns }, (_, turn) => ({
      turn,
      tag: tag(turn),
      sentMs: 0,
      bargedIn: turn === plan.bargeInTurn,
      firstDeltaMs: null,
      status: 'error',
      error,
    }));
  }
  const timed: Timed[] = [];
  await sleep(plan.speakAfterMs);
  for (let turn = 0; turn < turns; turn += 1) {
    if (turn > 0) await sleep(plan.thinkMs[turn - 1]!);
    const sentMs = performance.now() - began;
    const bargedIn = turn === plan.bargeInTurn;
    const timing = await session.turn(turnText(tag(turn), turn), { bargeIn: bargedIn });
    timed.push({ turn, tag: tag(turn), sentMs, bargedIn, ...timing });
  }
  session.close();
  return timed;
}

/** Polls the simulator's connection count every 5 ms: when each new connection was accepted. */
function watchOpens(stack: PassStack, began: number): { times: number[]; stop(): void } {
  const times: number[] = [];
  let seen = stack.sim.connectionStats().opened;
  const timer = setInterval(() => {
    const opened = stack.sim.connectionStats().opened;
    for (; seen < opened; seen += 1) times.push(Math.round(performance.now() - began));
  }, 5);
  return { times, stop: () => clearInterval(timer) };
}

/** Whether `request` was the first on a connection asked for at or after `sentAt` (epoch ms). */
function paidFor(
  request: { newConnection: boolean; connectionRequestedAt: number | null } | undefined,
  sentAt: number,
): boolean | null {
  if (request === undefined) return null;
  return request.newConnection && request.connectionRequestedAt !== null && request.connectionRequestedAt >= sentAt;
}

export async function runRound(
  stack: PassStack,
  plans: readonly SessionPlan[],
  level: number,
  round: number,
): Promise<RoundRun> {
  const began = performance.now();
  const openedBefore = stack.sim.connectionStats().opened;
  const idleCloses = stack.takeIdleCloses();
  const connectionOpensMs = watchOpens(stack, began);
  const sessions = await Promise.all(
    plans.map((plan, s) => runSession(stack.voiceUrl, plan, (turn) => tagFor(level, round, s, turn), began)),
  );
  connectionOpensMs.stop();
  const turns = sessions.flatMap((timed, session) =>
    timed.map(({ turn, tag, ...timing }): TurnRecord => {
      const request = stack.byTag.get(tag);
      return {
        session,
        turn,
        tag,
        ...timing,
        connection: request?.connection ?? null,
        newConnection: request?.newConnection ?? null,
        paidForConnection: paidFor(request, performance.timeOrigin + began + timing.sentMs),
      };
    }),
  );
  const sessionErrors = turns.flatMap((t) => (t.error?.startsWith('open:') === true && t.turn === 0 ? [t.error] : []));
  return {
    pass: stack.setup.id,
    level,
    round,
    turns,
    connectionsOpened: stack.sim.connectionStats().opened - openedBefore,
    idleCloses,
    connectionOpensMs: connectionOpensMs.times,
    sessionErrors,
    durationMs: performance.now() - began,
  };
}
