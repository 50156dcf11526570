// Answering early (protocol 1.2) in the browser page, with scripted recognition: interim words go to the server
// as turn.interim under the utterance's turnId and a speculative reply is marked "early"; with "Answer as soon as
// I pause" the server commits the turn itself and replies before any final result, which is then absorbed (no
// second reply, no second bubble) or, when the user went on, answered whole; and hands-free speech over the
// assistant stays a barge-in, never an early turn.
import { describe, expect, it } from 'vitest';
import { LAST_REPLY_DONE, useBrowserRig, VoicePage, type Frame, type OpenOptions } from './fixture.js';
import { startStack, until, type Stack } from '../helpers.js';

const REPLY = 'The first sentence is here. The second sentence is a little longer than that. The third one ends it.';

const rig = useBrowserRig();

/** The gateway (speculating as soon as an interim sounds finished) and the page, connected. */
async function open(options: OpenOptions = {}): Promise<{ s: Stack; p: VoicePage }> {
  const s = await startStack({ env: { SPECULATION_STABLE_MS: '0' } });
  rig.cleanups.push(() => s.close());
  const p = rig.track(await VoicePage.open(rig.browser, s.httpUrl, options));
  await p.connected();
  return { s, p };
}

/** Ticks "Answer as soon as I pause" (and hands-free) and waits until the server confirmed its own end of turn. */
async function answerOnPause(p: VoicePage, { handsFree = false } = {}): Promise<void> {
  await p.page.click('.settings summary');
  if (handsFree) await p.page.check('#hands-free');
  await p.page.check('#answer-on-pause');
  await p.waitForReceived(
    (f) => f.type === 'session.updated' && (f.turnDetection as { serverCommit: unknown })?.serverCommit !== null,
    'session.updated with serverCommit',
  );
  await p.page.click('.settings summary');
}

const userBubbles = (p: VoicePage): Promise<string[]> =>
  p.eval(`[...document.querySelectorAll('#log .user .bubble')].map((b) => b.textContent)`);

const doneOf = (p: VoicePage): Frame[] => p.receivedOfType('response.done');

