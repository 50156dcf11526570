// A Session on its own: real config (loadConfig), a real ToolRegistry with test tools, the scripted upstream,
// and a send sink that records every event. No sockets, no fastify, no sleeps.
import { Type } from '@sinclair/typebox';
import { pino } from 'pino';
import { loadConfig, type Config } from '../../src/config.js';
import type {
  DiscardReason,
  GatewayObserver,
  QualityObserver,
  ReplyQuality,
  ResponseSummary,
  SpeculationObserver,
} from '../../src/metrics.js';
import type { ServerEventBody } from '../../src/protocol.js';
import { Session, type SessionOptions } from '../../src/session/session.js';
import type { SessionSnapshot } from '../../src/session/snapshot.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import { defineTool, type ToolDefinition } from '../../src/tools/types.js';
import type { ChatMessage } from '../../src/upstream/types.js';
import { Deferred, ScriptedChat } from './scripted-chat.js';

export type Event = ServerEventBody;
export type EventOf<T extends Event['type']> = Extract<Event, { type: T }>;

/** Records what the session sends, in order, and lets a test wait for an event. */
export class EventRecorder {
  readonly events: Event[] = [];
  /** Called synchronously inside send, after the event is recorded: a transport reacting in the same tick. */
  react: ((event: Event) => void) | undefined;
  private waiters: { test: (e: Event) => boolean; from: number; resolve: (e: Event) => void }[] = [];

  readonly send = (event: Event): void => {
    this.events.push(event);
    this.react?.(event);
    const index = this.events.length - 1;
    for (const waiter of [...this.waiters]) {
      if (index >= waiter.from && waiter.test(event)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(event);
      }
    }
  };

  /** The first event from index `from` on that passes `test`, now or when it is sent. */
  waitFor(test: (e: Event) => boolean, from = 0): Promise<Event> {
    const found = this.events.slice(from).find(test);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ test, from, resolve }));
  }

  waitForType<T extends Event['type']>(type: T, from = 0): Promise<EventOf<T>> {
    return this.waitFor((e) => e.type === type, from) as Promise<EventOf<T>>;
  }

  ofType<T extends Event['type']>(type: T): EventOf<T>[] {
    return this.events.filter((e): e is EventOf<T> => e.type === type);
  }

  ofResponse(responseId: string): Event[] {
    return this.events.filter((e) => 'responseId' in e && e.responseId === responseId);
  }

  /** `type:responseId` of each event from `from` on, for order checks. */
  trail(from = 0): string[] {
    return this.events.slice(from).map((e) => `${e.type}:${'responseId' in e ? (e.responseId ?? '') : ''}`);
  }
}

/** Records observer calls: every response started must settle exactly once, and only after it started. */
export class ObserverLog implements GatewayObserver {
  started = 0;
  readonly settled: ResponseSummary[] = [];
  /** Responses started and not yet settled; below zero a settle came before its start. */
  open = 0;
  lowest = 0;
  responseStarted(): void {
    this.started += 1;
    this.open += 1;
  }
  responseSettled(summary: ResponseSummary): void {
    this.settled.push(summary);
    this.open -= 1;
    this.lowest = Math.min(this.lowest, this.open);
  }
}

/** Records what speculation cost: each start, adoption, discard (with its reason) and committed turn. */
export class SpeculationLog implements SpeculationObserver {
  started = 0;
  adopted = 0;
  readonly discarded: { reason: DiscardReason; tokens: number }[] = [];
  readonly turns: { upstreamRequests: number; speculative: boolean }[] = [];
  speculationStarted(): void {
    this.started += 1;
  }
  speculationAdopted(): void {
    this.adopted += 1;
  }
  speculationDiscarded(reason: DiscardReason, tokens: number): void {
    this.discarded.push({ reason, tokens });
  }
  turnCommitted(upstreamRequests: number, speculative: boolean): void {
    this.turns.push({ upstreamRequests, speculative });
  }
}

