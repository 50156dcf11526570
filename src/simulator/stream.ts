// Drives one simulated response over time: TTFT, inter-token pacing, gates, drops, stalls, keep-alive
// comments, CRLF framing and split writes. Owns the response's timers; renders nothing itself (encoders do).

import type { ServerResponse } from 'node:http';
import { stampChunkText } from './emit-stamp.js';
import type { GateRegistry } from './gates.js';
import type { ReplyPlan, WireEncoder } from './plan.js';
import type { SimScenario } from './scenario.js';

export type StreamEndReason = 'completed' | 'client-closed' | 'dropped' | 'stalled-closed';

export interface StreamEnd {
  id: number;
  reason: StreamEndReason;
  /** performance.now() when the end was observed. */
  at: number;
}

export interface SimStreamOptions {
  id: number;
  res: ServerResponse;
  scenario: SimScenario;
  plan: ReplyPlan;
  encoder: WireEncoder;
  /** 'sse' streams chunks; 'json' answers with one chat.completion body after the whole generation time. */
  mode: 'sse' | 'json';
  includeUsage: boolean;
  gates: GateRegistry;
  /** Over HTTP/2 there is no Connection header (Node drops it with a warning). */
  http2?: boolean;
  onEnd(end: StreamEnd): void;
}

const SSE_H2_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
const SSE_HEADERS = { ...SSE_H2_HEADERS, connection: 'keep-alive' };
const MAX_SPLIT_PIECE_BYTES = 6;

export class SimStream {
  readonly #o: SimStreamOptions;
  readonly #sep: string;
  readonly #step = (): void => this.#next();
  #state: 'running' | 'held' | 'stalled' | 'ended' = 'running';
  #timer: NodeJS.Timeout | null = null;
  #immediate: NodeJS.Immediate | null = null;
  #cursor = 0;
  #counted = 0;
  #bodyStarted = false;
  #zeroChecked = false;
  #gatePassed = false;
  // splitWrites: pieces written one per macrotask so they leave as separate socket writes.
  #pieces: Buffer[] = [];
  #pump: NodeJS.Immediate | null = null;
  #afterFlush: (() => void) | null = null;
  #seed: number;
  /** performance.now() at which the next step is due: pacing compensates timer lateness without bursting. */
  #due = 0;

