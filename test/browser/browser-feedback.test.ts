// Ratings and the answering model in the browser page (protocol 1.3): each finished reply names the model that
// answered (two after a hand-off to a deeper model), and its thumbs send `feedback` and show as pressed once the
// server confirmed; a rating the server cannot take (a reply of an earlier session) gets a quiet note.
import { describe, expect, it } from 'vitest';
import { startSimulator } from '../../src/simulator/server.js';
import { LAST_REPLY_DONE, useBrowserRig, VoicePage, type OpenOptions } from './fixture.js';
import { startGatewayAt } from './gateway-at.js';
import { startStack, type Stack } from '../helpers.js';

const rig = useBrowserRig();

async function open(url: string, options: OpenOptions = {}): Promise<VoicePage> {
  const page = rig.track(await VoicePage.open(rig.browser, url, { speech: { autoFinishMsPerChar: 1 }, ...options }));
  await page.connected();
  return page;
}

async function stackUp(): Promise<Stack> {
  const stack = await startStack();
  rig.cleanups.push(() => stack.close());
  return stack;
}

async function type(p: VoicePage, text: string, replies: number): Promise<void> {
  await p.page.fill('#text', text);
  await p.page.press('#text', 'Enter');
  await p.until(`document.querySelectorAll('#log .assistant').length === ${replies} && ${LAST_REPLY_DONE}`);
}

/** The model label of reply `index`: what is shown, its title, and what a screen reader hears. */
function modelOf(p: VoicePage, index: number): Promise<{ shown: string; title: string; text: string } | null> {
  return p.eval(`(() => {
    const label = document.querySelectorAll('#log .assistant')[${index}]?.querySelector('.meta .model');
    return label && { shown: label.querySelector('.model-name').textContent, title: label.title, text: label.textContent };
  })()`);
}

const pressed = (p: VoicePage, index: number): Promise<string[]> =>
  p.eval(`[...document.querySelectorAll('#log .assistant')[${index}].querySelectorAll('.thumb')]
    .map((b) => b.getAttribute('aria-label') + '=' + b.getAttribute('aria-pressed'))`);

