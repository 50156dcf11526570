// An in-memory upstream for the session core: each request is answered by the next scripted reply, replayed to
// the run's sink one event per microtask. Gates hold a reply at a known point until the test releases them.
// No network, no timers: a test moves it forward only by awaiting gates and promises.
import type {
  ChatEvent,
  ChatEventSink,
  ChatOutcome,
  ChatRequest,
  ChatStreamer,
  ChatUsage,
} from '../../src/upstream/types.js';

/** A promise and its resolver, settled by the test. */
export class Deferred<T = void> {
  readonly promise: Promise<T>;
  resolve!: (value: T) => void;
  constructor() {
    this.promise = new Promise<T>((resolve) => {
      this.resolve = resolve;
    });
  }
}

/** Holds a reply where it stands: `reached` resolves when the replay gets there; nothing follows until `release()`. */
export class Gate {
  private readonly arrived = new Deferred();
  private readonly opened = new Deferred();
  readonly reached = this.arrived.promise;
  release(): void {
    this.opened.resolve();
  }
  /** Used by the replay. */
  pass(): Promise<void> {
    this.arrived.resolve();
    return this.opened.promise;
  }
}

/** One scripted beat: an event for the sink, a gate, or a failure of the request (after what came before). */
export type Beat = ChatEvent | Gate | { fail: Error };

export interface Reply {
  beats: Beat[];
  /** The outcome's finish_reason; default: the reason of the last `finish` beat, or null. */
  finishReason?: string | null;
  usage?: ChatUsage | null;
  /** Keeps replaying after the request was aborted: late events the run must drop. */
  ignoreAbort?: boolean;
}

/** A request as the run sent it, and what became of it. */
export interface ScriptedCall {
  request: Omit<ChatRequest, 'signal' | 'logger'>;
  signal: AbortSignal;
  /** Resolves once the replay is over (every beat delivered, or stopped by the abort). */
  ended: Promise<void>;
}

const ABORTED: ChatOutcome = { finishReason: null, usage: null, aborted: true, attempts: 1 };

export class ScriptedChat implements ChatStreamer {
  readonly calls: ScriptedCall[] = [];
  private readonly replies: Reply[] = [];

  /** Queues replies; each answers one upstream request, in order. */
  enqueue(...replies: Reply[]): void {
    this.replies.push(...replies);
  }

  /** The requests so far (messages copied when sent, so later history edits do not show). */
  get requests(): ScriptedCall['request'][] {
    return this.calls.map((c) => c.request);
  }

  stream(request: ChatRequest, sink: ChatEventSink): Promise<ChatOutcome> {
    const { signal, logger: _logger, ...rest } = request;
    const reply = this.replies.shift();
    const ended = new Deferred();
    this.calls.push({ request: structuredClone(rest), signal, ended: ended.promise });
    const played =
      reply === undefined
        ? Promise.reject(new Error(`no reply scripted for request ${this.calls.length}`))
        : replay(reply, signal, sink);
    return played.finally(() => ended.resolve());
  }
}

async function replay(reply: Reply, signal: AbortSignal, sink: ChatEventSink): Promise<ChatOutcome> {
  const stopped = () => signal.aborted && reply.ignoreAbort !== true;
  const abort = new Promise<void>((resolve) =>
    signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  let finishReason: string | null = null;
  for (const beat of reply.beats) {
    await Promise.resolve();
    if (stopped()) return ABORTED;
    if (beat instanceof Gate) {
      await (reply.ignoreAbort === true ? beat.pass() : Promise.race([beat.pass(), abort]));
      continue;
    }
    if ('fail' in beat) throw beat.fail;
    if (beat.type === 'finish') finishReason = beat.reason;
    sink(beat);
  }
  await Promise.resolve();
  if (stopped()) return ABORTED;
  return {
    finishReason: reply.finishReason === undefined ? finishReason : reply.finishReason,
    usage: reply.usage ?? null,
    aborted: false,
    attempts: 1,
  };
}

/** Text split after each whitespace run, one delta per word: how a streamed reply arrives. */
export function words(text: string): ChatEvent[] {
  return text.split(/(?<=\s)/).map((t): ChatEvent => ({ type: 'text', text: t }));
}

/** A whole answer: its words, then finish_reason stop. */
export function answer(text: string, usage?: ChatUsage): Reply {
  return { beats: [...words(text), { type: 'finish', reason: 'stop' }], ...(usage ? { usage } : {}) };
}

export interface ScriptedToolCall {
  name: string;
  arguments: string;
  id?: string;
}

/** A step that says `text` (may be empty), then asks for the calls (each in two fragments), finish_reason tool_calls. */
export function toolStep(text: string, calls: ScriptedToolCall[]): Reply {
  const fragments = calls.flatMap((call, index): ChatEvent[] => {
    const half = Math.floor(call.arguments.length / 2);
    return [
      {
        type: 'tool_call',
        index,
        ...(call.id === undefined ? {} : { id: call.id }),
        name: call.name,
        argumentsDelta: call.arguments.slice(0, half),
      },
      { type: 'tool_call', index, argumentsDelta: call.arguments.slice(half) },
    ];
  });
  return { beats: [...(text === '' ? [] : words(text)), ...fragments, { type: 'finish', reason: 'tool_calls' }] };
}
