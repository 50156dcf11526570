// What a speculative reply has said while its turn was not yet committed: every event held in order, the end of
// the run (response.done, the history commit) deferred, and the gate its tool calls wait at. Adopted, it all goes
// out at once; discarded, it is dropped, so the client, history and seq never see a trace of it.
import type { ServerEventBody } from '../protocol.js';

export class HeldOutput {
  private events: ServerEventBody[] = [];
  private state: 'holding' | 'released' | 'dropped' = 'holding';
  private deferred: (() => void) | null = null;
  private sending = false;
  private afterSending: (() => void)[] = [];
  private openGate: (open: boolean) => void = () => undefined;
  /** Resolves true when adopted (tools may run), false when discarded (they never will). */
  readonly authorised: Promise<boolean>;

  constructor() {
    this.authorised = new Promise((resolve) => (this.openGate = resolve));
  }

  /** True until adopted or discarded: events are held, not sent. */
  get holding(): boolean {
    return this.state === 'holding';
  }

  get dropped(): boolean {
    return this.state === 'dropped';
  }

  /** True while release() sends what was held. */
  get flushing(): boolean {
    return this.sending;
  }

  /** Runs `action` once release() has sent everything held (a barge-in during the flush waits for it). */
  afterFlush(action: () => void): true {
    this.afterSending.push(action);
    return true;
  }

  push(event: ServerEventBody): void {
    if (this.state === 'holding') this.events.push(event);
  }

  /** The run ended while held: `settle` (response.done and the commit) runs when it is adopted, never if discarded. */
  deferSettle(settle: () => void): void {
    this.deferred = settle;
  }

  /** Adopted: sends everything held, in order, then ends the run if it had ended, and lets its tools run. */
  release(send: (event: ServerEventBody) => void): void {
    if (this.state !== 'holding') return;
    this.state = 'released';
    const events = this.events;
    this.events = [];
    // Sent whole, so the deltas add up to response.done's text even if a send causes a barge-in.
    this.sending = true;
    for (const event of events) send(event);
    this.sending = false;
    const settle = this.deferred;
    this.deferred = null;
    settle?.();
    for (const action of this.afterSending.splice(0)) action();
    this.openGate(true);
  }

  /** Discarded: nothing held is ever sent, the deferred end never runs, and held tool calls never start. */
  drop(): void {
    if (this.state !== 'holding') return;
    this.state = 'dropped';
    this.events = [];
    this.deferred = null;
    this.openGate(false);
  }
}
