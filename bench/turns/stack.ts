// What the turn bench measures through: the ASI:One simulator in this process (so every upstream request is
// seen and attributed to its pass by x-session-id) and a fresh gateway process per pass, run from src/ through
// tsx, with the counting tool module in place of the built-in tools.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSimulator, type RecordedRequest, type Simulator } from '../../src/simulator/server.js';
import { detectToolIntent } from '../../src/simulator/tool-intents.js';
import { startGatewayProcess, stopProcess, type ServerProcess } from '../lib/procs.js';
import type { ToolExecution } from './counting-tools.js';
import { fetchGatewayCounters, type GatewayCounters } from './gateway-metrics.js';

export interface TurnsWorkload {
  ttftMs: number;
  interTokenMs: number;
}

/** Two sentences (~20 tokens): the first is a speech segment of its own. Tool questions get the simulator's own replies. */
export const BENCH_REPLY =
  'Sure, here is a short answer to that question. I kept it brief, so your next one can follow right away.';

const COUNTING_TOOLS = fileURLToPath(new URL('./counting-tools.ts', import.meta.url));

/** The upstream requests of one pass's sessions, as the simulator received them. */
export interface UpstreamCounts {
  /** Requests whose last message is the user's: a speculation or a committed turn's reply. */
  turnRequests: number;
  /** Requests that carry tool results back (a reply's second step). */
  toolFollowUps: number;
}

export interface PassGateway {
  voiceUrl: string;
  metrics(): Promise<GatewayCounters>;
  /** Tool executions logged so far. */
  toolExecutions(): ToolExecution[];
  stop(): Promise<void>;
}

function lastRole(body: unknown): unknown {
  const messages = (body as { messages?: unknown } | null)?.messages;
  return Array.isArray(messages) ? (messages.at(-1) as { role?: unknown } | undefined)?.role : undefined;
}

export class TurnsStack {
  private readonly bySession = new Map<string, UpstreamCounts>();
  /** Requests from sessions no pass registered (should stay 0). */
  unattributed = 0;

  private constructor(
    readonly sim: Simulator,
    private readonly dir: string,
    private readonly verbose: boolean,
  ) {
    sim.events.on('request', (request: RecordedRequest) => this.count(request));
  }

  static async start(workload: TurnsWorkload, verbose = false): Promise<TurnsStack> {
    const sim = await startSimulator({
      port: 0,
      host: '127.0.0.1',
      defaults: { profile: 'gen2', ttftMs: workload.ttftMs, interTokenMs: workload.interTokenMs, tokensPerChunk: 1 },
      // A short fixed reply, except where the simulator answers with tool calls or reads tool results back.
      scenarioFor: (body) =>
        lastRole(body) === 'user' && detectToolIntent(body as Record<string, unknown>) === null
          ? { reply: BENCH_REPLY }
          : undefined,
    });
    return new TurnsStack(sim, mkdtempSync(join(tmpdir(), 'bench-turns-')), verbose);
  }

  /** Counts `sessionId`'s upstream requests into `counts` from now on. */
  attribute(sessionId: string, counts: UpstreamCounts): void {
    this.bySession.set(sessionId, counts);
  }

  private count(request: RecordedRequest): void {
    const header = request.headers['x-session-id'];
    const counts = typeof header === 'string' ? this.bySession.get(header) : undefined;
    if (counts === undefined) this.unattributed += 1;
    else if (lastRole(request.body) === 'tool') counts.toolFollowUps += 1;
    else counts.turnRequests += 1;
  }

  /** A fresh gateway for one pass; `env` on top of the bench's (limits lifted, counting tools). */
  async startGateway(label: string, env: Record<string, string>): Promise<PassGateway> {
    const toolLog = join(this.dir, `tools-${label}.jsonl`);
    const server: ServerProcess = await startGatewayProcess({
      simUrl: this.sim.url,
      fromSrc: true,
      env: {
        BUILTIN_TOOLS: 'off',
        TOOLS_MODULE: COUNTING_TOOLS,
        TURNS_BENCH_TOOL_LOG: toolLog,
        TURNS_PER_MINUTE: '100000',
        TURNS_PER_MINUTE_PER_IP: '1000000',
        TURNS_PER_MINUTE_PER_TOKEN: '1000000',
        MAX_RESPONSES_PER_IP: '100000',
        MAX_CONNECTIONS_PER_IP: '100000',
        ...env,
      },
      echo: this.verbose,
    });
    const httpUrl = `http://127.0.0.1:${server.port}`;
    return {
      voiceUrl: `ws://127.0.0.1:${server.port}/v1/voice`,
      metrics: () => fetchGatewayCounters(httpUrl),
      toolExecutions: () => readToolLog(toolLog),
      stop: () => stopProcess(server.child),
    };
  }

  async close(): Promise<void> {
    await this.sim.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function readToolLog(path: string): ToolExecution[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ToolExecution);
}
