// The turn replay: interim/final sequences shaped like Chrome's Web Speech API output, generated from a seed.
// Each sequence is one user turn: growing word prefixes (1–2 new words every 80–250 ms), sometimes a word the
// recognizer writes wrong and revises in the next interim, sometimes a pause mid-utterance (after a word like
// "and"/"the", or after a finished-sounding clause before "and …"), then the final 500–900 ms after the last
// interim. Most finals repeat the last interim; some add punctuation and capitals only, some change the last word.

import { Prng } from './prng.js';
import { changedLastWord, misheard, PAUSE_WORDS, utterance } from './vocabulary.js';

export interface ReplayInterim {
  /** ms after the sequence starts. */
  atMs: number;
  text: string;
}

/** `clause`: a pause after a finished-sounding clause; `dangling`: after a word that needs more ("the", "and", "to"). */
export type PauseKind = 'clause' | 'dangling';
/** How the final differs from the last interim. */
export type FinalKind = 'same' | 'punctuation' | 'word';

export interface ReplaySequence {
  id: number;
  /** The user thinks this long after the previous reply before speaking (not part of the recognizer's output). */
  thinkMs: number;
  interims: ReplayInterim[];
  final: ReplayInterim;
  traits: {
    words: number;
    tool: boolean;
    /** An interim showed a wrong last word, revised by the next one. */
    revision: boolean;
    pause: PauseKind | null;
    pauseMs: number | null;
    final: FinalKind;
  };
}

/** The replay's shape: gaps in ms ([min, max], uniform) and shares of sequences. */
export const REPLAY_SHAPE = {
  interimGapMs: [80, 250],
  pauseGapMs: [400, 900],
  finalGapMs: [500, 900],
  thinkMs: [300, 900],
  twoWordInterimShare: 0.35,
  revisionShare: 0.2,
  clausePauseShare: 0.08,
  danglingPauseShare: 0.07,
  continuationShare: 0.15,
  toolShare: 0.1,
  punctuationFinalShare: 0.06,
  wordFinalShare: 0.06,
} as const;

export function generateReplay(options: { sequences: number; seed: number }): ReplaySequence[] {
  const rng = new Prng(options.seed);
  return Array.from({ length: options.sequences }, (_, id) => generateSequence(rng, id));
}

const range = (rng: Prng, [min, max]: readonly [number, number]): number => rng.int(min, max);

function generateSequence(rng: Prng, id: number): ReplaySequence {
  const S = REPLAY_SHAPE;
  const draw = rng.next();
  const wanted: PauseKind | null =
    draw < S.clausePauseShare ? 'clause' : draw < S.clausePauseShare + S.danglingPauseShare ? 'dangling' : null;
  const said = utterance(rng, {
    toolShare: S.toolShare,
    continuation: wanted === 'clause' || rng.chance(S.continuationShare),
  });
  const words = [...said.clause, ...said.continuation];
  const pauseAt = pauseIndex(rng, wanted, said.clause.length, words);
  const revisionAt = rng.chance(S.revisionShare) ? revisionIndex(rng, words.length, pauseAt) : -1;
  const { interims, pauseMs } = speak(rng, words, pauseAt, revisionAt);
  const last = interims.at(-1)!;
  const { kind, text } = finalText(rng, words);
  return {
    id,
    thinkMs: range(rng, S.thinkMs),
    interims,
    final: { atMs: last.atMs + range(rng, S.finalGapMs), text },
    traits: {
      words: words.length,
      tool: said.tool,
      revision: revisionAt >= 0,
      pause: pauseAt < 0 ? null : wanted,
      pauseMs,
      final: kind,
    },
  };
}

/** The word the speaker pauses after, or -1: the end of the first clause, or a mid-utterance "the"/"and"/"to"… */
function pauseIndex(rng: Prng, kind: PauseKind | null, clauseLength: number, words: string[]): number {
  if (kind === 'clause') return words.length > clauseLength ? clauseLength - 1 : -1;
  if (kind !== 'dangling') return -1;
  const candidates: number[] = [];
  for (let i = 1; i < words.length - 1; i += 1) if (PAUSE_WORDS.has(words[i]!.toLowerCase())) candidates.push(i);
  return candidates.length === 0 ? -1 : rng.pick(candidates);
}