  constructor(options: SimStreamOptions) {
    this.#o = options;
    this.#sep = options.scenario.crlf === true ? '\r\n\r\n' : '\n\n';
    this.#seed = (options.id * 2654435761) >>> 0 || 1;
    options.res.on('close', () => this.#onClose());
  }

  start(): void {
    const { res, scenario, plan } = this.#o;
    if (this.#o.mode === 'json') {
      this.#schedule(scenario.ttftMs + scenario.interTokenMs * plan.contentChunks.length, () => this.#respondJson());
      return;
    }
    res.writeHead(200, this.#o.http2 === true ? SSE_H2_HEADERS : SSE_HEADERS);
    this.#ping();
    this.#frame(this.#o.encoder.opening());
    this.#ping();
    this.#due = performance.now();
    this.#pace(scenario.ttftMs);
  }

  /** Stops all timers (the server is closing; its socket destroy then reports the end). */
  halt(): void {
    this.#clearTimers();
  }

  #next(): void {
    if (this.#state !== 'running') return;
    const { plan, encoder, scenario } = this.#o;
    if (!this.#bodyStarted) {
      this.#bodyStarted = true;
      const marker = encoder.reasoningStart();
      if (marker !== null) this.#frame(marker);
    }
    const reasoningCount = plan.reasoningChunks.length;
    if (this.#cursor < reasoningCount) {
      this.#frame(encoder.reasoning(plan.reasoningChunks[this.#cursor]!, this.#cursor === reasoningCount - 1));
      this.#cursor++;
      this.#pace(scenario.interTokenMs);
      return;
    }
    if (!this.#zeroChecked) {
      this.#zeroChecked = true;
      if (this.#checkpoint(0)) return;
    }
    const k = this.#cursor - reasoningCount;
    const contentCount = plan.contentChunks.length;
    if (k < contentCount + plan.toolFragments.length) {
      this.#ping();
      this.#frame(
        k < contentCount
          ? encoder.content(this.#contentText(plan.contentChunks[k]!))
          : encoder.toolCall(plan.toolFragments[k - contentCount]!),
      );
      this.#cursor++;
      this.#counted++;
      if (this.#checkpoint(this.#counted)) return;
      this.#pace(scenario.interTokenMs);
      return;
    }
    for (const payload of encoder.finish(plan, this.#o.includeUsage)) this.#frame(payload);
    this.#write(`data: [DONE]${this.#sep}`);
    this.#end('completed');
    this.#whenFlushed(() => this.#o.res.end());
  }

  #contentText(text: string): string {
    return this.#o.scenario.stampEmitTimeInText === true
      ? stampChunkText(text, performance.timeOrigin + performance.now())
      : text;
  }

  /** Applies the gate, drop and stall knobs at `count` chunks; true when the stream must not continue now. */
  #checkpoint(count: number): boolean {
    const { gate, dropAfterChunks, stallAfterChunks } = this.#o.scenario;
    if (gate !== undefined && gate.afterChunks === count && !this.#gatePassed) {
      this.#hold(gate.name, () => {
        if (this.#checkpoint(count)) return;
        this.#due = performance.now();
        if (count === 0) this.#next();
        else this.#pace(this.#o.scenario.interTokenMs);
      });
      return true;
    }
    if (dropAfterChunks === count) {
      this.#drop();
      return true;
    }
    if (stallAfterChunks === count) {
      this.#state = 'stalled';
      return true;
    }
    return false;
  }

  #respondJson(): void {
    if (this.#state !== 'running') return;
    const { scenario, res, encoder, plan } = this.#o;
    if (scenario.gate !== undefined && !this.#gatePassed) {
      this.#hold(scenario.gate.name, () => this.#respondJson());
      return;
    }
    if (scenario.dropAfterChunks !== undefined) return this.#drop();
    if (scenario.stallAfterChunks !== undefined) {
      this.#state = 'stalled';
      return;
    }
    const body = encoder.completion(plan);
    this.#end('completed');
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  #hold(name: string, resume: () => void): void {
    this.#gatePassed = true;
    this.#state = 'held';
    this.#o.gates.arrive(name, () => {
      if (this.#state !== 'held') return;
      this.#state = 'running';
      resume();
    });
  }

  /** Mid-stream drop: flush what was written, then close the socket without finishing the HTTP body. */
  #drop(): void {
    this.#end('dropped');
    this.#whenFlushed(() => {
      const socket = this.#o.res.socket;
      if (socket === null || socket.destroyed) return;
      socket.once('finish', () => socket.destroy());
      socket.end();
    });
  }

  #end(reason: StreamEndReason): void {
    this.#state = 'ended';
    this.#clearTimers();
    this.#o.onEnd({ id: this.#o.id, reason, at: performance.now() });
  }

  #onClose(): void {
    this.#pieces = [];
    if (this.#pump !== null) clearImmediate(this.#pump);
    if (this.#state === 'ended') return;
    this.#end(this.#state === 'stalled' ? 'stalled-closed' : 'client-closed');
  }

  #ping(): void {
    if (this.#o.scenario.keepAliveComments === true) this.#write(`: ping${this.#sep}`);
  }

  #frame(payload: string): void {
    this.#write(`data: ${payload}${this.#sep}`);
  }

  #write(text: string): void {
    if (this.#o.scenario.splitWrites !== true) {
      this.#o.res.write(text);
      return;
    }
    // Cut at random sizes, and always right after a '\r' and after a UTF-8 lead byte, so every hard case occurs.
    const bytes = Buffer.from(text);
    let start = 0;
    let target = 1 + this.#random(MAX_SPLIT_PIECE_BYTES);
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i]!;
      if (byte === 0x0d || byte >= 0xc0 || i + 1 >= target) {
        this.#pieces.push(bytes.subarray(start, i + 1));
        start = i + 1;
        target = start + 1 + this.#random(MAX_SPLIT_PIECE_BYTES);
      }
    }
    if (start < bytes.length) this.#pieces.push(bytes.subarray(start));
    if (this.#pump === null) this.#pump = setImmediate(() => this.#pumpPiece());
  }

  #pumpPiece(): void {
    this.#pump = null;
    const piece = this.#pieces.shift();
    if (piece !== undefined && !this.#o.res.destroyed) this.#o.res.write(piece);
    if (this.#pieces.length > 0) {
      this.#pump = setImmediate(() => this.#pumpPiece());
      return;
    }
    const after = this.#afterFlush;
    this.#afterFlush = null;
    after?.();
  }

  #whenFlushed(fn: () => void): void {
    if (this.#pump === null) fn();
    else this.#afterFlush = fn;
  }

  /** Deterministic per-stream PRNG (xorshift32) in [0, n). */
  #random(n: number): number {
    let x = this.#seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#seed = x >>> 0;
    return this.#seed % n;
  }

  /** Schedules the next step `ms` after the previous due time; if already late, runs it next (never a burst). */
  #pace(ms: number): void {
    const now = performance.now();
    this.#due = Math.max(this.#due + ms, now);
    this.#schedule(Math.round(this.#due - now), this.#step);
  }

  /** Integer delays keep Node's timer lists shared across thousands of streams; 0 yields via setImmediate. */
  #schedule(ms: number, fn: () => void): void {
    if (ms <= 0) this.#immediate = setImmediate(fn);
    else this.#timer = setTimeout(fn, ms);
  }

  #clearTimers(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#timer = null;
    this.#immediate = null;
  }
}
