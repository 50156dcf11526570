// The session mirror's state machine on its own: every state is reachable through the moves the writers make,
// exactly the moves in MIRROR_TRANSITIONS are accepted (any other throws and changes nothing), and a stale
// mirror waits for its retry timer ('backoff') only while that timer is armed.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HostedSession } from '../../src/hosting/session-registry.js';
import { MIRROR_TRANSITIONS, SessionMirror, type MirrorState } from '../../src/cluster/session-mirror.js';

const STATES = Object.keys(MIRROR_TRANSITIONS) as MirrorState[];

function fakeEntry(): HostedSession {
  const json = JSON.stringify({ type: 'session.ready', sessionId: 's1', resumeToken: 'secret' });
  return { session: { id: 's1' }, log: { buffered: () => [{ seq: 1, json }] } } as unknown as HostedSession;
}

/** The calls (as the writers make them) that bring a fresh mirror to each state. */
const PATHS: Record<MirrorState, readonly ((m: SessionMirror) => void)[]> = {
  dirty: [],
  current: [(m) => m.wrote()],
  stale: [(m) => m.markStale()],
  backoff: [(m) => m.markStale(), (m) => m.armRetry(1_000, () => undefined)],
  rewriting: [(m) => m.startRewrite()],
  'rewriting:dirty': [(m) => m.startRewrite(), (m) => m.markDirty()],
  'rewriting:stale': [(m) => m.startRewrite(), (m) => m.markStale()],
  releasing: [(m) => m.wrote(), (m) => m.startRelease()],
  'releasing:dirty': [(m) => m.startRelease()],
  'releasing:stale': [(m) => m.markStale(), (m) => m.startRelease()],
  forgotten: [(m) => m.forget(false)],
};

function reach(state: MirrorState): SessionMirror {
  const mirror = new SessionMirror(fakeEntry());
  for (const step of PATHS[state]) step(mirror);
  return mirror;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('session mirror: the transition guard', () => {
  it('reaches every state', () => {
    for (const state of STATES) expect(reach(state).state).toBe(state);
  });

  it('accepts exactly the moves in the table; any other throws and leaves the state as it was', () => {
    for (const from of STATES) {
      for (const to of STATES) {
        const mirror = reach(from);
        if (MIRROR_TRANSITIONS[from].includes(to)) {
          mirror.transition(to);
          expect(mirror.state).toBe(to);
        } else {
          expect(() => mirror.transition(to), `${from} → ${to}`).toThrow(/illegal transition/);
          expect(mirror.state).toBe(from);
        }
      }
    }
  });

  it('refuses to call off or fail a release that is not under way', () => {
    for (const state of STATES.filter((s) => !s.startsWith('releasing'))) {
      expect(() => reach(state).releaseCalledOff()).toThrow();
      expect(() => reach(state).releaseFailed()).toThrow();
    }
    expect(() => reach('forgotten').startRelease()).toThrow(/cannot release/);
  });

  it('starts owing its state, with the resume token dropped from the events it will write', () => {
    const mirror = new SessionMirror(fakeEntry());
    expect(mirror.state).toBe('dirty');
    expect(mirror.pending[0]?.json).not.toContain('secret');
  });
});

describe('session mirror: what happens in flight is kept for afterwards', () => {
  it('a rewrite lands into what happened meanwhile', () => {
    const mirror = reach('dirty');
    mirror.startRewrite();
    expect(mirror.owesState).toBe(false);
    mirror.markDirty();
    expect(mirror.state).toBe('rewriting:dirty');
    mirror.rewriteEnded();
    expect(mirror.state).toBe('dirty');
    mirror.startRewrite();
    mirror.markDirty();
    mirror.markStale();
    mirror.markDirty();
    expect(mirror.state).toBe('rewriting:stale');
    mirror.rewriteEnded();
    expect(mirror.state).toBe('stale');
  });

  it('backs off only while the retry timer is armed, and goes back to stale when it fires', () => {
    const fired = vi.fn();
    const mirror = reach('stale');
    mirror.armRetry(1_000, fired);
    expect(mirror.state).toBe('backoff');
    mirror.markStale();
    expect(mirror.state).toBe('backoff');
    vi.advanceTimersByTime(1_000);
    expect(fired).toHaveBeenCalledOnce();
    expect(mirror.state).toBe('stale');
    expect(mirror.retryArmed).toBe(false);
  });

  it('a release called off goes back to what the store lacks, a failed one owes the whole session', () => {
    const dirty = reach('releasing');
    dirty.markDirty();
    dirty.releaseCalledOff();
    expect(dirty.state).toBe('dirty');
    const waiting = reach('backoff');
    waiting.startRelease();
    expect(waiting.state).toBe('releasing:stale');
    waiting.releaseCalledOff();
    expect(waiting.state).toBe('backoff');
    const failed = reach('releasing:dirty');
    failed.releaseFailed();
    expect(failed.state).toBe('stale');
  });

  it('forgetting: a release under way goes on; a final release keeps what is owed; otherwise nothing more', () => {
    const releasing = reach('releasing:dirty');
    expect(releasing.forget(false)).toBe(true);
    expect(releasing.state).toBe('releasing:dirty');
    const final = reach('backoff');
    expect(final.forget(true)).toBe(false);
    expect(final.state).toBe('releasing:stale');
    expect(final.retryArmed).toBe(false);
    const gone = reach('rewriting');
    expect(gone.forget(false)).toBe(false);
    gone.markStale();
    gone.markDirty();
    gone.rewriteEnded();
    expect(gone.state).toBe('forgotten');
  });
});
