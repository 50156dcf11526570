// What one load worker measures, shared by its sessions: turn → first content, per-chunk delivery delay
// (receive time − the simulator's emit stamp), cancel send times, outcome counts. Only samples inside the
// measurement window count; the sessions keep the load steady outside it.

import { decodeEmitStamp, EMIT_STAMP_PATTERN } from '../../src/simulator/emit-stamp.js';
import { SampleBuffer } from './clock.js';
import type { CancelRecord, Window } from './messages.js';

export class Recorder {
  window: Window | null = null;
  readonly ttft = new SampleBuffer();
  readonly perToken = new SampleBuffer();
  readonly cancels: CancelRecord[] = [];
  readonly errors: Record<string, number> = {};
  turnsStarted = 0;
  turnsInWindow = 0;
  completed = 0;
  interrupted = 0;
  failed = 0;
  chunks = 0;
  deltaEvents = 0;
  stampAnomalies = 0;

  /** `correctionMs` = this process's clock offset − the simulator's (see clockOffsetMs). */
  constructor(private readonly correctionMs: number) {}

  inWindow(t: number): boolean {
    const w = this.window;
    return w !== null && t >= w.measureStart && t < w.measureEnd;
  }

  turnSent(sentAt: number): void {
    this.turnsStarted += 1;
    if (this.inWindow(sentAt)) this.turnsInWindow += 1;
  }

  firstContent(sentAt: number, receivedAt: number): void {
    if (this.inWindow(sentAt)) this.ttft.push(receivedAt - sentAt);
  }

  /**
   * Records every emit stamp in `text` (a proxy may merge chunks under backpressure, so one text can hold
   * several). Returns the number of stamps and the last one, for the caller's ordering check.
   */
  stamps(text: string, receivedAt: number, lastStamp: number): { count: number; last: number } {
    const counted = this.inWindow(receivedAt);
    if (counted) this.deltaEvents += 1;
    let count = 0;
    let last = lastStamp;
    const receivedSimClock = receivedAt - this.correctionMs;
    for (const match of text.matchAll(EMIT_STAMP_PATTERN)) {
      const emittedAt = decodeEmitStamp(match[1]!, receivedSimClock);
      if (emittedAt <= last) this.stampAnomalies += 1;
      last = emittedAt;
      count += 1;
      if (counted) {
        this.chunks += 1;
        this.perToken.push(receivedSimClock - emittedAt);
      }
    }
    return { count, last };
  }

  cancelSent(sessionId: string, sentAt: number): void {
    if (this.inWindow(sentAt)) this.cancels.push({ sessionId, sentAt: sentAt - this.correctionMs });
  }

  outcome(status: string): void {
    if (status === 'completed') this.completed += 1;
    else if (status === 'interrupted') this.interrupted += 1;
    else this.failed += 1;
  }

  error(code: string): void {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }
}

/** What a session needs from its worker. */
export interface SessionHooks {
  recorder: Recorder;
  /** Called once when the session has done its maxTurns turns. */
  finished(): void;
}
