// The live bench's figures from its turn records: per path p50/p90 of first token (and first speech, headers),
// the gateway's addition as a difference of percentiles and per pair of turns on the same prompt, the tokens
// every request used (warm-ups included) and their cost at MODEL_PRICES; and the run's checks.

import { readPrices } from '../../src/experiment-config.js';
import type { ModelName } from '../../src/protocol.js';
import { nearestRank } from '../lib/clock.js';
import type { LivePath, TurnRecord } from './turn.js';

export interface Spread {
  n: number;
  p50: number | null;
  p90: number | null;
}

export interface TokenFigures {
  /** Chat requests answered with a usage report, and those without one (not counted below). */
  requests: number;
  unreported: number;
  prompt: number;
  completion: number;
  total: number;
  byPath: Record<LivePath, number>;
  /** USD at MODEL_PRICES (per million tokens) for the model; null when it has no price there. */
  costUsd: number | null;
}

export interface LiveFigures {
  direct: { turns: number; failed: number; firstTokenMs: Spread; headersMs: Spread; newConnectionTurns: number };
  gateway: { turns: number; failed: number; firstTokenMs: Spread; firstSpeechMs: Spread };
  /** Gateway percentile − direct percentile of first token. */
  addedMs: { p50: number | null; p90: number | null };
  /** Per pair (same prompt, one turn each way): gateway first token − direct first token. */
  pairedAddedMs: Spread;
  /** Gateway turns: first speech − first token, what waiting for a whole speakable segment costs. */
  speechAfterTokenMs: Spread;
  tokens: TokenFigures;
}

export interface Check {
  id: string;
  description: string;
  value: number;
  limit: string;
  pass: boolean;
}

export function spread(values: readonly (number | null)[]): Spread {
  const sorted = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  return { n: sorted.length, p50: nearestRank(sorted, 50), p90: nearestRank(sorted, 90) };
}

const minus = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a - b);

function tokenFigures(turns: readonly TurnRecord[], model: ModelName): TokenFigures {
  const reported = turns.filter((t) => t.usage !== null);
  const sum = (pick: (t: TurnRecord) => number, of = reported): number => of.reduce((n, t) => n + pick(t), 0);
  const prompt = sum((t) => t.usage!.promptTokens);
  const completion = sum((t) => t.usage!.completionTokens);
  const price = readPrices(process.env.MODEL_PRICES || undefined, [])[model];
  return {
    requests: reported.length,
    unreported: turns.length - reported.length,
    prompt,
    completion,
    total: sum((t) => t.usage!.totalTokens),
    byPath: {
      direct: sum(
        (t) => t.usage!.totalTokens,
        reported.filter((t) => t.path === 'direct'),
      ),
      gateway: sum(
        (t) => t.usage!.totalTokens,
        reported.filter((t) => t.path === 'gateway'),
      ),
    },
    costUsd: price === undefined ? null : (prompt * price.input + completion * price.output) / 1e6,
  };
}

export function analyse(turns: readonly TurnRecord[], model: ModelName): LiveFigures {
  const measured = (path: LivePath): TurnRecord[] => turns.filter((t) => !t.warmUp && t.path === path);
  const direct = measured('direct');
  const gateway = measured('gateway');
  const answered = (t: TurnRecord): boolean => t.status === 'completed' && t.firstTokenMs !== null;
  const directFirst = spread(direct.map((t) => t.firstTokenMs));
  const gatewayFirst = spread(gateway.map((t) => t.firstTokenMs));
  const paired = gateway.map((g) => {
    const d = direct.find((t) => t.pair === g.pair);
    return d !== undefined && answered(d) && answered(g) ? g.firstTokenMs! - d.firstTokenMs! : null;
  });
  return {
    direct: {
      turns: direct.length,
      failed: direct.filter((t) => !answered(t)).length,
      firstTokenMs: directFirst,
      headersMs: spread(direct.map((t) => t.headersMs)),
      newConnectionTurns: direct.filter((t) => t.newConnection === true).length,
    },
    gateway: {
      turns: gateway.length,
      failed: gateway.filter((t) => !answered(t)).length,
      firstTokenMs: gatewayFirst,
      firstSpeechMs: spread(gateway.map((t) => t.firstSpeechMs)),
    },
    addedMs: { p50: minus(gatewayFirst.p50, directFirst.p50), p90: minus(gatewayFirst.p90, directFirst.p90) },
    pairedAddedMs: spread(paired),
    speechAfterTokenMs: spread(gateway.map((t) => minus(t.firstSpeechMs, t.firstTokenMs))),
    tokens: tokenFigures(turns, model),
  };
}

/** Not targets of the API's speed, which is not ours: checks that the run measured what it says. */
export function checkRun(figures: LiveFigures): Check[] {
  const failed = figures.direct.failed + figures.gateway.failed;
  return [
    {
      id: 'all-turns-answered',
      description: 'measured turns without a reply (either path)',
      value: failed,
      limit: '0',
      pass: failed === 0,
    },
    {
      id: 'direct-connections-warm',
      description: 'direct turns that paid for a new connection (the gateway keeps its own warm)',
      value: figures.direct.newConnectionTurns,
      limit: '0',
      pass: figures.direct.newConnectionTurns === 0,
    },
  ];
}
