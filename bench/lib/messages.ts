// The messages bench/run.ts exchanges over IPC with its child processes: the load workers, the simulator
// wrapper and the gateway probe. Requests carry an `id`; the child answers with the same `id`.

import type { LoopDelay } from './clock.js';

export type PathName = 'direct' | 'gateway' | 'peer' | 'floor';

export interface WorkerConfig {
  workerIndex: number;
  path: PathName;
  /** 'ws': protocol v1 to the gateway. 'sse': OpenAI-compatible POST /chat/completions (the simulator or a proxy). */
  kind: 'ws' | 'sse';
  url: string;
  /** Extra request headers for 'sse' (a proxy's routing headers). */
  headers: Record<string, string>;
  sessions: number;
  /** Connect and hold the sessions open without sending anything (the idle-memory phase). */
  idle: boolean;
  thinkMs: number;
  /** One turn in N is cancelled (barge-in), staggered across sessions; 0 = never. */
  cancelEvery: number;
  /** A cancelled turn is cancelled after this many content chunks arrived. */
  cancelAfterChunks: number;
  /** Stop a session after this many turns; 0 = run until told to stop. */
  maxTurns: number;
  model: string;
  systemPrompt: string;
  maxTokens: number;
  /** The simulator's clockOffsetMs(); the worker corrects its own receive times by the difference. */
  simClockOffsetMs: number;
  connectConcurrency: number;
  sessionIdPrefix: string;
}

export interface Window {
  /** Epoch ms at which sessions may start their first turn, spread uniformly over `rampMs`. */
  beginAt: number;
  rampMs: number;
  /** Samples count only inside [measureStart, measureEnd). */
  measureStart: number;
  measureEnd: number;
}

export interface CancelRecord {
  /** The x-session-id the simulator saw for this session. */
  sessionId: string;
  /** When response.cancel was sent (or the request destroyed), in the simulator's clock. */
  sentAt: number;
}

export interface WorkerResult {
  workerIndex: number;
  connected: number;
  connectFailed: number;
  turnsStarted: number;
  turnsInWindow: number;
  completed: number;
  interrupted: number;
  failed: number;
  errors: Record<string, number>;
  /** Turn sent → first content, ms, for turns sent inside the window. */
  ttft: Float64Array;
  /** Receive time − simulator emit time, ms, per content chunk received inside the window. */
  perToken: Float64Array;
  /** Content chunks (emit stamps) received inside the window; response.delta events inside the window. */
  chunks: number;
  deltaEvents: number;
  /** Stamps that arrived out of order or twice (a correctness check; should be 0). */
  stampAnomalies: number;
  cancels: CancelRecord[];
  loop: LoopDelay;
  cpuMs: number;
  windowMs: number;
}

export type ToWorker = { type: 'config'; config: WorkerConfig } | { type: 'begin'; window: Window } | { type: 'stop' };

export type FromWorker =
  | { type: 'connected'; connected: number; failed: number }
  | { type: 'turns-done' }
  | { type: 'result'; result: WorkerResult }
  | { type: 'fatal'; message: string };

/** One upstream stream as the simulator saw it (times in epoch ms, the simulator's clock). */
export interface StreamEndRecord {
  sessionId: string;
  /** When its request body had been read. */
  startedAt: number;
  /** When it ended, and how: 'client-closed' is a cancel that reached the upstream. */
  at: number;
  reason: string;
}

/** What the gateway probe (and the simulator wrapper) report about their own process. */
export interface ProcessStats {
  loop: LoopDelay;
  cpuUserMs: number;
  cpuSystemMs: number;
  memory: NodeJS.MemoryUsage;
  /** Only with BENCH_PROBE_WRITES=1: socket writes and the wall time spent inside them during the window. */
  writes?: { count: number; wallMs: number };
  /** Only with BENCH_PROBE_UPSTREAM=1: upstream connects, and dispatch → headers written, during the window. */
  upstream?: UpstreamProbe;
  /** Only with BENCH_HEAP_SAMPLE (bench --heap-sample): the window's sampling heap profile, written to a file. */
  heapSample?: { file: string; mode: 'allocated' | 'promoted'; gc: HeapSampleGc };
}

/** V8's GC profiler over a --heap-sample window: what the scavenges promoted, and the collections' pauses. */
export interface HeapSampleGc {
  scavenges: number;
  markCompacts: number;
  /** Main-thread time of every collection and marking step in the window. */
  pauseMs: number;
  /** Old-space (and large-object space) growth across the scavenges: the bytes they promoted. */
  promotedBytes: number;
}

export interface WaitSummary {
  count: number;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
}

/** How long upstream requests waited inside undici before their headers were written. */
export interface UpstreamProbe {
  connects: number;
  /** The first request on a socket: includes connecting when the client had none. */
  fresh: WaitSummary;
  /** A request on a kept-alive socket: undici 7 first lets the event loop reach its check phase (6 does not). */
  reused: WaitSummary;
}
