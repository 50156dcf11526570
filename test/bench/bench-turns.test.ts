// `npm run bench:turns` still works: the replay generator produces Chrome-shaped sequences (growing prefixes,
// revisions only of the last word, pauses, finals 500–900 ms after the last interim, a few finals that differ),
// deterministically from its seed; and a tiny run (6 sequences, 6 sessions, the three passes side by side)
// goes through the gateway, adopts speculations with speculation on, and counts every upstream request the
// same way as the gateway's /metrics. Counts and shapes only, never a timing.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateReplay, REPLAY_SHAPE, type ReplaySequence } from '../../bench/turns/replay.js';
import type { TurnsResults } from '../../bench/turns/run.js';
import { utteranceKey, utteranceWords } from '../../src/session/utterance.js';
import { runBenchScript } from './run-bench-script.js';

const outDir = mkdtempSync(join(tmpdir(), 'bench-turns-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

const within = (value: number, [min, max]: readonly [number, number]): boolean => value >= min && value <= max;
const wordsOf = (text: string): string[] => text.split(' ');

/** Consecutive interims: more words each time, and everything but the previous last word kept. */
function checkPrefixes(sequence: ReplaySequence): { revisions: number } {
  let revisions = 0;
  for (let i = 1; i < sequence.interims.length; i += 1) {
    const before = wordsOf(sequence.interims[i - 1]!.text);
    const after = wordsOf(sequence.interims[i]!.text);
    expect(after.length).toBeGreaterThan(before.length);
    expect(after.slice(0, before.length - 1)).toEqual(before.slice(0, -1));
    if (after[before.length - 1] !== before.at(-1)) revisions += 1;
  }
  return { revisions };
}

function checkTiming(sequence: ReplaySequence): void {
  const gaps = sequence.interims.slice(1).map((interim, i) => interim.atMs - sequence.interims[i]!.atMs);
  const pauses = gaps.filter((gap) => !within(gap, REPLAY_SHAPE.interimGapMs));
  expect(pauses.length).toBe(sequence.traits.pause === null ? 0 : 1);
  for (const pause of pauses) expect(within(pause, REPLAY_SHAPE.pauseGapMs)).toBe(true);
  expect(sequence.interims[0]!.atMs).toBe(0);
  expect(within(sequence.final.atMs - sequence.interims.at(-1)!.atMs, [500, 900])).toBe(true);
}

function checkFinal(sequence: ReplaySequence): void {
  const last = sequence.interims.at(-1)!.text;
  expect(sequence.final.text === last).toBe(sequence.traits.final === 'same');
  if (sequence.traits.final === 'word') {
    const [interimWords, finalWords] = [utteranceWords(last), utteranceWords(sequence.final.text)];
    expect(finalWords.slice(0, -1)).toEqual(interimWords.slice(0, -1));
    expect(finalWords.at(-1)).not.toBe(interimWords.at(-1));
  } else {
    // Punctuation and capitals only: the same words, so a speculation on the last interim is adopted.
    expect(utteranceKey(sequence.final.text)).toBe(utteranceKey(last));
  }
}

describe('bench:turns replay generator', () => {
  const replay = generateReplay({ sequences: 200, seed: 7 });

  it('is deterministic for a seed and differs between seeds', () => {
    expect(generateReplay({ sequences: 200, seed: 7 })).toEqual(replay);
    expect(generateReplay({ sequences: 20, seed: 8 })).not.toEqual(replay.slice(0, 20));
  });

  it('writes growing prefixes, revises only the last word, and ends on the whole utterance', () => {
    for (const sequence of replay) {
      const { revisions } = checkPrefixes(sequence);
      expect(revisions).toBe(sequence.traits.revision ? 1 : 0);
      expect(wordsOf(sequence.interims.at(-1)!.text)).toHaveLength(sequence.traits.words);
    }
    expect(replay.filter((s) => s.traits.revision).length).toBeGreaterThan(10);
  });

  it('spaces interims 80–250 ms apart, one 400–900 ms pause when paused, the final 500–900 ms after the last', () => {
    for (const sequence of replay) checkTiming(sequence);
    const paused = replay.filter((s) => s.traits.pause !== null);
    expect(paused.length / replay.length).toBeGreaterThan(0.08);
    expect(paused.length / replay.length).toBeLessThan(0.25);
    expect(new Set(paused.map((s) => s.traits.pause))).toEqual(new Set(['clause', 'dangling']));
  });

  it('repeats the last interim in most finals, and changes punctuation/case or the last word in a few', () => {
    for (const sequence of replay) checkFinal(sequence);
    const differing = replay.filter((s) => s.traits.final !== 'same').length / replay.length;
    expect(differing).toBeGreaterThan(0.05);
    expect(differing).toBeLessThan(0.2);
    expect(replay.some((s) => s.traits.final === 'punctuation')).toBe(true);
    expect(replay.some((s) => s.traits.final === 'word')).toBe(true);
    expect(replay.some((s) => s.traits.tool)).toBe(true);
  });
});

function runTiny(out: string): Promise<{ code: number | null; output: string }> {
  return runBenchScript('bench/turns.ts', [
    '--sequences',
    '6',
    '--sessions',
    '6',
    '--itl',
    '10',
    '--parallel-passes',
    '--out',
    out,
  ]);
}

describe('bench:turns tiny run', () => {
  it(
    'runs the three passes, adopts speculations with speculation on, and counts every request',
    { timeout: 45_000 },
    async () => {
      const out = join(outDir, 'turns.json');
      const { code, output } = await runTiny(out);
      expect(code, output).toBe(0);
      const results = JSON.parse(readFileSync(out, 'utf8')) as TurnsResults;
      expect(results.passes.map((p) => p.mode)).toEqual(['off', 'on', 'server-commit']);
      for (const pass of results.passes) {
        expect(pass.sequences, pass.mode).toBe(6);
        expect(pass.finals.timeouts + pass.finals.errors, pass.mode).toBe(0);
        expect(pass.unannouncedEvents, pass.mode).toBe(0);
        expect(pass.committedTurns.total, pass.mode).toBeGreaterThanOrEqual(6);
        // Every upstream request counted: the simulator saw what the gateway says it asked for, except requests of
        // speculations discarded as they started (aborted before the simulator read them).
        const started = pass.gateway.turnUpstreamRequests;
        expect(pass.upstream.turnRequests, pass.mode).toBeLessThanOrEqual(started);
        expect(started - pass.upstream.turnRequests, pass.mode).toBeLessThanOrEqual(
          pass.gateway.speculations.discarded,
        );
        expect(started, pass.mode).toBeGreaterThanOrEqual(pass.committedTurns.total);
        expect(pass.committedTurns.total, pass.mode).toBe(pass.gateway.turnsCommitted);
      }
      const [off, on, serverCommit] = results.passes;
      expect(off!.adoption.adopted).toBe(0);
      expect(off!.gateway.speculations.started).toBe(0);
      expect(off!.upstream.turnRequests).toBe(6);
      expect(off!.gateway.turnUpstreamRequests).toBe(6);
      expect(on!.adoption.adopted).toBeGreaterThan(0);
      expect(on!.adoption.adopted).toBe(on!.gateway.speculativeTurns);
      expect(on!.committedToFirstDeltaMs.adopted.n).toBe(on!.adoption.adopted);
      expect(serverCommit!.committedTurns.byServer).toBeGreaterThan(0);
      expect(results.unattributedRequests).toBe(0);
      expect(results.crossChecks.every((c) => c.agree)).toBe(true);
      expect(results.targets.map((t) => t.id)).toEqual([
        'adopted-first-delta',
        'first-delta-gain',
        'requests-per-turn',
        'requests-per-turn-server-commit',
        'no-tools-from-discarded',
      ]);
      expect(results.targets.find((t) => t.id === 'no-tools-from-discarded')?.value).toBe(0);
      for (const target of results.targets) expect(output).toContain(target.description);
    },
  );
});