describe('ratings and the answering model', () => {
  it('names the model under a reply, and thumbs down sends feedback and shows pressed once confirmed', async () => {
    const stack = await stackUp();
    stack.simulator.enqueue({ reply: 'Paris is the capital of France.' });
    const p = await open(stack.httpUrl);
    await type(p, 'What is the capital of France?', 1);
    const done = p.receivedOfType('response.done')[0];
    expect(done?.models).toEqual(['asi1-mini']);
    expect(await modelOf(p, 0)).toEqual({
      shown: 'asi1-mini',
      title: 'Answered by asi1-mini',
      text: 'asi1-mini: answered by asi1-mini',
    });
    expect((await p.replies())[0]).toMatchObject({
      timings: expect.stringMatching(/^first token \d+ ms · first speech \d+ ms$/),
      model: 'asi1-mini',
    });
    expect(await pressed(p, 0)).toEqual(['Good answer=false', 'Bad answer=false']);

    // Keyboard: the thumbs are buttons in the tab order, named for what they say.
    const bad = p.page.getByRole('button', { name: 'Bad answer' });
    expect(await p.page.getByRole('group', { name: 'Rate this reply' }).count()).toBe(1);
    await bad.focus();
    await p.page.keyboard.press('Enter');
    const feedback = await p.waitForSent((f) => f.type === 'feedback', 'feedback');
    expect(feedback).toMatchObject({ responseId: done?.responseId, rating: 'down' });
    expect(feedback).not.toHaveProperty('comment');
    await p.waitForReceived((f) => f.type === 'feedback.received', 'feedback.received');
    await p.until(`document.querySelector('#log .thumb.down').getAttribute('aria-pressed') === 'true'`);
    expect(await pressed(p, 0)).toEqual(['Good answer=false', 'Bad answer=true']);
    expect(await p.eval<boolean>(`document.activeElement.matches('.thumb.down')`)).toBe(true);

    // A second rating replaces the first.
    await p.page.getByRole('button', { name: 'Good answer' }).click();
    await p.waitForReceived(
      (f) => f.type === 'feedback.received' && p.receivedOfType('feedback.received').indexOf(f) === 1,
      'the second feedback.received',
    );
    await p.until(`document.querySelector('#log .thumb.up').getAttribute('aria-pressed') === 'true'`);
    expect(await pressed(p, 0)).toEqual(['Good answer=true', 'Bad answer=false']);
    expect(p.sentOfType('feedback').map((f) => f.rating)).toEqual(['down', 'up']);
    expect(await p.eval<number>(`document.querySelectorAll('#log .notice').length`)).toBe(0);
  });

  it('shows "asi1-mini → asi1" under a reply handed to the deeper model', async () => {
    const stack = await stackUp();
    stack.simulator.enqueue(
      { toolCalls: [{ name: 'consult_deeper_model', arguments: '{"question":"why"}' }] },
      { reply: 'The Moon pulls the oceans, and the Earth turns beneath the bulge.' },
    );
    const p = await open(stack.httpUrl);
    await type(p, 'Explain in depth how tides work', 1);
    const done = p.receivedOfType('response.done')[0];
    expect(done?.models).toEqual(['asi1-mini', 'asi1']);
    expect(p.receivedOfType('response.tool_call')).toMatchObject([{ name: 'consult_deeper_model', runsOn: 'server' }]);
    expect(await modelOf(p, 0)).toEqual({
      shown: 'asi1-mini → asi1',
      title: 'Handed to asi1 for a deeper answer',
      text: 'asi1-mini → asi1: answered by asi1-mini, handed to asi1 for a deeper answer',
    });
    expect(await p.eval<boolean>(`document.querySelector('#log .model').classList.contains('handed-off')`)).toBe(true);
    // The next, plain reply is asi1-mini's alone.
    stack.simulator.enqueue({ reply: 'You are welcome.' });
    await type(p, 'Thanks', 2);
    expect((await modelOf(p, 1))?.shown).toBe('asi1-mini');
    await p.page.setViewportSize({ width: 390, height: 844 });
    await p.screenshot('feedback-mobile.png');
  });

  it('shows no model label for a gateway older than protocol 1.3', async () => {
    const stack = await stackUp();
    const p = await open(stack.httpUrl, { proxy: true });
    // A 1.2 gateway's session.ready, in place of the real one (the page takes it as a new session).
    p.inject({
      type: 'session.ready',
      sessionId: 'old',
      protocol: 1,
      minor: 2,
      model: 'asi1-mini',
      upstream: 'simulator',
      limits: {},
    });
    await type(p, 'Hello', 1);
    expect(await modelOf(p, 0)).toBeNull();
    expect(await p.eval<number>(`document.querySelectorAll('#log .thumb').length`)).toBe(0);
  });

  it('notes quietly that a reply of an earlier session cannot be rated', async () => {
    const simulator = await startSimulator({ port: 0, host: '127.0.0.1', defaults: { ttftMs: 0, interTokenMs: 0 } });
    rig.cleanups.push(() => simulator.close());
    const first = await startGatewayAt(simulator.url, 0);
    const p = await open(first.httpUrl);
    await type(p, 'Before the restart', 1);
    await first.close();
    await p.until(`document.getElementById('connection').dataset.connection === 'waiting'`);
    const second = await startGatewayAt(simulator.url, first.port);
    rig.cleanups.push(() => second.close());
    await p.page.click('#reconnect');
    await p.until(`document.querySelector('#log .notice')?.textContent.includes('new session')`);

    await p.page.getByRole('button', { name: 'Bad answer' }).click();
    const feedback = await p.waitForSent((f) => f.type === 'feedback', 'feedback');
    const error = await p.waitForReceived((f) => f.type === 'error' && f.eventId === feedback.eventId, 'the error');
    expect(error).toMatchObject({ code: 'GW_UNKNOWN_RESPONSE', eventId: feedback.eventId });
    await p.until(`document.querySelector('#log .rating-note')?.textContent !== ''`);
    expect(await p.eval<string>(`document.querySelector('#log .rating-note').textContent`)).toBe(
      'The server no longer has this reply, so it cannot be rated.',
    );
    expect(await pressed(p, 0)).toEqual(['Good answer=false', 'Bad answer=false']);
    expect(
      await p.eval<string[]>(
        `[...document.querySelectorAll('#log .thumb')].map((b) => b.getAttribute('aria-disabled'))`,
      ),
    ).toEqual(['true', 'true']);
    // Quiet: only the reconnect notice is in the log, and nothing in the notice area.
    expect(await p.eval<number>(`document.querySelectorAll('#log .notice').length`)).toBe(1);
    expect(await p.eval<boolean>(`document.getElementById('notice').hidden`)).toBe(true);
  });
});
