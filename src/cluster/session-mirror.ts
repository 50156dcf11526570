// One hosted session's mirror in the shared store: the events not written yet, and ONE state saying what the
// store lacks and which write is under way, moved only along MIRROR_TRANSITIONS. Owns no Redis call: the
// MirrorWriter and the HandOff issue the writes and report their outcomes here.
import type { LoggedEvent } from '../hosting/event-log.js';
import type { HostedSession } from '../hosting/session-registry.js';

/**
 * What the store lacks, and what is under way:
 * - current: nothing but `pending` (events are written once per tick);
 * - dirty: the session's state too (its snapshot or attach count changed);
 * - stale: Redis missed writes: the next flush rewrites the whole session (state included);
 * - backoff: stale, but Redis refused the last write while up: the rewrite waits for the retry timer;
 * - rewriting: a whole rewrite is in flight; newer events wait in `pending` so none lands before it;
 * - releasing: ownership is being passed on (a hand-off, or the final release of a session forgotten here);
 *   nothing else is written meanwhile;
 * - forgotten: gone from here, and nothing of it is this instance's to write any more.
 * The ':dirty' and ':stale' suffixes record what happened while a rewrite or release was in flight: the mirror
 * is that once the rewrite has landed, or the release is called off.
 */
export type MirrorState =
  | 'current'
  | 'dirty'
  | 'stale'
  | 'backoff'
  | 'rewriting'
  | 'rewriting:dirty'
  | 'rewriting:stale'
  | 'releasing'
  | 'releasing:dirty'
  | 'releasing:stale'
  | 'forgotten';

/** Every legal move; anything else is a bug in the caller and throws. */
export const MIRROR_TRANSITIONS: Readonly<Record<MirrorState, readonly MirrorState[]>> = {
  current: ['dirty', 'stale', 'backoff', 'rewriting', 'releasing', 'forgotten'],
  dirty: ['current', 'stale', 'backoff', 'rewriting', 'releasing:dirty', 'forgotten'],
  stale: ['backoff', 'rewriting', 'releasing:stale', 'forgotten'],
  backoff: ['stale', 'rewriting', 'releasing:stale', 'forgotten'],
  rewriting: ['rewriting:dirty', 'rewriting:stale', 'current', 'releasing', 'forgotten'],
  'rewriting:dirty': ['rewriting:stale', 'dirty', 'releasing:dirty', 'forgotten'],
  'rewriting:stale': ['stale', 'backoff', 'releasing:stale', 'forgotten'],
  releasing: ['releasing:dirty', 'releasing:stale', 'current', 'stale', 'backoff'],
  'releasing:dirty': ['releasing:stale', 'dirty', 'stale', 'backoff'],
  'releasing:stale': ['stale', 'backoff'],
  forgotten: [],
};

/** Where a rewrite or release in flight leaves the mirror (stale resolves to 'backoff' while a retry waits). */
const SETTLED: Partial<Record<MirrorState, 'current' | 'dirty' | 'stale'>> = {
  rewriting: 'current',
  'rewriting:dirty': 'dirty',
  'rewriting:stale': 'stale',
  releasing: 'current',
  'releasing:dirty': 'dirty',
  'releasing:stale': 'stale',
};

/** Where a state change leaves each state that does not owe the state already. */
const DIRTIED: Partial<Record<MirrorState, MirrorState>> = {
  current: 'dirty',
  rewriting: 'rewriting:dirty',
  releasing: 'releasing:dirty',
};

/** Where a missed write leaves each state that is not stale already ('stale' resolves as in SETTLED). */
const STALED: Partial<Record<MirrorState, MirrorState>> = {
  current: 'stale',
  dirty: 'stale',
  rewriting: 'rewriting:stale',
  'rewriting:dirty': 'rewriting:stale',
  releasing: 'releasing:stale',
  'releasing:dirty': 'releasing:stale',
};

/** The releasing state that keeps what the store lacks (for when the release is called off). */
const RELEASING_FROM: Partial<Record<MirrorState, MirrorState>> = {
  current: 'releasing',
  dirty: 'releasing:dirty',
  stale: 'releasing:stale',
  backoff: 'releasing:stale',
  rewriting: 'releasing',
  'rewriting:dirty': 'releasing:dirty',
  'rewriting:stale': 'releasing:stale',
};

export class SessionMirror {
  /** Events appended since the last write (a rewrite or release takes all of them instead when stale). */
  pending: LoggedEvent[];
  private current: MirrorState = 'dirty';
  /** Held only to cancel it: whether the mirror waits for it is the state's business ('backoff'). */
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(readonly entry: HostedSession) {
    this.pending = mirrored(entry);
  }

