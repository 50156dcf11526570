// The whole live bench as a function (bench/live.ts calls it): read the gateway's request body off a twin, start
// the measured gateway, one warm-up turn per path, then the measured pairs of turns (one direct, one through the
// gateway, same prompt, the order alternating; or side by side at concurrency 2) with a pause after every turn.

import { resultsHead, type MachineFacts } from '../lib/focused-bench.js';
import type { ModelName } from '../../src/protocol.js';
import { stopProcess, type ServerProcess } from '../lib/procs.js';
import { analyse, checkRun, type Check, type LiveFigures } from './analysis.js';
import { DirectClient } from './direct.js';
import { bodyFor, captureGatewayBody, describeBody, startLiveGateway, voiceUrl } from './stack.js';
import { PROMPTS, sleep, turnLabel, turnRemarks, WARM_UP_PROMPT, type LivePath, type TurnRecord } from './turn.js';
import { gatewayTurn } from './voice.js';

export interface LiveBenchOptions {
  /** The API's base URL (…/v1); never the key, which is `apiKey`. */
  baseUrl: string;
  apiKey: string;
  model: ModelName;
  /** Measured turns per path. */
  turns: number;
  /** Turns in flight at once: 1, or 2 (the two turns of a pair side by side). */
  concurrency: number;
  /** Pause after every turn, warm-ups included. */
  pauseMs: number;
  /** Between getting a path ready (connection touch, session open) and its turn. */
  settleMs: number;
  maxTokens: number;
  timeoutMs: number;
  verbose?: boolean;
  log?: (line: string) => void;
}

export interface LiveResults {
  schema: 1;
  kind: 'live';
  startedAt: string;
  durationMs: number;
  options: Omit<LiveBenchOptions, 'apiKey' | 'log'>;
  /** What every chat request carried besides the prompt (the gateway's own body), and what the run sent. */
  request: ReturnType<typeof describeBody> & {
    prompts: readonly string[];
    warmUpPrompt: string;
    chatRequests: number;
    /** GET /models from the direct client keeping its connection warm (the gateway's warmer sends its own). */
    modelListRequests: number;
  };
  machine: MachineFacts;
  figures: LiveFigures;
  targets: Check[];
  turns: TurnRecord[];
}

interface Planned {
  path: LivePath;
  pair: number;
  prompt: string;
}

/** Pairs of turns on the same prompt; which path goes first alternates, so neither always follows the other. */
function plan(turns: number): Planned[][] {
  return Array.from({ length: turns }, (_, pair) => {
    const prompt = PROMPTS[pair % PROMPTS.length]!;
    const order: LivePath[] = pair % 2 === 0 ? ['direct', 'gateway'] : ['gateway', 'direct'];
    return order.map((path) => ({ path, pair, prompt }));
  });
}

type Runner = (path: LivePath, prompt: string, pair: number) => Promise<TurnRecord>;

function describeTurn(t: TurnRecord): string {
  const ms = (v: number | null): string => (v === null ? '–' : `${v.toFixed(0)} ms`);
  const speech = t.path === 'gateway' ? `, first speech ${ms(t.firstSpeechMs)}` : '';
  const remarks = turnRemarks(t);
  return `${turnLabel(t)}: ${t.status}, first token ${ms(t.firstTokenMs)}${speech}${remarks === '' ? '' : ` (${remarks})`}`;
}

async function playTurns(options: LiveBenchOptions, run: Runner): Promise<TurnRecord[]> {
  const log = options.log ?? (() => {});
  const records: TurnRecord[] = [];
  const one = async (path: LivePath, prompt: string, pair: number): Promise<TurnRecord> => {
    const record = await run(path, prompt, pair);
    records.push(record);
    log(describeTurn(record));
    await sleep(options.pauseMs);
    return record;
  };
  for (const path of ['direct', 'gateway'] as const) {
    const warmUp = await one(path, WARM_UP_PROMPT, -1);
    if (warmUp.status !== 'completed')
      throw new Error(`the ${path} warm-up turn failed: ${warmUp.status} (${turnRemarks(warmUp) || 'no detail'})`);
  }
  // Concurrency 2: the two turns of a pair at once, so each path never has more than one turn in flight.
  for (const pair of plan(options.turns)) {
    if (options.concurrency > 1) await Promise.all(pair.map((t) => one(t.path, t.prompt, t.pair)));
    else for (const t of pair) await one(t.path, t.prompt, t.pair);
  }
  return records;
}

async function startGateways(
  options: LiveBenchOptions,
): Promise<{ gateway: ServerProcess; captured: Record<string, unknown> }> {
  const settings = { model: options.model, maxTokens: options.maxTokens, verbose: options.verbose ?? false };
  const [gateway, captured] = await Promise.allSettled([
    startLiveGateway(settings, options.baseUrl, options.apiKey),
    captureGatewayBody(settings),
  ]);
  if (gateway.status === 'fulfilled' && captured.status === 'fulfilled')
    return { gateway: gateway.value, captured: captured.value };
  if (gateway.status === 'fulfilled') await stopProcess(gateway.value.child);
  throw gateway.status === 'rejected' ? gateway.reason : (captured as PromiseRejectedResult).reason;
}

export async function runLiveBench(options: LiveBenchOptions): Promise<LiveResults> {
  const log = options.log ?? (() => {});
  const startedAt = new Date();
  const began = performance.now();
  log(
    `${options.model} at ${options.baseUrl}: ${options.turns} turns per path + 1 warm-up each, concurrency ${options.concurrency}`,
  );
  const { gateway, captured } = await startGateways(options);
  const direct = new DirectClient(options);
  const stamp = startedAt.getTime().toString(36);
  const voice = { url: voiceUrl(gateway), timeoutMs: options.timeoutMs, settleMs: options.settleMs };
  let turns: TurnRecord[];
  try {
    turns = await playTurns(options, (path, prompt, pair) =>
      path === 'direct'
        ? direct.turn(bodyFor(captured, prompt), `bench-live-${stamp}-${pair + 1}`, pair, prompt)
        : gatewayTurn(voice, prompt, pair),
    );
  } finally {
    await stopProcess(gateway.child);
    await direct.close();
  }
  const figures = analyse(turns, options.model);
  const { apiKey: _key, log: _log, ...rest } = options;
  return {
    ...resultsHead('live', startedAt, began),
    options: rest,
    request: {
      ...describeBody(captured),
      prompts: PROMPTS.slice(0, Math.min(PROMPTS.length, options.turns)),
      warmUpPrompt: WARM_UP_PROMPT,
      chatRequests: turns.length,
      modelListRequests: direct.touches,
    },
    figures,
    targets: checkRun(figures),
    turns,
  };
}
