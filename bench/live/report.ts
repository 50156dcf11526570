// The readable report of a live bench run: what was sent, one markdown table of the figures (p50 / p90), the
// tokens and their cost, the turns that failed, and the checks.

import { fmt, row, signed } from '../lib/report-format.js';
import type { Spread } from './analysis.js';
import type { LiveResults } from './run.js';
import { turnLabel, turnRemarks } from './turn.js';

const cells = (label: string, s: Spread): string[] => [label, String(s.n), fmt(s.p50, 1), fmt(s.p90, 1)];

function figureRows(results: LiveResults): string[] {
  const f = results.figures;
  return [
    row(['figure, ms from the request or `turn` sent', 'n', 'p50', 'p90']),
    row(['---', '---:', '---:', '---:']),
    row(cells(`${results.options.model}'s own first token, direct`, f.direct.firstTokenMs)),
    row(cells('first token through the gateway', f.gateway.firstTokenMs)),
    row([
      '**gateway addition** (gateway − direct, of the percentiles)',
      '',
      signed(f.addedMs.p50, 1),
      signed(f.addedMs.p90, 1),
    ]),
    row(cells('gateway addition, per pair on the same prompt', f.pairedAddedMs)),
    row(cells('**first speech** through the gateway (`response.speech`)', f.gateway.firstSpeechMs)),
    row(cells('first speech − first token, gateway', f.speechAfterTokenMs)),
    row(cells('response headers, direct', f.direct.headersMs)),
  ];
}

function tokenLines(results: LiveResults): string[] {
  const t = results.figures.tokens;
  const cost =
    t.costUsd === null
      ? 'cost: set MODEL_PRICES (USD per million tokens, as for the gateway) to see it'
      : `cost ≈ $${t.costUsd.toFixed(4)} at MODEL_PRICES`;
  const unreported = t.unreported > 0 ? `; ${t.unreported} request(s) reported no usage` : '';
  return [
    `Tokens (warm-ups included): ${t.requests} chat requests, ${t.prompt} prompt + ${t.completion} completion = ${t.total} ` +
      `(direct ${t.byPath.direct}, gateway ${t.byPath.gateway})${unreported}; ${cost}.`,
  ];
}

export function formatReport(results: LiveResults): string {
  const { options: o, request: r, figures: f } = results;
  const tools = r.tools.length === 0 ? 'no tools' : `tools ${r.tools.join(', ')}`;
  const noise =
    f.direct.firstTokenMs.p50 !== null && f.direct.firstTokenMs.p90 !== null
      ? `The API's own first token spread ${fmt(f.direct.firstTokenMs.p90 - f.direct.firstTokenMs.p50, 0)} ms from p50 to p90 here; ` +
        'an addition smaller than that spread needs more turns (--turns) to be told apart from it.'
      : '';
  const lines = [
    `Live bench: ${o.model} at ${o.baseUrl}, ${o.turns} turns per path after one warm-up each, concurrency ${o.concurrency}, ` +
      `${o.pauseMs} ms pause after each turn, ${fmt(results.durationMs / 1000, 0)} s in all.`,
    `Both paths send the gateway's own request body (${r.chars} characters: a ${r.systemPromptChars}-character system prompt, ` +
      `${tools}, max_tokens ${r.maxTokens ?? 'unset'}); the gateway path is a new session per turn through @asi1-voice/client.`,
    '',
    ...figureRows(results),
    '',
    noise,
    `Direct turns on a new connection: ${f.direct.newConnectionTurns} / ${f.direct.turns} (its connection touched with ` +
      `${r.modelListRequests} GET /models, as the gateway's warmer does).`,
    ...tokenLines(results),
  ];
  const odd = results.turns.filter((t) => t.status !== 'completed' || t.note !== undefined);
  if (odd.length > 0) lines.push('', 'Turns that failed, or did not simply answer in text:');
  for (const t of odd)
    lines.push(`  ${turnLabel(t)}: ${t.status}${turnRemarks(t) === '' ? '' : `: ${turnRemarks(t)}`}`);
  lines.push('', 'Checks:');
  for (const c of results.targets)
    lines.push(`  ${c.pass ? 'PASS' : 'FAIL'}  ${c.description}: ${c.value} (expected ${c.limit})`);
  return lines.filter((line, i, all) => line !== '' || all[i - 1] !== '').join('\n');
}
