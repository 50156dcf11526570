// One pass's stack: the simulator in this process over TLS (HTTP/2 offered by ALPN, HTTP/1.1 still answered, a
// cost per new connection), the idle-closing relay in front of it (idle-proxy.ts; optional), and a gateway
// process (from src/ through tsx) with the pass's UPSTREAM_HTTP and UPSTREAM_WARM, trusting the bench's CA. Each
// pass has its own simulator, so its connection counts are its own; every chat request is attributed to its
// turn by the tag in the turn's text.

import { startSimulator, type RecordedRequest, type Simulator } from '../../src/simulator/server.js';
import { startGatewayProcess, stopProcess, type ServerProcess } from '../lib/procs.js';
import type { BenchCertificates } from './certificates.js';
import { startIdleProxy, type IdleProxy } from './idle-proxy.js';

export interface PassSetup {
  id: string;
  http: 'h1' | 'h2';
  warm: boolean;
}

export const PASS_SETUPS: readonly PassSetup[] = [
  { id: 'h1 warmer on', http: 'h1', warm: true },
  { id: 'h1 warmer off', http: 'h1', warm: false },
  { id: 'h2 warmer on', http: 'h2', warm: true },
  { id: 'h2 warmer off', http: 'h2', warm: false },
];

export interface Workload {
  connectionCostMs: number;
  /** The simulator's own first-token time: 0, so that the client's turn → first delta is all added latency. */
  ttftMs: number;
  interTokenMs: number;
  reply: string;
  /** The relay closes connections idle this long; 0: no relay, the gateway talks to the simulator directly. */
  upstreamIdleMs: number;
}

const TAG = /\(ref ([\w.-]+)\)/;

/** The text of a turn, carrying its tag for the simulator's records. */
export const turnText = (tag: string, turn: number): string =>
  `${turn === 0 ? 'Hello there' : 'And one more thing'}, what should I pack for a day hike? (ref ${tag})`;

function tagOf(request: RecordedRequest): string | undefined {
  const messages = (request.body as { messages?: { role?: string; content?: unknown }[] } | null)?.messages;
  const last = Array.isArray(messages) ? messages.findLast((m) => m.role === 'user') : undefined;
  return typeof last?.content === 'string' ? TAG.exec(last.content)?.[1] : undefined;
}

export class PassStack {
  /** The chat request each tagged turn arrived as. */
  readonly byTag = new Map<string, RecordedRequest>();
  /** Chat requests without a tag (should stay 0) or with one seen before (a retry). */
  untagged = 0;
  repeated = 0;
  /** performance.now() when this pass's gateway was last busy (started, or ended a round). */
  lastActiveAt = performance.now();
  private idleClosesTaken = 0;

  private constructor(
    readonly setup: PassSetup,
    readonly sim: Simulator,
    private readonly proxy: IdleProxy | null,
    private readonly gateway: ServerProcess,
  ) {
    sim.events.on('request', (request: RecordedRequest) => {
      const tag = tagOf(request);
      if (tag === undefined) this.untagged += 1;
      else if (this.byTag.has(tag)) this.repeated += 1;
      else this.byTag.set(tag, request);
    });
  }

  static async start(
    setup: PassSetup,
    workload: Workload,
    certificates: BenchCertificates,
    verbose: boolean,
  ): Promise<PassStack> {
    const sim = await startSimulator({
      port: 0,
      host: '127.0.0.1',
      tls: { key: certificates.key, cert: certificates.cert },
      http2: true,
      connectionCostMs: workload.connectionCostMs,
      defaults: {
        profile: 'gen2',
        ttftMs: workload.ttftMs,
        interTokenMs: workload.interTokenMs,
        tokensPerChunk: 1,
        reply: workload.reply,
      },
    });
    const proxy =
      workload.upstreamIdleMs > 0
        ? await startIdleProxy({ host: '127.0.0.1', port: sim.port }, workload.upstreamIdleMs)
        : null;
    try {
      const gateway = await startGatewayProcess({
        simUrl: proxy === null ? sim.url : `https://127.0.0.1:${proxy.port}/v1`,
        fromSrc: true,
        env: {
          UPSTREAM_HTTP: setup.http,
          UPSTREAM_WARM: setup.warm ? 'on' : 'off',
          UPSTREAM_CA_FILE: certificates.caFile,
          BUILTIN_TOOLS: 'off',
          TURNS_PER_MINUTE: '100000',
          TURNS_PER_MINUTE_PER_IP: '1000000',
          TURNS_PER_MINUTE_PER_TOKEN: '1000000',
          MAX_RESPONSES_PER_IP: '100000',
          MAX_RESPONSES_PER_TOKEN: '100000',
          MAX_CONNECTIONS_PER_IP: '100000',
        },
        echo: verbose,
      });
      return new PassStack(setup, sim, proxy, gateway);
    } catch (err) {
      await proxy?.close();
      await sim.close();
      throw err;
    }
  }

  get voiceUrl(): string {
    return `ws://127.0.0.1:${this.gateway.port}/v1/voice`;
  }

  /** Connections the relay closed for idleness since the last call (0 without the relay). */
  takeIdleCloses(): number {
    const total = this.proxy?.closedIdle ?? 0;
    const since = total - this.idleClosesTaken;
    this.idleClosesTaken = total;
    return since;
  }

  /** Waits until the gateway has been quiet for `idleMs`: its idle upstream connections have expired by then. */
  async quiet(idleMs: number): Promise<void> {
    const wait = this.lastActiveAt + idleMs - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  async stop(): Promise<void> {
    await stopProcess(this.gateway.child);
    await this.proxy?.close();
    await this.sim.close();
  }
}
