// Browser-test fixture: launches Debian's Chromium through playwright-core, opens the page with the speech
// fakes (speech-fakes.js), records the WebSocket frames the page sends and receives, and collects console
// errors and page errors so every test can assert there were none. Drives the fakes through window.__speechTest.
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';

/** Debian's Chromium (installed by .ci/run from apt; never downloaded). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FAKES_PATH = fileURLToPath(new URL('./speech-fakes.js', import.meta.url));
export const ARTIFACTS_DIR = fileURLToPath(new URL('../artifacts/', import.meta.url));

/** Page-side waits: short, so a hang fails fast and well inside vitest's per-test timeout. */
export const WAIT_MS = 4_000;

/** Page expression: nothing is being spoken or waiting to be (the page's state and the fake synthesiser agree). */
export const SPEECH_IDLE = `document.body.dataset.state !== 'speaking' && window.__speechTest.queued.length === 0`;

/** Page expression: the newest assistant reply finished streaming and speaking. */
export const LAST_REPLY_DONE = `[...document.querySelectorAll('#log .assistant')].at(-1)?.dataset.status === 'completed' && ${SPEECH_IDLE}`;

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    // Fail, never skip: CI installs Chromium, so a missing binary is a broken environment.
    throw new Error(
      `Chromium was not found at ${CHROMIUM_PATH}. The browser tests drive Debian's Chromium: ` +
        'run `apt-get update && apt-get install -y --no-install-recommends chromium` (.ci/run does this), ' +
        'or point CHROMIUM_PATH at a Chromium binary.',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export interface SpeechConfig {
  /** false: no SpeechRecognition or webkitSpeechRecognition at all (Firefox). */
  recognition?: boolean;
  /** false: no speechSynthesis. */
  synthesis?: boolean;
  /** 0 (default): utterances wait for finishUtterance(); n: each ends after n ms per character. */
  autoFinishMsPerChar?: number;
  autoBoundaries?: boolean;
  voicesDelayMs?: number;
}

export interface OpenOptions {
  speech?: SpeechConfig;
  /** Route the page's socket through playwright, so a test can inject server events (`inject`). */
  proxy?: boolean;
  /** Install playwright's fake clock (time still flows; tests can fastForward past watchdogs). */
  clock?: boolean;
  viewport?: { width: number; height: number };
  colorScheme?: 'light' | 'dark';
}

export type Frame = { type: string; [key: string]: unknown };

export interface SpokenRecord {
  text: string;
  rate: number;
  voice: string | null;
  startedAt: number;
  endedAt: number | null;
  result: string;
  boundaries: number[];
}

interface FrameWaiter {
  predicate: (frame: Frame) => boolean;
  resolve: (frame: Frame) => void;
}

/** One browser context and page, with its frames, errors and the speech drivers. */
export class VoicePage {
  readonly sent: Frame[] = [];
  readonly received: Frame[] = [];
  /** console.error messages and uncaught page errors. */
  readonly errors: string[] = [];
  private waiters: (FrameWaiter & { direction: 'sent' | 'received' })[] = [];
  private injectFrame: ((text: string) => void) | null = null;
  private dropRoute: (() => Promise<void>) | null = null;

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  static async open(browser: Browser, url: string, options: OpenOptions = {}): Promise<VoicePage> {
    const context = await browser.newContext({
      viewport: options.viewport ?? { width: 900, height: 760 },
      colorScheme: options.colorScheme ?? 'light',
      reducedMotion: 'reduce',
    });
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    const voicePage = new VoicePage(context, page);
    page.on('console', (message) => {
      if (message.type() === 'error') voicePage.errors.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => voicePage.errors.push(`pageerror: ${error.message}`));
    await page.addInitScript(`window.__speechTestConfig = ${JSON.stringify(options.speech ?? {})};`);
    await page.addInitScript({ path: FAKES_PATH });
    if (options.proxy) {
      await page.routeWebSocket(/\/v1\/voice$/, (ws) => {
        const server = ws.connectToServer();
        ws.onMessage((message) => {
          voicePage.record('sent', message);
          server.send(message);
        });
        server.onMessage((message) => {
          voicePage.record('received', message);
          ws.send(message);
        });
        voicePage.injectFrame = (text) => ws.send(text);
        voicePage.dropRoute = () => ws.close({ code: 4999, reason: 'dropped by the test' });
      });
    } else {
      page.on('websocket', (ws) => {
        ws.on('framesent', (frame) => voicePage.record('sent', frame.payload));
        ws.on('framereceived', (frame) => voicePage.record('received', frame.payload));
      });
    }
    if (options.clock) await page.clock.install();
    await page.goto(url);
    return voicePage;
  }

  private record(direction: 'sent' | 'received', payload: string | Buffer): void {
    let frame: Frame;
    try {
      frame = JSON.parse(String(payload)) as Frame;
    } catch {
      return;
    }
    this[direction].push(frame);
    this.waiters = this.waiters.filter((w) => {
      if (w.direction !== direction || !w.predicate(frame)) return true;
      w.resolve(frame);
      return false;
    });
  }

  /** Sends a server event to the page as if the gateway had sent it (proxy mode only). */
  inject(event: Frame): void {
    if (!this.injectFrame) throw new Error('inject() needs VoicePage.open(..., { proxy: true })');
    this.injectFrame(JSON.stringify(event));
  }

  /** Drops the page's socket, as a flaky network would (proxy mode only); the server side closes too. */
  async dropConnection(): Promise<void> {
    if (!this.dropRoute) throw new Error('dropConnection() needs VoicePage.open(..., { proxy: true })');
    await this.dropRoute();
  }

  /** Resolves with the first frame the page sent (so far or later) that matches. */
  waitForSent(predicate: (frame: Frame) => boolean, what = 'a matching frame'): Promise<Frame> {
    return this.waitForFrame('sent', predicate, what);
  }

  /** Resolves with the first frame the page received (so far or later) that matches. */
  waitForReceived(predicate: (frame: Frame) => boolean, what = 'a matching frame'): Promise<Frame> {
    return this.waitForFrame('received', predicate, what);
  }

  private waitForFrame(
    direction: 'sent' | 'received',
    predicate: (frame: Frame) => boolean,
    what: string,
  ): Promise<Frame> {
    const found = this[direction].find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `the page ${direction === 'sent' ? 'did not send' : 'did not receive'} ${what}; ${direction}: ${JSON.stringify(this[direction])}`,
            ),
          ),
        WAIT_MS,
      );
      this.waiters.push({
        direction,
        predicate,
        resolve: (frame) => {
          clearTimeout(timer);
          resolve(frame);
        },
      });
    });
  }

  sentOfType(type: string): Frame[] {
    return this.sent.filter((f) => f.type === type);
  }

  receivedOfType(type: string): Frame[] {
    return this.received.filter((f) => f.type === type);
  }

  /**
   * Waits until `expression` (evaluated in the page) is truthy. page.waitForFunction would eval the string
   * inside the page, which the page's CSP (script-src 'self', no unsafe-eval) forbids; page.evaluate goes
   * through DevTools and is exempt, so this polls it.
   */
  async until(expression: string, timeoutMs = WAIT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await this.page.evaluate(`Boolean(${expression})`)) return;
      if (Date.now() > deadline) {
        const errors = this.errors.length > 0 ? `; page errors: ${this.errors.join(' | ')}` : '';
        throw new Error(`timed out after ${timeoutMs} ms waiting for: ${expression}${errors}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Evaluates `expression` in the page. */
  eval<T>(expression: string): Promise<T> {
    return this.page.evaluate(expression) as Promise<T>;
  }

  // Speech drivers (window.__speechTest).

  say(text: string): Promise<void> {
    return this.eval(`window.__speechTest.say(${JSON.stringify(text)})`);
  }

  interim(text: string, confidence = 0): Promise<void> {
    return this.eval(`window.__speechTest.interim(${JSON.stringify(text)}, ${confidence})`);
  }

  final(text: string): Promise<void> {
    return this.eval(`window.__speechTest.final(${JSON.stringify(text)})`);
  }

  finishUtterance(): Promise<boolean> {
    return this.eval('window.__speechTest.finishCurrentUtterance()');
  }

  boundary(charIndex: number, charLength: number): Promise<boolean> {
    return this.eval(`window.__speechTest.boundary(${charIndex}, ${charLength})`);
  }

  setAutoFinish(msPerChar: number, boundaries = false): Promise<void> {
    return this.eval(`window.__speechTest.setAutoFinish(${msPerChar}, ${boundaries})`);
  }

  spoken(): Promise<SpokenRecord[]> {
    return this.eval('window.__speechTest.spoken');
  }

  current(): Promise<string | null> {
    return this.eval('window.__speechTest.current');
  }

  listening(): Promise<boolean> {
    return this.eval('window.__speechTest.listening');
  }

  /** Waits for the page to be connected (session.ready shown). */
  async connected(): Promise<void> {
    await this.until(`document.getElementById('connection').dataset.connection === 'connected'`);
  }

  /** Clicks Talk and waits until the fake recogniser listens. */
  async startTalking(): Promise<void> {
    await this.page.click('#talk');
    await this.until('window.__speechTest.listening');
  }

  /** The assistant entries' statuses and texts, in order; `model`: the label of the models that answered, if shown. */
  replies(): Promise<
    { status: string; text: string; tools: string[]; meta: string; timings: string; model: string | null }[]
  > {
    return this.eval(`[...document.querySelectorAll('#log .assistant')].map((li) => ({
      status: li.dataset.status,
      text: [...li.querySelectorAll('.run')].map((r) => r.textContent).join(''),
      tools: [...li.querySelectorAll('.tool-name')].map((t) => t.textContent),
      meta: li.querySelector('.meta').textContent,
      timings: li.querySelector('.meta .timings').textContent,
      model: li.querySelector('.meta .model-name')?.textContent ?? null,
    }))`);
  }

  state(): Promise<string> {
    return this.eval('document.body.dataset.state');
  }

  async screenshot(name: string): Promise<string> {
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    const path = `${ARTIFACTS_DIR}${name}`;
    await this.page.screenshot({ path });
    return path;
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}

/** A file's browser and pages: one Chromium for the file, each test's page closed (its page errors failing the test) and its cleanups run. */
export interface BrowserRig {
  readonly browser: Browser;
  /** Remembers the test's page, to close it (and check its errors) after the test. */
  track(page: VoicePage): VoicePage;
  /** Run after the test, last added first. */
  readonly cleanups: (() => Promise<unknown>)[];
}

/** Registers the calling file's hooks and returns its rig; `expected` lets through page errors a file provokes. */
export function useBrowserRig(expected: (error: string) => boolean = () => false): BrowserRig {
  let browser: Browser | undefined;
  let page: VoicePage | null = null;
  const cleanups: (() => Promise<unknown>)[] = [];
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    const errors = page?.errors ?? [];
    await page?.close();
    page = null;
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    expect(errors.filter((error) => !expected(error))).toEqual([]);
  });
  return {
    get browser(): Browser {
      if (browser === undefined) throw new Error('the browser starts in beforeAll');
      return browser;
    },
    track(opened: VoicePage): VoicePage {
      page = opened;
      return opened;
    },
    cleanups,
  };
}
