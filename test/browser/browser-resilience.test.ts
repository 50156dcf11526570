// The browser page when things are missing or break: no speech recognition (the text box carries the
// conversation), a synthesiser that never says `end` (the watchdog moves on), and a server restart (the page
// shows it, reconnects with backoff on the same address and carries on in a new session).
import { describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/server.js';
import { LAST_REPLY_DONE, useBrowserRig, VoicePage, type OpenOptions } from './fixture.js';
import { startGatewayAt, type RunningGateway } from './gateway-at.js';

const rig = useBrowserRig();

async function startServer(
  port = 0,
  env: Record<string, string> = {},
): Promise<{ simulator: Simulator; gateway: RunningGateway }> {
  const simulator = await startSimulator({ port: 0, host: '127.0.0.1', defaults: { ttftMs: 0, interTokenMs: 0 } });
  rig.cleanups.push(() => simulator.close());
  const gateway = await startGatewayAt(simulator.url, port, env);
  rig.cleanups.push(() => gateway.close());
  return { simulator, gateway };
}

async function open(url: string, options: OpenOptions = {}): Promise<VoicePage> {
  const page = rig.track(await VoicePage.open(rig.browser, url, options));
  await page.connected();
  return page;
}

describe('resilience', () => {
  it('uses the text box when the browser has no speech recognition, and still speaks the reply', async () => {
    const { gateway } = await startServer();
    const p = await open(gateway.httpUrl, { speech: { recognition: false, autoFinishMsPerChar: 1 } });
    expect(await p.eval<boolean>(`'SpeechRecognition' in window || 'webkitSpeechRecognition' in window`)).toBe(false);
    expect(await p.eval<string>(`document.getElementById('notice').textContent`)).toMatch(
      /speech recognition is not available.*type your message/i,
    );
    expect(await p.eval<boolean>(`document.getElementById('talk').disabled`)).toBe(true);

    await p.page.fill('#text', 'Hello from the keyboard');
    await p.page.press('#text', 'Enter');
    const turn = await p.waitForSent((f) => f.type === 'turn', 'a turn');
    expect(turn.text).toBe('Hello from the keyboard');
    expect(await p.eval<string>(`document.getElementById('text').value`)).toBe('');
    await p.until(LAST_REPLY_DONE);
    const [reply] = await p.replies();
    expect(reply?.text).toContain('Hello from the keyboard');
    expect((await p.spoken()).map((s) => s.text).join(' ')).toBe(reply?.text);
  });

  it('moves on when the synthesiser never ends an utterance (watchdog)', async () => {
    const { simulator, gateway } = await startServer();
    simulator.enqueue({ reply: 'All right then. This part must still be spoken afterwards.' });
    const p = await open(gateway.httpUrl, { clock: true });
    await p.page.fill('#text', 'Go');
    await p.page.press('#text', 'Enter');
    await p.until(`window.__speechTest.current === 'All right then.'`);
    // Nobody finishes the utterance. The watchdog (length / 10 chars/s + 3 s) cancels it and speaks the next.
    await p.page.clock.fastForward(4_000);
    expect(await p.current()).toBe('All right then.');
    await p.page.clock.fastForward(1_000);
    await p.until(`window.__speechTest.current?.startsWith('This part')`);
    expect((await p.spoken()).map((s) => s.result)).toEqual(['interrupted', 'speaking']);
    await p.finishUtterance();
    await p.until(LAST_REPLY_DONE);
  });

  it('shows a server restart and reconnects with backoff to the same address, in a new session', async () => {
    const first = await startServer();
    const p = await open(first.gateway.httpUrl, { speech: { autoFinishMsPerChar: 1 } });
    await p.page.fill('#text', 'Before the restart');
    await p.page.press('#text', 'Enter');
    await p.until(LAST_REPLY_DONE);

    await first.gateway.close();
    await p.until(`document.getElementById('connection').dataset.connection === 'waiting'`);
    expect(await p.eval<string>(`document.getElementById('connection-text').textContent`)).toMatch(
      /connection lost · reconnecting in \d+ s/i,
    );
    expect(await p.state()).toBe('offline');
    expect(await p.eval<boolean>(`document.getElementById('reconnect').hidden`)).toBe(false);

    const second = await startGatewayAt(first.simulator.url, first.gateway.port);
    rig.cleanups.push(() => second.close());
    await p.until(`document.getElementById('connection').dataset.connection === 'connected'`, 6_000);
    expect(await p.eval<string>(`document.getElementById('connection-text').textContent`)).toBe(
      'Connected · asi1-mini',
    );
    expect(await p.eval<string>(`document.querySelector('#log .notice')?.textContent`)).toMatch(/new session/i);

    await p.page.fill('#text', 'After the restart');
    await p.page.press('#text', 'Enter');
    await p.until(`document.querySelectorAll('#log .assistant').length === 2 && ${LAST_REPLY_DONE}`);
    expect(p.sentOfType('turn').map((f) => f.text)).toEqual(['Before the restart', 'After the restart']);
  }, 12_000);

  it('resumes the session after a dropped connection: the reply keeps streaming and is spoken to the end', async () => {
    const reply =
      'The first sentence is here. The second sentence is a little longer than that. The third one ends it.';
    const { simulator, gateway } = await startServer();
    simulator.enqueue({ reply, gate: { name: 'mid', afterChunks: 8 } });
    const p = await open(gateway.httpUrl, { proxy: true, speech: { autoFinishMsPerChar: 1 } });
    await p.page.fill('#text', 'Tell me three things');
    await p.page.press('#text', 'Enter');
    await simulator.gate('mid').reached;
    await p.until('window.__speechTest.spoken.length >= 1');

    await p.dropConnection();
    await p.until(`document.getElementById('connection').dataset.connection === 'waiting'`);
    // The server keeps the session, and the reply streams on while the page is away.
    simulator.gate('mid').release();
    await p.until(`document.getElementById('connection').dataset.connection === 'connected'`, 6_000);
    await p.until(LAST_REPLY_DONE);
    const [shown] = await p.replies();
    expect(shown).toMatchObject({ status: 'completed', text: reply });
    expect((await p.spoken()).map((s) => s.text).join(' ')).toBe(reply);
    expect(p.sentOfType('session.resume')).toHaveLength(1);
    expect(p.receivedOfType('session.resumed')[0]).toMatchObject({ missedEvents: false });
    expect(await p.eval<number>(`document.querySelectorAll('#log .notice').length`)).toBe(0);

    // Still the same conversation: the next prompt carries the whole exchange.
    await p.page.fill('#text', 'And then?');
    await p.page.press('#text', 'Enter');
    await p.until(`document.querySelectorAll('#log .assistant').length === 2 && ${LAST_REPLY_DONE}`);
    const history = (simulator.requests[1]?.body as { messages: { role: string; content: string }[] }).messages.slice(
      1,
    );
    expect(history).toEqual([
      { role: 'user', content: 'Tell me three things' },
      { role: 'assistant', content: reply },
      { role: 'user', content: 'And then?' },
    ]);
  });

  it('pings the server every 20 seconds, so a quiet session stays alive', async () => {
    const { gateway } = await startServer();
    const p = await open(gateway.httpUrl, { clock: true });
    expect(p.sentOfType('ping')).toEqual([]);
    await p.page.clock.fastForward(20_000);
    await p.waitForSent((f) => f.type === 'ping', 'a ping');
    await p.waitForReceived((f) => f.type === 'pong', 'a pong');
    expect(await p.eval<string>(`document.getElementById('connection').dataset.connection`)).toBe('connected');
  });

  it('asks for the access token when the server requires one, and connects once it is entered', async () => {
    const { gateway } = await startServer(0, { GATEWAY_TOKENS: 'let-me-in' });
    const p = rig.track(await VoicePage.open(rig.browser, gateway.httpUrl, { speech: { autoFinishMsPerChar: 1 } }));
    // GET /v1/info says a token is needed: the page asks for it instead of knocking on a locked door.
    await p.until(`document.getElementById('notice').textContent.includes('requires an access token')`);
    expect(await p.eval<string>(`document.getElementById('connection-text').textContent`)).toBe('Access token needed');
    expect(await p.eval<string>('document.activeElement.id')).toBe('token');

    await p.page.fill('#token', 'let-me-in');
    await p.page.press('#token', 'Tab');
    await p.connected();
    expect(await p.eval<boolean>(`document.getElementById('notice').hidden`)).toBe(true);
    expect(await p.eval<string>(`localStorage.getItem('asi1-voice.settings.v1')`)).toContain('"token":"let-me-in"');
    await p.page.fill('#text', 'Hello');
    await p.page.press('#text', 'Enter');
    await p.until(LAST_REPLY_DONE);
  });
});