/** Records the quality signals a session reports, in order. */
export class QualityLog implements QualityObserver {
  readonly calls: { kind: string; arm: string | null; [key: string]: unknown }[] = [];
  readonly replies: ReplyQuality[] = [];
  sessionStarted(arm: string | null): void {
    this.calls.push({ kind: 'session', arm });
  }
  replySettled(reply: ReplyQuality): void {
    this.replies.push(reply);
    this.calls.push({ kind: 'reply', arm: reply.arm, model: reply.model, status: reply.status });
  }
  replyCutWhileSpoken(reply: { arm: string | null; model: string; replyChars: number; heardChars: number }): void {
    this.calls.push({ kind: 'cut', ...reply });
  }
  feedback(reply: { arm: string | null; model: string }, rating: 'up' | 'down', previous: 'up' | 'down' | null): void {
    this.calls.push({ kind: 'feedback', arm: reply.arm, model: reply.model, rating, previous });
  }
  reask(reply: { arm: string | null; model: string }): void {
    this.calls.push({ kind: 'reask', arm: reply.arm, model: reply.model });
  }
}

/** A server tool whose calls wait until the test answers them (or their signal aborts). */
export class PendingTool {
  readonly calls: { args: Record<string, unknown>; signal: AbortSignal; result: Deferred<unknown> }[] = [];
  readonly definition: ToolDefinition;
  private readonly started = new Deferred();
  /** Resolves once the first call started executing. */
  readonly running = this.started.promise;
  constructor(name: string) {
    this.definition = defineTool({
      name,
      description: 'Waits for the test.',
      parameters: Type.Object({ q: Type.Optional(Type.String()) }),
      execute: (args, { signal }) => {
        const result = new Deferred<unknown>();
        this.calls.push({ args, signal, result });
        this.started.resolve();
        return result.promise;
      },
    });
  }
}

/** A server tool that answers at once: `{ "answer": <q upper-cased> }`. */
export const lookupTool = defineTool({
  name: 'lookup',
  description: 'Looks something up.',
  parameters: Type.Object({ q: Type.String() }),
  execute: ({ q }) => ({ answer: q.toUpperCase() }),
});

export interface HarnessOptions {
  env?: Record<string, string>;
  tools?: ToolDefinition[];
  restore?: SessionSnapshot;
  chat?: ScriptedChat;
  onStateChange?: SessionOptions['onStateChange'];
  admitServerCommit?: SessionOptions['admitServerCommit'];
  sessionId?: string;
}

export interface Harness {
  session: Session;
  chat: ScriptedChat;
  recorder: EventRecorder;
  observer: ObserverLog;
  speculation: SpeculationLog;
  quality: QualityLog;
  config: Readonly<Config>;
}

export function createSession(options: HarnessOptions = {}): Harness {
  const config = loadConfig({ LOG_LEVEL: 'silent', SYSTEM_PROMPT: 'SYS', ...options.env });
  const tools = new ToolRegistry([lookupTool, ...(options.tools ?? [])], { defaultTimeoutMs: config.toolTimeoutMs });
  const chat = options.chat ?? new ScriptedChat();
  const recorder = new EventRecorder();
  const observer = new ObserverLog();
  const speculation = new SpeculationLog();
  const quality = new QualityLog();
  const session = new Session({
    config,
    chat,
    tools,
    observer,
    speculationObserver: speculation,
    quality,
    ...(options.admitServerCommit ? { admitServerCommit: options.admitServerCommit } : {}),
    send: recorder.send,
    logger: pino({ level: 'silent' }),
    ...(options.restore ? { restore: options.restore } : {}),
    ...(options.sessionId ? { sessionId: options.sessionId } : {}),
    ...(options.onStateChange ? { onStateChange: options.onStateChange } : {}),
  });
  session.start();
  return { session, chat, recorder, observer, speculation, quality, config };
}

/** The history part of a request: everything after the system prompt. */
export function historyOf(request: { messages: ChatMessage[] } | undefined): ChatMessage[] {
  if (request === undefined) throw new Error('no such request');
  return request.messages.slice(1);
}

/** Lets every queued microtask and I/O callback run (a macrotask turn; a run settles through several): no sleep. */
export const drained = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Sends a turn and waits until its response settled; returns its response.done. */
export async function turn(h: Harness, text: string): Promise<EventOf<'response.done'>> {
  const from = h.recorder.events.length;
  h.session.handle({ type: 'turn', text });
  const created = await h.recorder.waitForType('response.created', from);
  return (await h.recorder.waitFor(
    (e) => e.type === 'response.done' && e.responseId === created.responseId,
    from,
  )) as EventOf<'response.done'>;
}
