// The experiments dashboard (/experiments.html) in headless Chromium against a gateway running an A/B experiment:
// it asks for the metrics token when the figures answer 401 (and again for a wrong one), then shows per arm the
// replies, the latency distributions as SVG bar charts, the rates with their 95 % intervals and the comparison
// with the first arm with p-values; it refreshes on demand and every 10 s, and says how to start an experiment
// when none runs. Screenshots at phone and desktop width.
import { describe, expect, it } from 'vitest';
import { useBrowserRig, VoicePage, type OpenOptions } from './fixture.js';
import { converse, METRICS_TOKEN, startExperimentStack } from './experiment-data.js';
import { startStack } from '../helpers.js';

// A 401 is an expected answer here; anything else in the console is not.
const rig = useBrowserRig((error) => error.includes('401'));

async function dashboard(url: string, options: OpenOptions = {}): Promise<VoicePage> {
  return rig.track(await VoicePage.open(rig.browser, `${url}/experiments.html`, options));
}

const visible = (id: string) => `!document.getElementById('${id}').hidden`;

async function enterToken(p: VoicePage, token: string): Promise<void> {
  await p.page.fill('#metrics-token', token);
  await p.page.press('#metrics-token', 'Enter');
}

/** The arms' cards: name and the figures they show. */
function cards(p: VoicePage): Promise<{ arm: string; responses: string; sessions: string; feedback: string }[]> {
  return p.eval(`[...document.querySelectorAll('.arm-card')].map((card) => ({
    arm: card.dataset.arm,
    responses: card.querySelector('[data-stat="responses"]').textContent,
    sessions: card.querySelector('[data-stat="sessions"]').textContent,
    feedback: card.querySelector('[data-stat="feedback"]').textContent,
  }))`);
}