describe('answering early', () => {
  it('sends interim words under the utterance turnId, and marks a reply that was answered speculatively', async () => {
    const { s, p } = await open({ speech: { autoFinishMsPerChar: 1 } });
    await p.startTalking();
    await p.interim('what is the capital of');
    await p.interim('what is the capital of France');
    await p.interim('what is the capital of France'); // unchanged: not sent again
    const sent = await p.waitForSent(
      (f) => f.type === 'turn.interim' && f.text === 'what is the capital of France',
      'the second interim',
    );
    // The gateway starts a reply on the stable interim and holds it: nothing is shown before the final.
    await until(() => s.simulator.requests.length === 1);
    expect(p.receivedOfType('response.created')).toEqual([]);
    expect(await p.eval<number>(`document.querySelectorAll('#log .assistant').length`)).toBe(0);

    await p.final('what is the capital of France');
    const turn = await p.waitForSent((f) => f.type === 'turn', 'the final turn');
    await p.until(LAST_REPLY_DONE);

    const interims = p.sentOfType('turn.interim');
    expect(interims.map((f) => f.text)).toEqual(['what is the capital of', 'what is the capital of France']);
    expect(new Set(interims.map((f) => f.turnId))).toEqual(new Set([sent.turnId]));
    expect(turn).toMatchObject({ text: 'what is the capital of France', turnId: sent.turnId });
    expect(s.simulator.requests).toHaveLength(1); // the speculation was adopted, not asked again
    expect(doneOf(p)[0]?.timings).toMatchObject({ speculative: true });
    const early = await p.eval<{ text: string; title: string } | null>(`(() => {
      const badge = document.querySelector('#log .assistant[data-early="true"] .meta .early');
      return badge && { text: badge.textContent, title: badge.title };
    })()`);
    expect(early?.title).toBe('Answered before you finished (speculative)');
    expect(early?.text).toBe('early: answered before you finished (speculative)');
    expect(await userBubbles(p)).toEqual(['what is the capital of France']);

    // A typed turn is not speculative: no badge on its reply.
    await p.page.fill('#text', 'And of Spain?');
    await p.page.press('#text', 'Enter');
    await p.until(`document.querySelectorAll('#log .assistant').length === 2 && ${LAST_REPLY_DONE}`);
    expect(await p.eval<number>(`document.querySelectorAll('#log .early').length`)).toBe(1);
  });

  it('with "Answer as soon as I pause", replies before any final result, and absorbs the final', async () => {
    const { s, p } = await open();
    await answerOnPause(p, { handsFree: true });
    const update = p.sentOfType('session.update').at(-1);
    expect(update?.turnDetection).toEqual({ speculate: true, serverCommit: { stableMs: 600 } });
    expect(await p.eval<string>(`localStorage.getItem('asi1-voice.settings.v1')`)).toContain('"answerOnPause":true');

    // Hands-free, so the mic stays open while the early reply speaks and the recognizer's final can still come.
    s.simulator.enqueue({ reply: REPLY, gate: { name: 'hold', afterChunks: 3 } });
    await p.startTalking();
    await p.interim('tell me three things');
    const committed = await p.waitForReceived((f) => f.type === 'turn.committed', 'turn.committed');
    const interim = p.sentOfType('turn.interim')[0];
    expect(committed).toMatchObject({ text: 'tell me three things', by: 'server', turnId: interim?.turnId });
    await s.simulator.gate('hold').reached;
    await p.until(`document.querySelector('#log .assistant .run')?.textContent === 'The first sentence '`);
    await p.until(`window.__speechTest.current === 'The first sentence'`);
    expect(await userBubbles(p)).toEqual(['tell me three things']);
    expect(p.sentOfType('turn')).toEqual([]); // no final yet: the server ended the turn on the pause

    // The recognizer catches up with the same words: that is the user's turn, not a barge-in over its reply.
    await p.interim('tell me three things', 0.9);
    // Its final comes later still: it only confirms the turn.
    await p.final('Tell me three things.');
    const turn = await p.waitForSent((f) => f.type === 'turn', 'the final');
    expect(turn.turnId).toBe(interim?.turnId);
    const absorbed = await p.waitForReceived((f) => f.type === 'turn.absorbed', 'turn.absorbed');
    expect(absorbed).toMatchObject({ turnId: interim?.turnId, committedTurnId: committed.turnId });
    expect(p.sentOfType('response.cancel')).toEqual([]);
    await p.setAutoFinish(1);
    s.simulator.gate('hold').release();
    await p.until(LAST_REPLY_DONE);

    expect(p.receivedOfType('response.created')).toHaveLength(1);
    expect(p.sentOfType('turn.interim')).toHaveLength(1);
    expect(await userBubbles(p)).toEqual(['tell me three things']);
    const replies = await p.replies();
    expect(replies).toMatchObject([{ status: 'completed', text: REPLY }]);
    expect(doneOf(p)[0]?.timings).toMatchObject({ speculative: true });
    expect(replies[0]?.meta).toMatch(/^early: answered before you finished \(speculative\)first token/);
    expect((await p.spoken()).map((u) => u.text).join(' ')).toBe(REPLY);

    // Remembered: after a reload the page asks for it again as soon as it connects.
    const updates = p.sentOfType('session.update').length;
    await p.page.reload();
    await p.connected();
    const again = await p.waitForSent(
      (f) => f.type === 'session.update' && p.sentOfType('session.update').indexOf(f) >= updates,
      'session.update after the reload',
    );
    expect(again.turnDetection).toEqual({ speculate: true, serverCommit: { stableMs: 600 } });
    expect(await p.eval<boolean>(`document.getElementById('answer-on-pause').checked`)).toBe(true);
  });

  it('confirms the commit itself when the mic closes for the early reply before any final', async () => {
    const { p } = await open();
    await answerOnPause(p);
    await p.startTalking();
    await p.interim('tell me a story');
    const committed = await p.waitForReceived((f) => f.type === 'turn.committed', 'turn.committed');
    // Half-duplex: the reply speaks, the mic closes and the utterance ends without a final result.
    await p.until(`window.__speechTest.current !== null && !window.__speechTest.listening`);
    const turn = await p.waitForSent((f) => f.type === 'turn', 'the confirming turn');
    expect(turn).toMatchObject({ text: 'tell me a story', turnId: committed.turnId });
    await p.waitForReceived((f) => f.type === 'turn.absorbed', 'turn.absorbed');
    await p.setAutoFinish(1);
    await p.until(LAST_REPLY_DONE);
    expect(p.receivedOfType('response.created')).toHaveLength(1);
    expect(await userBubbles(p)).toEqual(['tell me a story']);
  });

  it('hands-free: going on over the early reply interrupts it, and the whole utterance is answered', async () => {
    const { s, p } = await open();
    await answerOnPause(p, { handsFree: true });
    s.simulator.enqueue({ reply: REPLY, gate: { name: 'hold', afterChunks: 3 } });
    await p.startTalking();
    await p.interim('what is the weather');
    const committed = await p.waitForReceived((f) => f.type === 'turn.committed', 'turn.committed');
    await p.until(`window.__speechTest.current === 'The first sentence'`);

    // The user had only paused: more words over the early reply cut it, like any barge-in.
    await p.interim('what is the weather in', 0.9);
    const first = p.receivedOfType('response.created')[0];
    const cancel = await p.waitForSent((f) => f.type === 'response.cancel', 'response.cancel');
    expect(cancel.responseId).toBe(first?.responseId);
    await p.until(`document.querySelector('#log .assistant').dataset.status === 'interrupted'`);
    await p.until('window.__speechTest.current === null');
    // Then the words go to the server, which answers the whole utterance.
    await p.setAutoFinish(1);
    await p.interim('what is the weather in Lisbon');
    await p.waitForSent((f) => f.type === 'turn.interim' && f.text === 'what is the weather in Lisbon', 'the interim');
    await p.final('what is the weather in Lisbon');
    await p.until(`document.querySelectorAll('#log .assistant').length === 2 && ${LAST_REPLY_DONE}`);
    s.simulator.gate('hold').release();

    const replies = await p.replies();
    expect(replies.map((r) => r.status)).toEqual(['interrupted', 'completed']);
    expect(replies[1]?.text).toContain('what is the weather in Lisbon');
    // One bubble for the whole utterance, as the server keeps it in the history.
    expect(await userBubbles(p)).toEqual(['what is the weather in Lisbon']);
    const turnIds = new Set([
      ...p.sentOfType('turn.interim').map((f) => f.turnId),
      ...p.sentOfType('turn').map((f) => f.turnId),
      ...p.receivedOfType('response.created').map((f) => f.turnId),
    ]);
    expect(turnIds).toEqual(new Set([committed.turnId]));
    expect(p.sentOfType('turn.interim').map((f) => f.text)).toEqual([
      'what is the weather',
      'what is the weather in Lisbon',
    ]);
  });

  it('going on before the early reply speaks stops it, and the server commits the whole utterance', async () => {
    const { s, p } = await open({ speech: { autoFinishMsPerChar: 1 } });
    await answerOnPause(p);
    s.simulator.enqueue({ reply: REPLY, gate: { name: 'hold', afterChunks: 0 } });
    await p.startTalking();
    await p.interim('what is the weather');
    const committed = await p.waitForReceived((f) => f.type === 'turn.committed', 'turn.committed');
    await p.until(`document.querySelector('#log .assistant')?.dataset.status === 'streaming'`);
    expect(await p.listening()).toBe(true); // half-duplex, but nothing is spoken yet

    await p.interim('what is the weather in Lisbon');
    const cancel = await p.waitForSent((f) => f.type === 'response.cancel', 'response.cancel');
    expect(cancel.responseId).toBe(p.receivedOfType('response.created')[0]?.responseId);
    const recommitted = await p.waitForReceived(
      (f) => f.type === 'turn.committed' && f.text === 'what is the weather in Lisbon',
      'the second turn.committed',
    );
    expect(recommitted.turnId).toBe(committed.turnId);
    // The new reply speaks, the mic closes, and the page confirms the whole utterance for the server.
    const turn = await p.waitForSent((f) => f.type === 'turn', 'the confirming turn');
    expect(turn).toMatchObject({ text: 'what is the weather in Lisbon', turnId: committed.turnId });
    await p.waitForReceived((f) => f.type === 'turn.absorbed', 'turn.absorbed');
    await p.until(`document.querySelectorAll('#log .assistant').length === 2 && ${LAST_REPLY_DONE}`);
    s.simulator.gate('hold').release();

    const replies = await p.replies();
    expect(replies.map((r) => r.status)).toEqual(['interrupted', 'completed']);
    expect(replies[1]?.text).toContain('what is the weather in Lisbon');
    expect(await userBubbles(p)).toEqual(['what is the weather in Lisbon']);
    expect(p.receivedOfType('response.created')).toHaveLength(2);
  });

  it('in hands-free mode, speech over the assistant is a barge-in, not an early turn', async () => {
    const { s, p } = await open();
    s.simulator.enqueue({ reply: REPLY, gate: { name: 'hold', afterChunks: 12 } });
    await p.page.click('.settings summary');
    await p.page.check('#hands-free');
    await p.startTalking();
    await p.final('Tell me three things'); // no interims: a speculation on them would take the scripted reply
    await p.until(`window.__speechTest.current === 'The first sentence is here.'`);
    const before = p.sentOfType('turn.interim').length;

    // Its own voice, heard by the mic: neither a barge-in nor an interim.
    await p.interim('the first sentence is here', 0.8);
    // The user talks over it: a barge-in, and the words do not go to the server as an early turn.
    await p.interim('wait stop I have');
    const cancel = await p.waitForSent((f) => f.type === 'response.cancel', 'response.cancel');
    expect(cancel.responseId).toBe(p.receivedOfType('response.created')[0]?.responseId);
    await p.until('window.__speechTest.current === null');
    expect(p.sentOfType('turn.interim')).toHaveLength(before);

    // Now the user has the floor: the words go on as an early turn, and the final carries the same turnId.
    await p.interim('wait stop I have a question');
    const interim = await p.waitForSent(
      (f) => f.type === 'turn.interim' && f.text === 'wait stop I have a question',
      'the interim after the barge-in',
    );
    await p.final('wait stop I have a question');
    const turn = await p.waitForSent((f) => f.text === 'wait stop I have a question' && f.type === 'turn', 'the turn');
    expect(turn.turnId).toBe(interim.turnId);
    expect(p.sentOfType('turn.interim').slice(before)).toHaveLength(1);
    expect(p.sentOfType('response.cancel')).toHaveLength(1);
    s.simulator.gate('hold').release();
  });
});
