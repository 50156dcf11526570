// Replies as markdown and starting over, in the browser page: a markdown reply renders as headings, emphasis,
// lists, links and code (finished blocks are rendered once while the rest streams), raw HTML and script in a
// reply stay inert text, a barge-in mid-markdown fades the unheard part, and "New conversation" (by keyboard)
// starts a fresh session whose first request upstream carries no earlier history. Screenshots at phone and
// desktop width.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/upstream/types.js';
import { LAST_REPLY_DONE, useBrowserRig, VoicePage, type OpenOptions } from './fixture.js';
import { startStack, until, type Stack } from '../helpers.js';

const rig = useBrowserRig();

const MARKDOWN = [
  '## Plan',
  '',
  'First, **walk in** slowly and find a *seat* by the window.',
  '',
  '- Order the soup of the day.',
  '- Ask for [the menu](https://example.com/menu) if you want more.',
  '',
  '```js',
  '// A long line scrolls inside the code block on a phone, never the page.',
  'const tip = Math.round(total * 0.1);',
  '```',
  '',
  'That is the whole plan.',
].join('\n');

async function stackUp(): Promise<Stack> {
  const stack = await startStack();
  rig.cleanups.push(() => stack.close());
  return stack;
}

async function open(stack: Stack, options: OpenOptions = {}): Promise<VoicePage> {
  const page = rig.track(
    await VoicePage.open(rig.browser, stack.httpUrl, { speech: { autoFinishMsPerChar: 1 }, ...options }),
  );
  await page.connected();
  return page;
}

async function send(p: VoicePage, text: string): Promise<void> {
  await p.page.fill('#text', text);
  await p.page.press('#text', 'Enter');
}

/** The last reply's bubble, as seen in the DOM. */
function lastReply(p: VoicePage): Promise<{
  headings: string[];
  strong: string[];
  em: string[];
  items: string[];
  links: { href: string | null; target: string | null; rel: string | null; text: string }[];
  code: { lang: string; text: string }[];
  text: string;
}> {
  return p.eval(`(() => {
    const bubble = [...document.querySelectorAll('#log .assistant .bubble')].at(-1);
    const texts = (selector) => [...bubble.querySelectorAll(selector)].map((node) => node.textContent);
    return {
      headings: [...bubble.querySelectorAll('h1, h2, h3, h4, h5, h6')].map((h) => h.tagName + ' ' + h.textContent),
      strong: texts('strong'),
      em: texts('em'),
      items: texts('ul > li'),
      links: [...bubble.querySelectorAll('a')].map((a) => ({
        href: a.getAttribute('href'), target: a.getAttribute('target'), rel: a.getAttribute('rel'), text: a.textContent,
      })),
      code: [...bubble.querySelectorAll('pre > code')].map((c) => ({ lang: c.className, text: c.textContent })),
      text: bubble.textContent,
    };
  })()`);
}

function messagesOf(stack: Stack, index: number): ChatMessage[] {
  return (stack.simulator.requests.at(index)?.body as { messages: ChatMessage[] }).messages;
}