describe('the experiments dashboard', () => {
  it('asks for the metrics token, then shows the arms, latency charts, rates with intervals and the comparison', async () => {
    const s = await startExperimentStack();
    rig.cleanups.push(() => s.close());
    await converse(s.voiceUrl, 'mini', [{ text: 'Hello there', rating: 'up' }, { text: 'What is the time?' }]);
    await converse(s.voiceUrl, 'asi1', [
      { text: 'Tell me a joke', rating: 'down' },
      { text: 'Another one' },
      { text: 'And a third' },
    ]);

    const p = await dashboard(s.httpUrl);
    // No token: the figures answer 401 and the page asks for one.
    await p.until(visible('token-form'));
    expect(await p.eval<boolean>(`document.activeElement.id === 'metrics-token'`)).toBe(true);
    expect(await p.eval<boolean>(`document.getElementById('token-error').hidden`)).toBe(true);
    expect(await p.eval<number>(`document.querySelectorAll('#report > *').length`)).toBe(0);

    // A wrong one: asked again, with a reason.
    await enterToken(p, 'not-the-token');
    await p.until(visible('token-error'));
    expect(await p.eval<boolean>(`!document.getElementById('token-form').hidden`)).toBe(true);
    expect(await p.eval<string | null>(`sessionStorage.getItem('asi1-voice.metrics-token')`)).toBeNull();

    await enterToken(p, METRICS_TOKEN);
    await p.until(`document.querySelectorAll('.arm-card').length === 2`);
    expect(await p.eval<boolean>(`document.getElementById('token-form').hidden`)).toBe(true);
    expect(await p.eval<string>(`sessionStorage.getItem('asi1-voice.metrics-token')`)).toBe(METRICS_TOKEN);
    expect(await p.eval<string>(`document.getElementById('experiment-title').textContent`)).toBe('mini-vs-asi1');
    expect(await cards(p)).toEqual([
      { arm: 'mini', responses: '2', sessions: '1', feedback: '1 · 0' },
      { arm: 'asi1', responses: '3', sessions: '1', feedback: '0 · 1' },
    ]);

    // A chart per latency distribution and arm: an SVG of bars, the filled ones holding every reply.
    const charts = await p.eval<{ arm: string; label: string; bars: number; counted: number }[]>(
      `[...document.querySelectorAll('.hist-figure')].map((figure) => {
        const svg = figure.querySelector('svg.hist-plot');
        const bars = [...svg.querySelectorAll('rect.bar')];
        return {
          arm: figure.dataset.arm,
          label: svg.getAttribute('aria-label'),
          bars: bars.length,
          counted: bars.reduce((sum, bar) => sum + Number(bar.dataset.count), 0),
        };
      })`,
    );
    expect(charts.map((c) => [c.arm, c.counted])).toEqual([
      ['mini', 2],
      ['asi1', 3],
      ['mini', 2],
      ['asi1', 3],
    ]);
    for (const chart of charts) expect(chart.bars).toBeGreaterThanOrEqual(6);
    expect(charts[0]?.label).toMatch(/^Time to first token, mini: 2 replies; median \d+ ms, p90 \d+ ms, p99 \d+ ms$/);
    expect(await p.eval<string>(`document.querySelector('.hist-figure .percentiles').textContent`)).toMatch(
      /p50 \d+ ms.*p90 \d+ ms.*p99 \d+ ms.*mean \d+ ms.*n = 2/,
    );

    // The rates as bars with whiskers (95 % intervals), the numbers also as text.
    const thumbsDown = await p.eval<{ arm: string; text: string; whisker: boolean; label: string }[]>(
      `[...document.querySelectorAll('[data-rate="thumbsDown"] .rate-row:not(.scale-row)')].map((row) => ({
        arm: row.querySelector('.rate-arm').textContent,
        text: row.querySelector('.rate-text').textContent,
        whisker: row.querySelector('.whisker') !== null,
        label: row.querySelector('svg').getAttribute('aria-label'),
      }))`,
    );
    expect(thumbsDown).toEqual([
      expect.objectContaining({ arm: 'mini', whisker: true, text: expect.stringMatching(/^0%0%–\d+(\.\d)?%0\/1$/) }),
      expect.objectContaining({
        arm: 'asi1',
        whisker: true,
        text: expect.stringMatching(/^100%\d+(\.\d)?%–100%1\/1$/),
      }),
    ]);
    expect(thumbsDown[1]?.label).toMatch(/^Thumbs-down rate, asi1: 100%, 95% interval \d+(\.\d)?% to 100%; 1 of 1/);
    expect(await p.eval<number>(`document.querySelectorAll('.rate-block').length`)).toBe(3);

    // asi1 against mini: each difference with its p-value and a verdict.
    const comparison = await p.eval<Record<string, string>[]>(
      `[...document.querySelectorAll('table.compare[data-arm="asi1"] tbody tr')].map((tr) =>
        Object.fromEntries([...tr.children].map((cell) => [cell.dataset.label, cell.textContent])))`,
    );
    expect(comparison.map((row) => row.Measure)).toEqual([
      'Interruption rate',
      'Thumbs-down rate',
      'Re-ask rate',
      'First token, mean',
    ]);
    const down = comparison[1] ?? {};
    expect(down).toMatchObject({ mini: '0%', asi1: '100%', Difference: '+100.0 points' });
    expect(down['p-value']).toMatch(/^p (=|<) 0\.\d+two-proportion z-test$/);
    expect(down.Verdict).toMatch(/^(p < 0\.05: likely a real difference \(asi1 higher\)|p ≥ 0\.05: could be noise)$/);
    expect(comparison[3]?.['p-value']).toMatch(/^(p (=|<) 0\.\d+|–)Welch t-test$/);

    // Refresh: a new reply shows up.
    await converse(s.voiceUrl, 'mini', [{ text: 'One more' }]);
    await p.page.click('#refresh');
    await p.until(`document.querySelector('.arm-card[data-arm="mini"] [data-stat="responses"]').textContent === '3'`);

    // The token is kept for the tab: a reload goes straight to the figures.
    await p.page.reload();
    await p.until(`document.querySelectorAll('.arm-card').length === 2`);
    expect(await p.eval<boolean>(`document.getElementById('token-form').hidden`)).toBe(true);

    await p.page.setViewportSize({ width: 390, height: 844 });
    await p.screenshot('experiments-phone.png');
    await p.page.setViewportSize({ width: 1280, height: 800 });
    await p.screenshot('experiments-desktop.png');
  });

  it('refreshes by itself every 10 s', async () => {
    const s = await startExperimentStack();
    rig.cleanups.push(() => s.close());
    await converse(s.voiceUrl, 'asi1', [{ text: 'Hello' }]);
    const p = await dashboard(s.httpUrl, { clock: true });
    await enterToken(p, METRICS_TOKEN);
    await p.until(`document.querySelector('.arm-card[data-arm="asi1"] [data-stat="responses"]')?.textContent === '1'`);
    await converse(s.voiceUrl, 'asi1', [{ text: 'Hello again' }]);
    await p.page.clock.fastForward(10_000);
    await p.until(`document.querySelector('.arm-card[data-arm="asi1"] [data-stat="responses"]').textContent === '2'`);
  });

  it('says how to start an experiment when none runs', async () => {
    const stack = await startStack();
    rig.cleanups.push(() => stack.close());
    const p = await dashboard(stack.httpUrl);
    await p.until(`document.getElementById('experiment-title')?.textContent === 'No experiment is running'`);
    const text = await p.eval<string>(`document.getElementById('report').textContent`);
    expect(text).toContain('EXPERIMENTS_FILE=/path/to/experiment.json');
    expect(text).toContain('docs/experiments.md');
    expect(text).toContain('"model": "asi1-mini"');
    expect(await p.eval<boolean>(`document.getElementById('token-form').hidden`)).toBe(true);
  });
});
