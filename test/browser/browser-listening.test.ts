// Listening in the browser page, with scripted recognition: half-duplex closes the mic while the assistant
// speaks, Space and Esc barge in (not while typing), hands-free gating ignores echoes but not the user,
// the recogniser restarts without ever double-starting, and its fatal errors fall back to the text box.
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchBrowser, SPEECH_IDLE, VoicePage, type OpenOptions } from './fixture.js';
import { startStack, type Stack } from '../helpers.js';

const REPLY = 'The first sentence is here. The second sentence is a little longer than that. The third one ends it.';

let browser: Browser;
let stack: Stack;
let page: VoicePage | null = null;

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});
beforeEach(async () => {
  stack = await startStack();
});
afterEach(async () => {
  const errors = page?.errors ?? [];
  await page?.close();
  page = null;
  await stack.close();
  expect(errors).toEqual([]);
});

async function open(options: OpenOptions = {}): Promise<VoicePage> {
  page = await VoicePage.open(browser, stack.httpUrl, options);
  await page.connected();
  return page;
}

const turnTexts = (p: VoicePage): unknown[] => p.sentOfType('turn').map((f) => f.text);

describe('listening', () => {
  it('closes the mic while the assistant speaks; Space interrupts, on the Talk button too, but not while typing', async () => {
    stack.simulator.enqueue({ reply: REPLY }, { reply: REPLY });
    const p = await open();
    await p.startTalking();
    await p.say('Tell me three things');
    await p.until(`window.__speechTest.current === 'The first sentence is here.'`);
    expect(await p.listening()).toBe(false);

    // Space in the text box types a space; it does not interrupt.
    await p.page.click('#text');
    await p.page.keyboard.type('a b');
    expect(await p.eval<string>(`document.getElementById('text').value`)).toBe('a b');
    expect(await p.current()).toBe('The first sentence is here.');

    // Space on the focused Talk button: talking over the assistant is a barge-in. The reply finished
    // streaming already, so the cancel names it and the server truncates it to what was heard.
    await p.boundary(4, 'first'.length);
    await p.page.focus('#talk');
    await p.page.keyboard.press('Space');
    const created = p.receivedOfType('response.created')[0];
    const cancel = await p.waitForSent((f) => f.type === 'response.cancel', 'response.cancel');
    expect(cancel).toEqual({
      type: 'response.cancel',
      responseId: created?.responseId,
      heardChars: 'The first'.length,
    });
    await p.until(`window.__speechTest.current === null && window.__speechTest.listening`);
    expect(await p.state()).toBe('listening');

    await p.say('Go on');
    await p.until(`window.__speechTest.current === 'The first sentence is here.'`);
    const history = (stack.simulator.requests[1]?.body as { messages: { role: string; content: string }[] }).messages;
    expect(history.slice(-3)).toEqual([
      { role: 'user', content: 'Tell me three things' },
      { role: 'assistant', content: 'The first [interrupted by the user]' },
      { role: 'user', content: 'Go on' },
    ]);

    // Space anywhere else interrupts as well.
    await p.page.click('#conversation');
    await p.page.keyboard.press('Space');
    await p.until(`window.__speechTest.current === null && window.__speechTest.listening`);
    expect(p.sentOfType('response.cancel')).toHaveLength(2);
    expect(await p.eval<number>('window.__speechTest.doubleStarts')).toBe(0);
  });

  it('in hands-free mode ignores an echo of its own words, but a real interruption barges in', async () => {
    stack.simulator.enqueue({ reply: REPLY, gate: { name: 'hold', afterChunks: 12 } });
    const p = await open();
    await p.page.click('.settings summary');
    await p.page.check('#hands-free');
    await p.startTalking();
    await p.say('Tell me three things');
    await p.until(`window.__speechTest.current === 'The first sentence is here.'`);
    // Hands-free keeps the mic open while speaking.
    expect(await p.listening()).toBe(true);

    // The mic hears the speaker: interim and final echoes change nothing (checked synchronously in the page).
    await p.interim('the first sentence');
    await p.interim('the first sentence is here', 0.8);
    await p.final('The first sentence is here.');
    expect(await p.eval<number>('window.__speechTest.cancels')).toBe(0);
    expect(await p.current()).toBe('The first sentence is here.');

    // Too short to count as an interruption.
    await p.interim('hmm');
    expect(await p.current()).toBe('The first sentence is here.');

    // The user talks over it: a few words that are not the assistant's.
    await p.interim('wait stop I have');
    await p.until('window.__speechTest.current === null');
    const created = p.receivedOfType('response.created')[0];
    const cancel = await p.waitForSent((f) => f.type === 'response.cancel', 'response.cancel');
    expect(cancel.responseId).toBe(created?.responseId);
    await p.final('wait stop I have a question');
    await p.waitForSent((f) => f.type === 'turn' && f.text === 'wait stop I have a question', 'the second turn');
    expect(turnTexts(p)).toEqual(['Tell me three things', 'wait stop I have a question']);
    expect(p.sentOfType('response.cancel')).toHaveLength(1);
    stack.simulator.gate('hold').release();
    // The choice is remembered.
    expect(await p.eval<string>(`localStorage.getItem('asi1-voice.settings.v1')`)).toContain('"handsFree":true');
  });

  it('restarts recognition when the engine ends on its own, and never starts it twice', async () => {
    const p = await open({ clock: true });
    await p.startTalking();
    await p.eval('window.__speechTest.endRecognition()');
    await p.until('!window.__speechTest.listening');
    await p.page.clock.fastForward(1_000); // past the restart backoff
    await p.until('window.__speechTest.startCalls === 2 && window.__speechTest.listening');
    await p.eval(`window.__speechTest.recognitionError('no-speech')`);
    await p.until('!window.__speechTest.listening');
    await p.page.clock.fastForward(1_000);
    await p.until('window.__speechTest.startCalls === 3 && window.__speechTest.listening');
    // Talk again turns listening off; the engine stays off.
    await p.page.click('#talk');
    await p.until('!window.__speechTest.listening');
    expect(await p.eval<string>(`document.getElementById('talk').getAttribute('aria-pressed')`)).toBe('false');
    expect(await p.eval<number>('window.__speechTest.doubleStarts')).toBe(0);
  });

  it('retries network errors, then falls back to the text box with a clear message', async () => {
    const p = await open({ clock: true });
    await p.startTalking();
    for (let attempt = 1; attempt <= 3; attempt++) {
      await p.until(`window.__speechTest.startCalls === ${attempt} && window.__speechTest.listening`);
      await p.eval(`window.__speechTest.recognitionError('network')`);
      await p.until('!window.__speechTest.listening');
      await p.page.clock.fastForward(5_000); // past the growing backoff
    }
    await p.until(`!document.getElementById('notice').hidden`);
    expect(await p.eval<string>(`document.getElementById('notice').textContent`)).toMatch(/type your message/i);
    expect(await p.eval<string>(`document.getElementById('talk').getAttribute('aria-pressed')`)).toBe('false');
    expect(await p.eval<string>('document.activeElement.id')).toBe('text');
    expect(await p.eval<number>('window.__speechTest.startCalls')).toBe(3);
  });

  it('treats a blocked microphone as fatal and says how to fix it', async () => {
    const p = await open();
    await p.startTalking();
    await p.eval(`window.__speechTest.recognitionError('not-allowed')`);
    await p.until(`!document.getElementById('notice').hidden`);
    expect(await p.eval<string>(`document.getElementById('notice').textContent`)).toMatch(
      /microphone access is blocked/i,
    );
    // Not wanted any more, so nothing can restart it.
    expect(await p.eval<string>(`document.getElementById('talk').getAttribute('aria-pressed')`)).toBe('false');
    expect(await p.listening()).toBe(false);
  });

  it('remembers the chosen voice and speed, and speaks with them', async () => {
    const p = await open({ speech: { autoFinishMsPerChar: 1 } });
    await p.page.click('.settings summary');
    await p.until(`document.querySelectorAll('#voice option').length === 3`);
    await p.page.selectOption('#voice', { label: 'Test Voice UK (en-GB)' });
    await p.page.fill('#rate', '1.3');
    await p.page.reload();
    await p.connected();
    await p.page.click('.settings summary');
    await p.until(`document.querySelector('#voice option:checked')?.textContent === 'Test Voice UK (en-GB)'`);
    expect(await p.eval<string>(`document.getElementById('rate').value`)).toBe('1.3');
    expect(await p.eval<string>(`document.getElementById('rate-value').textContent`)).toBe('1.3×');

    await p.page.fill('#text', 'Hello');
    await p.page.press('#text', 'Enter');
    await p.until(`document.querySelector('#log .assistant')?.dataset.status === 'completed' && ${SPEECH_IDLE}`);
    const spoken = await p.spoken();
    expect(spoken.length).toBeGreaterThan(0);
    for (const utterance of spoken) expect(utterance).toMatchObject({ voice: 'Test Voice UK', rate: 1.3 });
  });
});