/** A word the recognizer first gets wrong: never the last one (the next interim revises it and goes on). */
function revisionIndex(rng: Prng, length: number, pauseAt: number): number {
  const candidates: number[] = [];
  for (let i = 0; i < length - 1; i += 1) if (i !== pauseAt) candidates.push(i);
  return candidates.length === 0 ? -1 : rng.pick(candidates);
}

/** The interims: growing prefixes, each ending where a pause or a revision has to be seen. */
function speak(
  rng: Prng,
  words: string[],
  pauseAt: number,
  revisionAt: number,
): { interims: ReplayInterim[]; pauseMs: number | null } {
  const interims: ReplayInterim[] = [];
  let pauseMs: number | null = null;
  let atMs = 0;
  for (let start = 0; start < words.length;) {
    let end = Math.min(words.length, start + (rng.chance(REPLAY_SHAPE.twoWordInterimShare) ? 2 : 1));
    for (const stop of [pauseAt, revisionAt]) if (stop >= start && stop < end - 1) end = stop + 1;
    const shown = words.slice(0, end);
    if (end - 1 === revisionAt) shown[end - 1] = misheard(rng, words[end - 1]!);
    interims.push({ atMs, text: shown.join(' ') });
    if (end - 1 === pauseAt) {
      pauseMs = range(rng, REPLAY_SHAPE.pauseGapMs);
      atMs += pauseMs;
    } else {
      atMs += range(rng, REPLAY_SHAPE.interimGapMs);
    }
    start = end;
  }
  return { interims, pauseMs };
}

const QUESTION_STARTS = new Set(['what', "what's", 'how', 'is', 'can', 'who']);
const OPENERS = new Set(['okay', 'hey', 'so']);

function finalText(rng: Prng, words: string[]): { kind: FinalKind; text: string } {
  const draw = rng.next();
  const S = REPLAY_SHAPE;
  if (draw < S.punctuationFinalShare) return { kind: 'punctuation', text: punctuated(words) };
  if (draw < S.punctuationFinalShare + S.wordFinalShare) {
    const changed = [...words.slice(0, -1), changedLastWord(rng, words.at(-1)!)];
    return { kind: 'word', text: changed.join(' ') };
  }
  return { kind: 'same', text: words.join(' ') };
}

/** The same words as Chrome's punctuating finals write them: a capital, a comma after an opener, a full stop or "?". */
function punctuated(words: string[]): string {
  const out = [...words];
  const opener = OPENERS.has(out[0]!.toLowerCase()) && out.length > 1;
  if (opener) out[0] = `${out[0]},`;
  const first = out[opener ? 1 : 0]!.toLowerCase();
  out[0] = out[0]!.charAt(0).toUpperCase() + out[0]!.slice(1);
  return `${out.join(' ')}${QUESTION_STARTS.has(first) ? '?' : '.'}`;
}

export interface ReplayStats {
  sequences: number;
  interims: number;
  meanWords: number;
  meanSpokenMs: number;
  revisions: number;
  pauses: Record<PauseKind, number>;
  finals: Record<FinalKind, number>;
  toolTurns: number;
}

export function replayStats(replay: readonly ReplaySequence[]): ReplayStats {
  const count = (test: (s: ReplaySequence) => boolean): number => replay.filter(test).length;
  const n = Math.max(1, replay.length);
  return {
    sequences: replay.length,
    interims: replay.reduce((sum, s) => sum + s.interims.length, 0),
    meanWords: Math.round((replay.reduce((sum, s) => sum + s.traits.words, 0) / n) * 10) / 10,
    meanSpokenMs: Math.round(replay.reduce((sum, s) => sum + s.final.atMs, 0) / n),
    revisions: count((s) => s.traits.revision),
    pauses: {
      clause: count((s) => s.traits.pause === 'clause'),
      dangling: count((s) => s.traits.pause === 'dangling'),
    },
    finals: {
      same: count((s) => s.traits.final === 'same'),
      punctuation: count((s) => s.traits.final === 'punctuation'),
      word: count((s) => s.traits.final === 'word'),
    },
    toolTurns: count((s) => s.traits.tool),
  };
}