describe('replies as markdown', () => {
  it('renders headings, emphasis, lists, links and code, keeping finished blocks while the rest streams', async () => {
    const stack = await stackUp();
    stack.simulator.enqueue({ reply: MARKDOWN, gate: { name: 'hold', afterChunks: 6 } });
    const p = await open(stack);
    await send(p, 'What is the plan?');

    // Held after "## Plan\n\nFirst, **walk in** slowly ": the heading is finished, the paragraph still open.
    await stack.simulator.gate('hold').reached;
    await p.until(
      `document.querySelector('#log .assistant .run h4') && document.querySelector('#log .assistant .run p')`,
    );
    await p.eval(`document.querySelector('#log .assistant .run h4').dataset.probe = 'kept'`);
    stack.simulator.gate('hold').release();
    await p.until(LAST_REPLY_DONE);

    const reply = await lastReply(p);
    // Page h1, log h2: the reply's ## is an h4 under them.
    expect(reply.headings).toEqual(['H4 Plan']);
    expect(reply.strong).toEqual(['walk in']);
    expect(reply.em).toEqual(['seat']);
    expect(reply.items).toEqual(['Order the soup of the day.', 'Ask for the menu if you want more.']);
    expect(reply.links).toEqual([
      { href: 'https://example.com/menu', target: '_blank', rel: 'noopener noreferrer', text: 'the menu' },
    ]);
    expect(reply.code).toEqual([{ lang: 'language-js', text: `${MARKDOWN.split('\n').slice(8, 10).join('\n')}\n` }]);
    expect(reply.text).not.toMatch(/##|\*\*|```|\]\(/);
    // The heading was rendered once, while the reply streamed, and kept: not rebuilt for later tokens.
    expect(await p.eval(`document.querySelector('#log .assistant .run h4').dataset.probe`)).toBe('kept');

    // Speech is unchanged: the normalised segments, with no markdown marks and the code block as a note.
    const spoken = (await p.spoken()).map((s) => s.text).join(' ');
    expect(spoken).not.toMatch(/[#*`]/);
    expect(spoken).toContain('See the code on screen.');
  });

  it('keeps raw HTML from the model inert: no script runs, no element or handler is created, bad links lose their href', async () => {
    const stack = await stackUp();
    stack.simulator.enqueue({
      reply: [
        'Look: <script>window.__pwned = 1</script> and <img src=x onerror="window.__pwned = 2"> in a line.',
        '',
        '<script>window.__pwned = 3</script>',
        '',
        '<div onmouseover="window.__pwned = 4">block html</div>',
        '',
        '[click me](javascript:window.__pwned=5) and ![a chart](https://example.com/chart.png)',
      ].join('\n'),
    });
    const p = await open(stack);
    await send(p, 'Show me some HTML');
    await p.until(LAST_REPLY_DONE);

    const dom = await p.eval<{ scripts: number; imgs: number; handlers: number; divs: number; pwned: unknown }>(`({
      scripts: document.querySelectorAll('#log script').length,
      imgs: document.querySelectorAll('#log img').length,
      handlers: [...document.querySelectorAll('#log *')].filter((el) => [...el.attributes].some((a) => a.name.startsWith('on'))).length,
      divs: document.querySelectorAll('#log .run div').length,
      pwned: window.__pwned,
    })`);
    expect(dom).toEqual({ scripts: 0, imgs: 0, handlers: 0, divs: 0, pwned: undefined });
    const reply = await lastReply(p);
    // Shown as the text the model wrote.
    expect(reply.text).toContain('<script>window.__pwned = 1</script>');
    expect(reply.text).toContain('<img src=x onerror="window.__pwned = 2">');
    expect(reply.text).toContain('<div onmouseover="window.__pwned = 4">block html</div>');
    // javascript: is not a link target; an image is a link to it, never loaded.
    expect(reply.links).toEqual([
      { href: null, target: null, rel: null, text: 'click me' },
      { href: 'https://example.com/chart.png', target: '_blank', rel: 'noopener noreferrer', text: 'a chart' },
    ]);
  });

  it('fades the unheard part after a barge-in mid-markdown, and the heard part stays rendered', async () => {
    const stack = await stackUp();
    // Held once the first list item has arrived: the reply is still streaming when the user cuts in.
    stack.simulator.enqueue({ reply: MARKDOWN, gate: { name: 'hold', afterChunks: 20 } }, { reply: 'Sure.' });
    const p = await open(stack, { speech: {} });
    await send(p, 'What is the plan?');
    await stack.simulator.gate('hold').reached;
    // Finish what is said before the sentence with "slowly", then hear it up to that word.
    await p.until('window.__speechTest.current !== null');
    while (!((await p.current()) ?? '').includes('slowly')) {
      const before = (await p.spoken()).length;
      await p.finishUtterance();
      await p.until(`window.__speechTest.spoken.length > ${before}`);
    }
    const current = (await p.current()) ?? '';
    await p.boundary(current.indexOf('slowly'), 'slowly'.length);
    await p.page.keyboard.press('Escape');
    await p.waitForSent((f) => f.type === 'response.cancel', 'response.cancel');
    await p.until(`document.querySelector('#log .assistant .unheard.cut')`);

    const view = await p.eval<{
      status: string;
      cut: string;
      unheard: string;
      heardMarkup: string[];
      items: string[];
      note: string | null;
    }>(`(() => {
      const bubble = document.querySelector('#log .assistant .bubble');
      const faded = (el) => el.closest('.unheard') !== null || el.querySelector('.unheard') !== null;
      return {
        status: document.querySelector('#log .assistant').dataset.status,
        cut: bubble.querySelector('.unheard.cut').textContent,
        unheard: [...bubble.querySelectorAll('span.unheard')].map((s) => s.textContent).join(' '),
        heardMarkup: [...bubble.querySelectorAll('h4, strong')].filter((el) => !faded(el)).map((el) => el.tagName + ' ' + el.textContent),
        items: [...bubble.querySelectorAll('li')].map((li) => li.className + ' ' + li.textContent),
        note: bubble.querySelector('.visually-hidden')?.textContent ?? null,
      };
    })()`);
    expect(view.status).toBe('interrupted');
    // The cut falls right after the last heard word: the rest of the sentence and the list are faded.
    expect(view.cut).toBe('and find a ');
    expect(view.unheard).toContain('by the window.');
    expect(view.unheard).toContain('Order the soup of the day.');
    expect(view.items).toEqual(['unheard Order the soup of the day.']);
    expect(view.note).toBe(' (not heard from here) ');
    // What was heard is still markdown: the heading and the bold words, not faded.
    expect(view.heardMarkup).toEqual(['H4 Plan', 'STRONG walk in']);

    // The server cut the stored reply too (its own estimate, by word): nothing of the faded part is remembered.
    await p.setAutoFinish(1);
    await send(p, 'Thanks');
    await p.until(LAST_REPLY_DONE);
    const stored = String(messagesOf(stack, -1).findLast((m) => m.role === 'assistant')?.content);
    expect(stored).toContain('First, **walk in**');
    expect(stored).not.toContain('find a');
  });
});

describe('new conversation', () => {
  it('is reachable by keyboard, stops the reply, clears the log and starts a new session with no history upstream', async () => {
    const stack = await stackUp();
    stack.simulator.enqueue(
      { reply: 'Remember the word apricot. I will keep talking for a while about it.' },
      { reply: MARKDOWN, gate: { name: 'hold', afterChunks: 8 } },
      { reply: 'A fresh start.' },
    );
    const p = await open(stack);
    await send(p, 'Remember apricot');
    await p.until(LAST_REPLY_DONE);
    await p.setAutoFinish(0); // the next reply is still being spoken when the user starts over
    await send(p, 'And the plan?');
    await stack.simulator.gate('hold').reached;
    await p.until(`window.__speechTest.current !== null && document.querySelectorAll('#log .assistant').length === 2`);
    const first = p.receivedOfType('session.ready')[0];

    // Tab from the top of the page reaches it; it shows a focus ring; Enter presses it.
    await p.eval('document.activeElement?.blur()');
    let focused = '';
    for (let tab = 0; tab < 6 && focused !== 'new-conversation'; tab++) {
      await p.page.keyboard.press('Tab');
      focused = await p.eval<string>('document.activeElement?.id ?? ""');
    }
    expect(focused).toBe('new-conversation');
    expect(await p.eval<string>(`getComputedStyle(document.activeElement).outlineStyle`)).toBe('solid');
    expect(await p.eval<string>(`document.activeElement.textContent.replace(/\\s+/g, ' ').trim()`)).toBe(
      'New conversation',
    );
    await p.page.keyboard.press('Enter');

    // The reply was stopped (its speech too), the log emptied, and a new session started: not a resume.
    const cancel = await p.waitForSent((f) => f.type === 'response.cancel', 'response.cancel');
    expect(cancel.responseId).toBe(p.receivedOfType('response.created')[1]?.responseId);
    await p.until('window.__speechTest.current === null');
    const second = await p.waitForReceived(
      (f) => f.type === 'session.ready' && f.sessionId !== first?.sessionId,
      'a second session.ready',
    );
    expect(second.sessionId).not.toBe(first?.sessionId);
    await p.connected();
    expect(p.sentOfType('session.resume')).toEqual([]);
    // The old session was ended (session.end), not left waiting for a resume that will never come.
    expect(p.sentOfType('session.end')).toHaveLength(1);
    await until(() => stack.gateway.sessions.get(String(first?.sessionId)) === undefined);
    expect(await p.eval<number>(`document.querySelectorAll('#log > li').length`)).toBe(0);
    expect(await p.eval<boolean>(`!document.getElementById('empty').hidden`)).toBe(true);
    expect(await p.state()).toBe('idle');
    stack.simulator.gate('hold').release();

    // The next turn goes upstream with nothing of the old conversation: the system prompt and this turn only.
    await p.setAutoFinish(1);
    await send(p, 'What word did I say?');
    await p.until(`document.querySelectorAll('#log .assistant').length === 1 && ${LAST_REPLY_DONE}`);
    const messages = messagesOf(stack, -1);
    expect(messages.filter((m) => m.role !== 'system')).toEqual([{ role: 'user', content: 'What word did I say?' }]);
    expect(JSON.stringify(messages)).not.toContain('apricot');
    // No "reconnected" notice: the user asked for the new session.
    expect(await p.eval<number>(`document.querySelectorAll('#log .notice').length`)).toBe(0);
  });
});

describe('the vendored renderer and sanitiser', () => {
  it('are served from the installed packages as JavaScript, and nothing else under /vendor/', async () => {
    const stack = await stackUp();
    for (const [file, installed] of [
      ['marked.esm.js', 'node_modules/marked/lib/marked.esm.js'],
      ['purify.es.mjs', 'node_modules/dompurify/dist/purify.es.mjs'],
    ]) {
      const response = await fetch(new URL(`vendor/${file}`, stack.httpUrl));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^(application|text)\/javascript/);
      expect(await response.text()).toBe(readFileSync(new URL(`../../${installed}`, import.meta.url), 'utf8'));
    }
    expect((await fetch(new URL('vendor/marked.umd.js', stack.httpUrl))).status).toBe(404);
  });
});

describe('markdown screenshots', () => {
  it('shows a markdown reply at phone and desktop width', async () => {
    const stack = await stackUp();
    stack.simulator.enqueue({ reply: MARKDOWN });
    const p = await open(stack, { viewport: { width: 390, height: 844 } });
    await send(p, 'What is the plan for dinner?');
    await p.until(LAST_REPLY_DONE);
    for (const [name, viewport] of [
      ['markdown-phone.png', { width: 390, height: 844 }],
      ['markdown-desktop.png', { width: 1280, height: 800 }],
    ] as const) {
      await p.page.setViewportSize(viewport);
      // Nothing sticks out sideways: a long code line scrolls inside its block, the page does not.
      expect(await p.eval<boolean>('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
      await p.screenshot(name);
    }
  });
});