  get state(): MirrorState {
    return this.current;
  }

  get isReleasing(): boolean {
    return this.current.startsWith('releasing');
  }

  /** A rewrite or release is in flight: flushes leave the mirror alone. */
  get isBusy(): boolean {
    return this.isReleasing || this.current.startsWith('rewriting');
  }

  /** The store missed writes: the next write must bring the whole session. */
  get isStale(): boolean {
    return this.current === 'stale' || this.current === 'backoff' || this.current.endsWith(':stale');
  }

  /** The store lacks the session's state (stale implies it: the rewrite brings it). */
  get owesState(): boolean {
    return this.isStale || this.current === 'dirty' || this.current.endsWith(':dirty');
  }

  get retryArmed(): boolean {
    return this.retryTimer !== null;
  }

  /** Moves to `next`; throws on a move MIRROR_TRANSITIONS does not allow. */
  transition(next: MirrorState): void {
    if (!MIRROR_TRANSITIONS[this.current].includes(next)) {
      throw new Error(`session mirror ${this.entry.session.id}: illegal transition ${this.current} → ${next}`);
    }
    this.current = next;
  }

  /** The session's state changed: the next write carries it. */
  markDirty(): void {
    const next = DIRTIED[this.current];
    if (next !== undefined) this.transition(next);
  }

  /** Redis missed a write (it was down, refused it, or lost the record): the whole session is owed. */
  /** Nothing changes once stale already, or forgotten (nothing more is written for it). */
  markStale(): void {
    const next = STALED[this.current];
    if (next !== undefined) this.transition(next === 'stale' ? this.staleOrBackoff() : next);
  }

  /** An incremental write (pending events, and the state if dirty) was issued. */
  wrote(): void {
    if (this.current === 'dirty') this.transition('current');
  }

  startRewrite(): void {
    this.transition('rewriting');
  }

  /** The rewrite's reply arrived (ok or not): back to what happened meanwhile. Nothing to do once releasing. */
  rewriteEnded(): void {
    if (this.current.startsWith('rewriting')) this.settle();
  }

  startRelease(): void {
    const next = RELEASING_FROM[this.current];
    if (next === undefined)
      throw new Error(`session mirror ${this.entry.session.id}: cannot release from ${this.current}`);
    this.transition(next);
  }

  /** A response started before the release went out: it happens once that response is over. */
  releaseCalledOff(): void {
    this.expectReleasing('call off');
    this.settle();
  }

  /** The store did not take the release: the session stays here, and the store is owed all of it. */
  releaseFailed(): void {
    this.expectReleasing('fail');
    this.transition(this.staleOrBackoff());
  }

  /**
   * The session is gone from here. `finalRelease`: its final state still goes to the store (released to the
   * instance it moves to, or to nobody). Returns whether a release was already under way (then nothing changes).
   */
  forget(finalRelease: boolean): boolean {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.isReleasing) return true;
    if (finalRelease) this.startRelease();
    else this.transition('forgotten');
    return false;
  }

  /** Rewrites wait `ms` (a stale mirror backs off); then `fire` runs. One timer at a time. */
  armRetry(ms: number, fire: () => void): void {
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.current === 'backoff') this.transition('stale');
      fire();
    }, ms);
    this.retryTimer.unref();
    if (this.current === 'stale') this.transition('backoff');
  }

  private settle(): void {
    const settled = SETTLED[this.current];
    if (settled === undefined)
      throw new Error(`session mirror ${this.entry.session.id}: nothing in flight in ${this.current}`);
    this.transition(settled === 'stale' ? this.staleOrBackoff() : settled);
  }

  private expectReleasing(what: string): void {
    if (!this.isReleasing)
      throw new Error(`session mirror ${this.entry.session.id}: no release to ${what} in ${this.current}`);
  }

  private staleOrBackoff(): 'stale' | 'backoff' {
    return this.retryTimer === null ? 'stale' : 'backoff';
  }
}

/** Every event the session's log still holds, as the store gets them (a rewrite's whole stream). */
export function mirrored(entry: HostedSession): LoggedEvent[] {
  return entry.log.buffered().map(withoutResumeToken);
}

/** session.ready carries the resume token: Redis keeps only its digest, so the mirrored copy drops it. */
export function withoutResumeToken(event: LoggedEvent): LoggedEvent {
  if (!event.json.startsWith('{"type":"session.ready"')) return event;
  const { resumeToken: _token, ...rest } = JSON.parse(event.json) as Record<string, unknown>;
  return { seq: event.seq, json: JSON.stringify(rest) };
}
