// The browser page end to end, in headless Chromium against the real gateway and simulator, with scripted
// speech: a spoken turn is answered and spoken while it streams, barge-in cancels with heardChars and the
// next prompt shows the cut, tools are shown and spoken, and a finished conversation is screenshotted.
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/upstream/types.js';
import { launchBrowser, SPEECH_IDLE, VoicePage, type Frame } from './fixture.js';
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
  // Every test: no console errors and no uncaught exceptions in the page.
  expect(errors).toEqual([]);
});

async function open(options: Parameters<typeof VoicePage.open>[2] = {}): Promise<VoicePage> {
  page = await VoicePage.open(browser, stack.httpUrl, options);
  await page.connected();
  return page;
}

function messagesOfRequest(index: number): ChatMessage[] {
  return (stack.simulator.requests[index]?.body as { messages: ChatMessage[] }).messages;
}

function speechOf(p: VoicePage, responseId: unknown): string[] {
  return p
    .receivedOfType('response.speech')
    .filter((f) => f.responseId === responseId)
    .map((f) => String(f.text));
}

function doneOf(p: VoicePage, responseId: unknown): Frame | undefined {
  return p.receivedOfType('response.done').find((f) => f.responseId === responseId);
}

describe('the browser page', () => {
  it('sends a spoken turn and speaks the first segment while the reply is still streaming', async () => {
    stack.simulator.enqueue({ reply: REPLY, gate: { name: 'hold', afterChunks: 8 } });
    const p = await open();
    expect(await p.eval<boolean>(`!document.getElementById('banner').hidden`)).toBe(true);
    await p.startTalking();
    await p.say('Tell me three things');
    const turn = await p.waitForSent((f) => f.type === 'turn', 'a turn');
    expect(turn.text).toBe('Tell me three things');

    // The stream is held at the gate, so response.done cannot have been sent: speech starts before it.
    await stack.simulator.gate('hold').reached;
    await p.until(`window.__speechTest.current === 'The first sentence is here.'`);
    const created = p.receivedOfType('response.created')[0];
    expect(doneOf(p, created?.responseId)).toBeUndefined();
    expect(await p.state()).toBe('speaking');
    expect((await p.replies())[0]?.status).toBe('streaming');
    // Half-duplex: the mic is closed while the assistant speaks.
    expect(await p.listening()).toBe(false);

    stack.simulator.gate('hold').release();
    await p.setAutoFinish(1);
    await p.until(`document.querySelector('#log .assistant').dataset.status === 'completed'`);
    await p.until(`window.__speechTest.current === null && document.body.dataset.state === 'listening'`);

    // Every segment was spoken, in order, one utterance at a time.
    const spoken = (await p.spoken()).map((s) => s.text);
    expect(spoken).toEqual(speechOf(p, created?.responseId));
    expect(spoken.join(' ')).toBe(REPLY);
    expect(await p.eval<number>('window.__speechTest.maxQueued')).toBe(1);
    const [reply] = await p.replies();
    expect(reply?.text).toBe(REPLY);
    expect(reply?.timings).toMatch(/^first token \d+ ms · first speech \d+ ms$/);
    expect(reply?.model).toBe('asi1-mini');
  });

  it('barges in with Esc: stops speech, sends response.cancel with heardChars, and the next prompt shows the cut', async () => {
    stack.simulator.enqueue({ reply: REPLY, gate: { name: 'hold', afterChunks: 16 } });
    const p = await open({ proxy: true });
    await p.startTalking();
    await p.say('Tell me three things');
    await stack.simulator.gate('hold').reached;
    await p.until(`window.__speechTest.current === 'The first sentence is here.'`);
    await p.finishUtterance();
    await p.until(`window.__speechTest.current?.startsWith('The second sentence')`);
    const second = (await p.current()) ?? '';
    const at = second.indexOf('little');
    await p.boundary(at, 'little'.length);

    await p.page.keyboard.press('Escape');
    const created = p.receivedOfType('response.created')[0];
    const cancel = await p.waitForSent((f) => f.type === 'response.cancel', 'response.cancel');
    expect(cancel).toEqual({
      type: 'response.cancel',
      responseId: created?.responseId,
      heardChars: 'The first sentence is here.'.length + at + 'little'.length,
    });
    // Speech stopped at once: nothing current, nothing queued, the utterance was interrupted.
    await p.until('window.__speechTest.current === null');
    expect(await p.eval<string[]>('window.__speechTest.queued')).toEqual([]);
    expect((await p.spoken()).map((s) => s.result)).toEqual(['ended', 'interrupted']);
    await p.until(`document.querySelector('#log .assistant').dataset.status === 'interrupted'`);
    // Back to listening (half-duplex reopens the mic after a barge-in).
    await p.until(`window.__speechTest.listening && document.body.dataset.state === 'listening'`);

    // Late events of the interrupted response are ignored: not shown, not spoken.
    p.inject({ type: 'response.delta', responseId: created?.responseId, text: ' LATE WORDS', seq: 999 });
    p.inject({ type: 'response.speech', responseId: created?.responseId, index: 9, text: 'LATE WORDS', seq: 1000 });
    stack.simulator.gate('hold').release();

    await p.say('Wait, what?');
    await p.until(
      `document.querySelectorAll('#log .assistant')[1]?.dataset.status === 'streaming' || document.querySelectorAll('#log .assistant')[1]?.dataset.status === 'completed'`,
    );
    const history = messagesOfRequest(1).slice(1);
    expect(history[0]).toEqual({ role: 'user', content: 'Tell me three things' });
    expect(history[1]?.role).toBe('assistant');
    expect(history[1]?.content).toMatch(
      /^The first sentence is here\. The second sentence is a( little)? \[interrupted by the user\]$/,
    );
    expect(history[2]).toEqual({ role: 'user', content: 'Wait, what?' });
    const [first] = await p.replies();
    expect(first?.text).not.toContain('LATE');
    expect((await p.spoken()).some((s) => s.text.includes('LATE'))).toBe(false);
  });

  it('answers a tool question, shows the tool discreetly and speaks the result', async () => {
    const p = await open({ speech: { autoFinishMsPerChar: 1 } });
    await p.startTalking();
    await p.say('what is 12 times 7');
    await p.until(`document.querySelector('#log .assistant')?.dataset.status === 'completed' && ${SPEECH_IDLE}`);
    const [reply] = await p.replies();
    expect(reply?.tools).toEqual(['calculate']);
    expect(reply?.text).toContain('84');
    const spoken = (await p.spoken()).map((s) => s.text).join(' ');
    expect(spoken).toContain('84');
    expect(await p.eval<string>(`document.querySelector('#log .assistant .tool').textContent`)).toContain('calculate');
  });

  it('shows a finished conversation: replies, an interruption, a tool call and timings (screenshot)', async () => {
    stack.simulator.setDefaults({ ttftMs: 80, interTokenMs: 2 });
    const p = await open({ speech: { autoFinishMsPerChar: 1 }, viewport: { width: 900, height: 940 } });
    await p.startTalking();

    await p.say('Hi! What can you do?');
    await p.until(`document.querySelectorAll('#log .assistant')[0]?.dataset.status === 'completed' && ${SPEECH_IDLE}`);

    stack.simulator.enqueue({
      reply:
        'The Moon is about 384,000 kilometres away. It always shows us the same face, because its rotation is locked to its orbit. ' +
        'And it drifts away from us by almost four centimetres a year.',
    });
    await p.setAutoFinish(0);
    await p.until('window.__speechTest.listening');
    await p.say('Tell me three things about the Moon');
    await p.until(`window.__speechTest.current?.startsWith('The Moon is')`);
    await p.finishUtterance();
    await p.until(`window.__speechTest.current?.startsWith('It always')`);
    await p.boundary(14, 5);
    await p.page.click('#stop');
    await p.until(`document.querySelectorAll('#log .assistant')[1]?.dataset.status === 'interrupted'`);

    await p.setAutoFinish(1);
    await p.page.fill('#text', 'What is 12 times 7?');
    await p.page.press('#text', 'Enter');
    await p.until(`document.querySelectorAll('#log .assistant')[2]?.dataset.status === 'completed' && ${SPEECH_IDLE}`);
    await p.until(`document.body.dataset.state === 'listening'`);

    const replies = await p.replies();
    expect(replies.map((r) => r.status)).toEqual(['completed', 'interrupted', 'completed']);
    expect(replies[2]?.tools).toEqual(['calculate']);
    for (const reply of replies) expect(reply.meta).toMatch(/first token \d+ ms · first speech \d+ ms/);
    expect(
      await p.eval<string[]>(`[...document.querySelectorAll('#log .user .bubble')].map((b) => b.textContent)`),
    ).toEqual(['Hi! What can you do?', 'Tell me three things about the Moon', 'What is 12 times 7?']);

    await p.page.locator('#text').blur();
    await p.screenshot('conversation.png');
    await p.page.setViewportSize({ width: 390, height: 844 });
    await p.screenshot('conversation-mobile.png');
    await p.page.emulateMedia({ colorScheme: 'dark' });
    await p.screenshot('conversation-mobile-dark.png');
  });
});
