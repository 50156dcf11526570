// What the live bench records of one turn on either path (direct to the API, or through the gateway), the
// prompts it sends, and the pause helper both paths use. Types and constants only, beside `sleep`.

import type { ChatUsage } from '../../src/upstream/types.js';

export type LivePath = 'direct' | 'gateway';

/**
 * The measured prompts, one per pair of turns (cycled): short questions asking for a sentence, with no words
 * that call a built-in tool (time, dates, arithmetic) or ask for depth (an escalation to asi1).
 */
export const PROMPTS: readonly string[] = [
  'Say hello in one short sentence.',
  'Name one yellow fruit, in one sentence.',
  'In one sentence, suggest a name for a grey cat.',
  'Give me one short tip for sleeping well.',
  'In one sentence, why is the sky blue?',
];

/** The prompt of each path's warm-up turn (not counted in the figures). */
export const WARM_UP_PROMPT = 'Reply with one short friendly sentence.';

export interface TurnRecord {
  path: LivePath;
  /** Warm-ups open connections and load code; they count in the tokens, not in the figures. */
  warmUp: boolean;
  /** The pair of turns (one per path, same prompt) it belongs to; -1 for warm-ups. */
  pair: number;
  prompt: string;
  /** `completed`, or what went wrong: `http:<status>`, `timeout`, `error`, the gateway's response.done status. */
  status: string;
  /** The gateway's error code or the API's error message, shortened (never the key). */
  error?: string;
  /** Anything else worth knowing: a tool call instead of text (direct), an escalation to a deeper model (gateway). */
  note?: string;
  /** Request (direct) or `turn` (gateway) sent → first non-empty reply text, ms. */
  firstTokenMs: number | null;
  /** Gateway only: `turn` sent → first response.speech (the first thing a voice user hears), ms. */
  firstSpeechMs: number | null;
  /** Direct only: request sent → response headers, ms. */
  headersMs: number | null;
  /** Sent → the reply's end, ms. */
  totalMs: number | null;
  usage: ChatUsage | null;
  /** Direct only: the request went out on a connection opened for it (it paid a TCP + TLS handshake). */
  newConnection: boolean | null;
  /** Gateway only: its own response.done.timings.firstTokenMs (from the turn's commit). */
  gatewayFirstTokenMs: number | null;
  replyChars: number;
}

/** A record with every figure still unknown. */
export function emptyRecord(path: LivePath, prompt: string, pair: number): TurnRecord {
  return {
    path,
    warmUp: pair < 0,
    pair,
    prompt,
    status: 'error',
    firstTokenMs: null,
    firstSpeechMs: null,
    headersMs: null,
    totalMs: null,
    usage: null,
    newConnection: null,
    gatewayFirstTokenMs: null,
    replyChars: 0,
  };
}

/** `warm-up direct`, `pair 3 gateway`… */
export const turnLabel = (t: TurnRecord): string => `${t.warmUp ? 'warm-up' : `pair ${t.pair + 1}`} ${t.path}`;

/** The error and the note of a turn, if any, in one phrase ('' when neither). */
export const turnRemarks = (t: TurnRecord): string => [t.error, t.note].filter((s) => s !== undefined).join('; ');

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** An error's message, one line, at most 200 characters. */
export const shortMessage = (err: unknown): string =>
  (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').slice(0, 200);
