// A load-generator process (bench/run.ts forks one or more): opens its share of the sessions, runs the
// workload on the window it is given, measures its own event-loop delay and CPU (to show it is not the
// bottleneck), and sends back its samples. One worker runs one phase, then exits.

import { Agent } from 'node:http';
import { clockOffsetMs, createLoopMonitor, epochNow } from './lib/clock.js';
import type { FromWorker, ToWorker, Window, WorkerConfig, WorkerResult } from './lib/messages.js';
import { Recorder } from './lib/recorder.js';
import { SseSession } from './lib/sse-session.js';
import { WsSession } from './lib/ws-session.js';

type Session = WsSession | SseSession;

const send = (message: FromWorker): void => void process.send?.(message);
const monitor = createLoopMonitor();
let config: WorkerConfig | undefined;
let recorder: Recorder | undefined;
let sessions: Session[] = [];
let agent: Agent | undefined;
let connected = 0;
let connectFailed = 0;
let finishedSessions = 0;
let cpuMark = process.cpuUsage();
let cpuMs = 0;
let windowMs = 0;
let loop = monitor.read();
let measuring = false;

async function connectAll(cfg: WorkerConfig): Promise<void> {
  recorder = new Recorder(clockOffsetMs() - cfg.simClockOffsetMs);
  const hooks = {
    recorder,
    finished: () => {
      finishedSessions += 1;
      if (finishedSessions === connected) send({ type: 'turns-done' });
    },
  };
  if (cfg.kind === 'sse') agent = new Agent({ keepAlive: true, maxSockets: Infinity, keepAliveMsecs: 1_000 });
  sessions = Array.from({ length: cfg.sessions }, (_, i) => {
    const index = cfg.workerIndex * 1_000_000 + i;
    return cfg.kind === 'ws' ? new WsSession(index, cfg, hooks) : new SseSession(index, cfg, hooks, agent!);
  });
  const open: Session[] = [];
  let next = 0;
  const runner = async (): Promise<void> => {
    while (next < sessions.length) {
      const session = sessions[next++]!;
      if (await session.connect()) open.push(session);
      else connectFailed += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(cfg.connectConcurrency, sessions.length) }, runner));
  sessions = open;
  connected = open.length;
  send({ type: 'connected', connected, failed: connectFailed });
}

function begin(window: Window): void {
  const cfg = config!;
  recorder!.window = window;
  const now = epochNow();
  if (!cfg.idle) {
    for (const session of sessions) session.start(window.beginAt - now + Math.random() * window.rampMs);
  }
  setTimeout(
    () => {
      monitor.histogram.reset();
      cpuMark = process.cpuUsage();
      measuring = true;
    },
    Math.max(0, window.measureStart - now),
  );
  const endIn = window.measureEnd - now;
  if (Number.isFinite(endIn)) setTimeout(closeWindow, Math.max(0, endIn));
}

function closeWindow(): void {
  if (!measuring) return;
  measuring = false;
  const cpu = process.cpuUsage(cpuMark);
  cpuMs = (cpu.user + cpu.system) / 1000;
  loop = monitor.read();
  const w = recorder!.window!;
  windowMs = Math.min(epochNow(), w.measureEnd) - w.measureStart;
}

function stop(): void {
  closeWindow();
  for (const session of sessions) session.stop();
  agent?.destroy();
  const r = recorder!;
  const result: WorkerResult = {
    workerIndex: config!.workerIndex,
    connected,
    connectFailed,
    turnsStarted: r.turnsStarted,
    turnsInWindow: r.turnsInWindow,
    completed: r.completed,
    interrupted: r.interrupted,
    failed: r.failed,
    errors: r.errors,
    ttft: r.ttft.toArray(),
    perToken: r.perToken.toArray(),
    chunks: r.chunks,
    deltaEvents: r.deltaEvents,
    stampAnomalies: r.stampAnomalies,
    cancels: r.cancels,
    loop,
    cpuMs,
    windowMs,
  };
  // Leave once the samples have been handed to the IPC channel.
  process.send?.({ type: 'result', result } satisfies FromWorker, undefined, {}, () => process.exit(0));
}

process.on('message', (message: ToWorker) => {
  try {
    if (message.type === 'config') {
      config = message.config;
      void connectAll(message.config).catch((err: unknown) => send({ type: 'fatal', message: String(err) }));
    } else if (message.type === 'begin') begin(message.window);
    else if (message.type === 'stop') stop();
  } catch (err) {
    send({ type: 'fatal', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
process.once('disconnect', () => setTimeout(() => process.exit(0), 500).unref());
