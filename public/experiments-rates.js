// The dashboard's rates (interruption, thumbs down, re-ask) as bars with their 95 % intervals, and every later
// arm against the first: each difference with its p-value and a plain-language verdict. DOM only, like
// experiments-view.js, which puts these sections after the arms and the latency charts.
import { rateChart } from './experiments-charts.js';
import {
  el,
  formatMs,
  formatMsDifference,
  formatP,
  formatPercent,
  formatPoints,
  section,
  SERIES,
} from './experiments-format.js';

/** Below this p-value a difference is called likely real. */
const ALPHA = 0.05;

const RATES = [
  {
    key: 'interruption',
    title: 'Interruption rate',
    hint: 'Replies the user cut off, while streaming or while being spoken, of all replies.',
    successes: (arm) => arm.status.interrupted + arm.status.cutWhileSpoken,
    trials: (arm) => arm.responses,
    of: 'replies',
  },
  {
    key: 'thumbsDown',
    title: 'Thumbs-down rate',
    hint: 'Thumbs down, of the replies users rated.',
    successes: (arm) => arm.feedback.down,
    trials: (arm) => arm.feedback.up + arm.feedback.down,
    of: 'rated replies',
  },
  {
    key: 'reask',
    title: 'Re-ask rate',
    hint: 'Replies whose question the user soon asked again, of all replies: a sign the answer missed.',
    successes: (arm) => arm.reasks,
    trials: (arm) => arm.responses,
    of: 'replies',
  },
];

export function ratesSection(arms) {
  const node = section(
    'rates-title',
    'Rates',
    'Bars show each rate; whiskers its 95% confidence interval. Wide whiskers mean too few replies to be sure.',
  );
  for (const spec of RATES) {
    const block = el('div', 'rate-block');
    block.dataset.rate = spec.key;
    block.append(el('h3', null, spec.title), el('p', 'hint', spec.hint));
    const rows = arms.map((arm, i) => ({
      name: arm.name,
      series: i % SERIES,
      rate: arm.rates[spec.key],
      successes: spec.successes(arm),
      trials: spec.trials(arm),
      of: spec.of,
    }));
    block.append(rateChart(rows, { caption: spec.title }));
    node.append(block);
  }
  return node;
}

/** "p < 0.05: likely a real difference (asi1 is slower)", "could be noise", or not enough data. */
function verdict(comparison, arm, [higher, lower]) {
  const { pValue, difference } = comparison;
  if (pValue === null || difference === null) return el('span', 'verdict none', 'Not enough data yet');
  if (pValue < ALPHA) {
    const direction = difference > 0 ? higher : lower;
    return el('span', 'verdict real', `p < 0.05: likely a real difference (${arm.name} ${direction})`);
  }
  return el('span', 'verdict noise', 'p ≥ 0.05: could be noise');
}

function comparisonTable(first, arm) {
  const columns = ['Measure', first.name, arm.name, 'Difference', 'p-value', 'Verdict'];
  const table = el('table', 'compare');
  table.dataset.arm = arm.name;
  table.append(el('caption', null, `${arm.name} against ${first.name}`));
  const head = el('tr');
  for (const name of columns) {
    const th = el('th', null, name);
    th.setAttribute('scope', 'col');
    head.append(th);
  }
  const body = el('tbody');
  const rows = [
    ...RATES.map((spec) => ({
      measure: spec.title,
      key: spec.key,
      a: formatPercent(first.rates[spec.key].value),
      b: formatPercent(arm.rates[spec.key].value),
      difference: formatPoints(arm.vsFirst[spec.key].difference),
      words: ['higher', 'lower'],
    })),
    {
      measure: 'First token, mean',
      key: 'firstTokenMs',
      a: formatMs(first.firstTokenMs.mean),
      b: formatMs(arm.firstTokenMs.mean),
      difference: formatMsDifference(arm.vsFirst.firstTokenMs.difference),
      words: ['slower', 'faster'],
    },
  ];
  for (const row of rows) {
    const comparison = arm.vsFirst[row.key];
    const p = el('td', 'p-value', formatP(comparison.pValue));
    p.append(el('span', 'test', comparison.test));
    const cells = [
      el('th', null, row.measure),
      el('td', null, row.a),
      el('td', null, row.b),
      el('td', null, row.difference),
      p,
      el('td', null, undefined, verdict(comparison, arm, row.words)),
    ];
    cells[0].setAttribute('scope', 'row');
    cells.forEach((cell, i) => (cell.dataset.label = columns[i]));
    const tr = el('tr', null, undefined, ...cells);
    tr.dataset.measure = row.key;
    body.append(tr);
  }
  table.append(el('thead', null, undefined, head), body);
  return table;
}

export function comparisonSection(arms) {
  const [first, ...later] = arms;
  const node = section(
    'compare-title',
    `Compared with ${first.name}`,
    'Each later arm against the first. The p-value is the chance of a difference at least this large if the arms were really alike: below 0.05 the difference is likely real, above it could be noise. With few replies, even a real difference can look like noise.',
  );
  for (const arm of later) node.append(comparisonTable(first, arm));
  return node;
}
