// `npm run bench:live` works, without the real API: with no key it skips with a clear message and exit code 0;
// with a (dummy) key and --base-url it runs its whole course against the simulator started here (which checks
// the key), sends the gateway's own request body on the direct path, and reports every figure. Counts, shapes
// and orderings only, never a duration beyond "at least the simulator's first-token time".

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveResults } from '../../bench/live/run.js';
import { startSimulator, type RecordedRequest, type Simulator } from '../../src/simulator/server.js';
import { runBenchScript } from './run-bench-script.js';

const KEY = 'sk_dummy_live_bench_key';
const TTFT_MS = 40;
const outDir = mkdtempSync(join(tmpdir(), 'bench-live-'));
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({
    apiKey: KEY,
    defaults: {
      profile: 'gen2',
      ttftMs: TTFT_MS,
      interTokenMs: 2,
      reply: 'Hello, here is a short answer. And a second sentence follows it.',
    },
  });
});

afterAll(async () => {
  await sim.close();
  rmSync(outDir, { recursive: true, force: true });
});

const userText = (request: RecordedRequest): string =>
  ((request.body as { messages: { role: string; content: string }[] }).messages.findLast((m) => m.role === 'user')
    ?.content ?? '') as string;

describe('bench:live without a key', () => {
  it('says it skipped and why, writes nothing, and exits 0', { timeout: 20_000 }, async () => {
    const out = join(outDir, 'skipped.json');
    const { code, output } = await runBenchScript('bench/live.ts', ['--out', out], { ASI_ONE_API_KEY: '' });
    expect(code, output).toBe(0);
    expect(output).toContain('bench:live skipped: ASI_ONE_API_KEY is not set');
    expect(output).toContain('docs/benchmarks/live.md');
    expect(existsSync(out)).toBe(false);
  });
});

describe('bench:live against the simulator (--base-url)', () => {
  it(
    'measures both paths, sends the gateway body directly, and reports sane figures',
    { timeout: 60_000 },
    async () => {
      const out = join(outDir, 'live.json');
      const args = ['--base-url', sim.url, '--turns', '3', '--concurrency', '2', '--pause-ms', '0', '--out', out];
      const { code, output } = await runBenchScript('bench/live.ts', args, { ASI_ONE_API_KEY: KEY });
      expect(code, output).toBe(0);
      expect(output).not.toContain(KEY);
      const text = readFileSync(out, 'utf8');
      expect(text).not.toContain(KEY);
      const results = JSON.parse(text) as LiveResults;
      expect(results).toMatchObject({ schema: 1, kind: 'live', options: { baseUrl: sim.url, turns: 3 } });

      // One warm-up per path, then three pairs; every turn answered.
      expect(results.turns).toHaveLength(8);
      expect(results.turns.filter((t) => t.warmUp).map((t) => t.path)).toEqual(['direct', 'gateway']);
      for (const turn of results.turns)
        expect(turn.status, `${turn.path} ${turn.pair}: ${turn.error}`).toBe('completed');
      const f = results.figures;
      expect([f.direct.firstTokenMs.n, f.gateway.firstTokenMs.n, f.gateway.firstSpeechMs.n]).toEqual([3, 3, 3]);
      expect(f.pairedAddedMs.n).toBe(3);
      expect(f.direct.firstTokenMs.p50!).toBeGreaterThanOrEqual(TTFT_MS);
      expect(f.gateway.firstTokenMs.p50!).toBeGreaterThanOrEqual(TTFT_MS);
      expect(f.addedMs.p50).toBe(f.gateway.firstTokenMs.p50! - f.direct.firstTokenMs.p50!);
      for (const turn of results.turns.filter((t) => t.path === 'gateway'))
        expect(turn.firstSpeechMs!).toBeGreaterThanOrEqual(turn.firstTokenMs!);
      expect(f.direct.headersMs.p50!).toBeLessThanOrEqual(f.direct.firstTokenMs.p50!);

      // Tokens as the simulator reported them, the same on both paths: they sent the same bodies.
      expect(f.tokens.requests).toBe(8);
      expect(f.tokens.total).toBe(f.tokens.prompt + f.tokens.completion);
      expect(f.tokens.byPath.direct).toBe(f.tokens.byPath.gateway);
      expect(f.tokens.byPath.direct).toBeGreaterThan(0);
      expect(results.request.maxTokens).toBe(64);
      expect(results.request.tools.length).toBeGreaterThan(0);
      expect(results.targets.map((t) => [t.id, t.pass])).toEqual([
        ['all-turns-answered', true],
        ['direct-connections-warm', true],
      ]);

      // The simulator saw 8 chat requests with the key: per prompt, one from each path with the same body.
      const chats = sim.requests.filter((r) => r.headers.authorization === `Bearer ${KEY}`);
      expect(chats).toHaveLength(8);
      const direct = chats.filter((r) => String(r.headers['x-session-id']).startsWith('bench-live-'));
      expect(direct).toHaveLength(4);
      for (const request of direct) {
        const twin = chats.find((r) => !direct.includes(r) && userText(r) === userText(request));
        expect(twin, userText(request)).toBeDefined();
        expect(request.body).toEqual(twin!.body);
      }
      for (const label of ['first token through the gateway', 'gateway addition', 'first speech', 'Tokens'])
        expect(output).toContain(label);
    },
  );
});
