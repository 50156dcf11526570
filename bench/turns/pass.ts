// One pass of the turn bench: a fresh gateway with the pass's speculation setting, N concurrent sessions each
// playing its share of the replay one sequence after another (think gap, interims, final, wait for the reply),
// then what the gateway's /metrics, the simulator and the tool log say about it.

import type { TurnDetection } from '../../src/protocol.js';
import { TurnClient, type SequenceOutcome } from './client.js';
import type { ToolExecution } from './counting-tools.js';
import type { GatewayCounters } from './gateway-metrics.js';
import type { ReplaySequence } from './replay.js';
import type { TurnsStack, UpstreamCounts } from './stack.js';

/** `off`: no speculation (SPECULATION=off); `on`: speculation, the client's final commits; `server-commit`: both. */
export type PassMode = 'off' | 'on' | 'server-commit';
export const PASS_MODES: readonly PassMode[] = ['off', 'on', 'server-commit'];

export interface PassOptions {
  mode: PassMode;
  sessions: number;
  /** serverCommit.stableMs of the server-commit pass. */
  stableMs: number;
  log: (line: string) => void;
}

export interface PassRun {
  mode: PassMode;
  turnDetection: TurnDetection;
  outcomes: SequenceOutcome[];
  upstream: UpstreamCounts;
  gateway: GatewayCounters;
  toolExecutions: ToolExecution[];
  /** Per session id: server tool calls its client saw announced. */
  announcedToolCalls: Map<string, number>;
  unannouncedEvents: number;
  unannouncedToolCalls: number;
  durationMs: number;
}

function setupOf(mode: PassMode, stableMs: number): { env: Record<string, string>; turnDetection: TurnDetection } {
  if (mode === 'off') return { env: { SPECULATION: 'off' }, turnDetection: { speculate: false, serverCommit: null } };
  if (mode === 'on') return { env: { SPECULATION: 'on' }, turnDetection: { speculate: true, serverCommit: null } };
  return { env: { SPECULATION: 'on' }, turnDetection: { speculate: true, serverCommit: { stableMs } } };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function connectAll(url: string, count: number, turnDetection: TurnDetection): Promise<TurnClient[]> {
  const connected = await Promise.all(Array.from({ length: count }, () => TurnClient.connect(url, turnDetection)));
  for (const { echo } of connected) {
    if (
      echo.speculate !== turnDetection.speculate ||
      echo.serverCommit?.stableMs !== turnDetection.serverCommit?.stableMs
    )
      throw new Error(`the gateway set turnDetection ${JSON.stringify(echo)}, not ${JSON.stringify(turnDetection)}`);
  }
  return connected.map(({ client }) => client);
}

export async function runPass(
  stack: TurnsStack,
  replay: readonly ReplaySequence[],
  options: PassOptions,
): Promise<PassRun> {
  const { mode, log } = options;
  const { env, turnDetection } = setupOf(mode, options.stableMs);
  const gateway = await stack.startGateway(mode, env);
  const upstream: UpstreamCounts = { turnRequests: 0, toolFollowUps: 0 };
  const sessions = Math.max(1, Math.min(options.sessions, replay.length));
  const outcomes: SequenceOutcome[] = [];
  try {
    const clients = await connectAll(gateway.voiceUrl, sessions, turnDetection);
    for (const client of clients) stack.attribute(client.sessionId, upstream);
    const started = performance.now();
    const stagger = Math.min(150, 1_000 / sessions);
    let done = 0;
    await Promise.all(
      clients.map(async (client, s) => {
        await sleep(s * stagger);
        for (let i = s; i < replay.length; i += sessions) {
          const sequence = replay[i]!;
          await sleep(sequence.thinkMs);
          outcomes.push(await client.play(sequence, `${mode}-${sequence.id}`));
          done += 1;
          if (done % 50 === 0) log(`  ${mode}: ${done}/${replay.length} sequences`);
        }
      }),
    );
    const durationMs = performance.now() - started;
    const counters = await gateway.metrics();
    for (const client of clients) client.close();
    outcomes.sort((a, b) => a.sequence.id - b.sequence.id);
    return {
      mode,
      turnDetection,
      outcomes,
      upstream,
      gateway: counters,
      toolExecutions: gateway.toolExecutions(),
      announcedToolCalls: new Map(clients.map((c) => [c.sessionId, c.serverToolCalls])),
      unannouncedEvents: clients.reduce((sum, c) => sum + c.unannouncedEvents, 0),
      unannouncedToolCalls: clients.reduce((sum, c) => sum + c.unannouncedToolCalls, 0),
      durationMs,
    };
  } finally {
    await gateway.stop();
  }
}
