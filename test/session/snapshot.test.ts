// What moves with a session to another instance: settings, history and the response counter. A session built
// from a snapshot (read back through parseSnapshot, as from the shared store) carries on where the old one stopped.
import { describe, expect, it } from 'vitest';
import { parseSnapshot, type SessionSnapshot } from '../../src/session/snapshot.js';
import { createSession, historyOf, turn } from './harness.js';
import { answer, Gate, words } from './scripted-chat.js';

const LOCATION_TOOL = {
  name: 'get_location',
  description: 'Where the user is',
  parameters: { type: 'object', properties: {} },
};

describe('session core: snapshot and restore', () => {
  it('reads a snapshot written before protocol 1.2 (no turnDetection) with the defaults, and SPECULATION=off wins', () => {
    const a = createSession();
    a.session.handle({ type: 'session.update', turnDetection: { serverCommit: { stableMs: 900 } } });
    const { turnDetection: _dropped, ...older } = a.session.snapshot().settings;
    const stored = parseSnapshot(JSON.stringify({ ...a.session.snapshot(), settings: older }));
    expect(stored).not.toBeNull();
    const b = createSession({ restore: stored as SessionSnapshot });
    expect(b.session.currentSettings.turnDetection).toEqual({ speculate: true, serverCommit: null });
    const c = createSession({ restore: a.session.snapshot(), env: { SPECULATION: 'off' } });
    expect(c.session.currentSettings.turnDetection).toEqual({ speculate: false, serverCommit: { stableMs: 900 } });
  });

  it('a restored session keeps history and settings, and continues numbering responses', async () => {
    const a = createSession();
    a.session.handle({
      type: 'session.update',
      model: 'asi1',
      instructions: 'Be brief.',
      temperature: 0.5,
      maxOutputTokens: 50,
      tools: [LOCATION_TOOL],
      turnDetection: { speculate: false, serverCommit: { stableMs: 700 } },
    });
    a.chat.enqueue(answer('Paris.'), answer('Berlin.'));
    const first = await turn(a, 'Capital of France?');
    const second = await turn(a, 'And Germany?');
    expect([first.responseId, second.responseId].map((id) => id.split('_')[1])).toEqual(['1', '2']);

    const stored = parseSnapshot(JSON.stringify(a.session.snapshot()));
    expect(stored).not.toBeNull();
    const b = createSession({ restore: stored as SessionSnapshot });
    expect(b.recorder.events[0]).toMatchObject({ type: 'session.ready', model: 'asi1' });
    expect(b.session.currentSettings).toEqual(a.session.currentSettings);
    expect(b.session.isPristine).toBe(false);

    b.chat.enqueue(answer('Rome.'));
    const third = await turn(b, 'And Italy?');
    expect(third.responseId).toMatch(/^resp_3_/);
    expect(b.recorder.ofType('response.created')[0]?.turnId).toBe('turn_3');
    const request = b.chat.requests[0];
    expect(request).toMatchObject({ model: 'asi1', temperature: 0.5, maxTokens: 50 });
    expect(request?.tools?.map((t) => t.function.name)).toContain('get_location');
    expect(request?.messages[0]).toEqual({ role: 'system', content: 'Be brief.' });
    expect(historyOf(request)).toEqual([
      { role: 'user', content: 'Capital of France?' },
      { role: 'assistant', content: 'Paris.' },
      { role: 'user', content: 'And Germany?' },
      { role: 'assistant', content: 'Berlin.' },
      { role: 'user', content: 'And Italy?' },
    ]);
    expect(b.session.snapshot().responseCounter).toBe(3);
  });

  it('a snapshot holds what the user said as soon as the turn is accepted, and the reply once it is committed', async () => {
    const snapshots: SessionSnapshot[] = [];
    const holder: { take?: () => SessionSnapshot } = {};
    const gate = new Gate();
    const h = createSession({ onStateChange: () => snapshots.push(holder.take?.() as SessionSnapshot) });
    holder.take = () => h.session.snapshot();
    h.chat.enqueue({ beats: [...words('Hello there.'), gate, { type: 'finish', reason: 'stop' }] });
    h.session.handle({ type: 'turn', text: 'Hi' });
    await gate.reached;
    expect(snapshots.at(-1)?.turns).toEqual([[{ role: 'user', content: 'Hi' }]]);
    gate.release();
    await h.session.whenIdle();
    expect(snapshots.at(-1)?.turns).toEqual([
      [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello there.' },
      ],
    ]);
    expect(snapshots.at(-1)?.responseCounter).toBe(1);
  });

  it('a snapshot is a copy: later changes to the session do not show in it', async () => {
    const h = createSession();
    h.chat.enqueue(answer('One.'));
    await turn(h, 'First');
    const snapshot = h.session.snapshot();
    const before = structuredClone(snapshot);
    h.session.handle({ type: 'session.update', instructions: 'Changed.', tools: [LOCATION_TOOL] });
    h.chat.enqueue(answer('Two.'));
    await turn(h, 'Second');
    expect(snapshot).toEqual(before);
  });
});
