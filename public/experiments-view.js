// The experiments dashboard's figures, built from GET /v1/experiments (the ExperimentsReport of
// src/experiments/report.ts): the arms at a glance, the latency distributions, the rates with their intervals,
// and every later arm against the first with p-values and a plain-language verdict. DOM only: experiments.js
// fetches and refreshes.
import { bucketRange, bucketText, latencyHistogram, niceMax } from './experiments-charts.js';
import { el, formatCount, formatMs, formatPercent, formatUsd, section, SERIES, swatch } from './experiments-format.js';
import { comparisonSection, ratesSection } from './experiments-rates.js';

const LATENCIES = [
  {
    key: 'firstTokenMs',
    title: 'Time to first token',
    hint: 'From the end of the user’s turn to the first streamed word of the reply.',
  },
  {
    key: 'firstSpeechMs',
    title: 'Time to first speech',
    hint: 'From the end of the user’s turn to the first sentence ready to be spoken: when the voice can start.',
  },
];

const EXAMPLE = JSON.stringify(
  {
    name: 'mini-vs-asi1',
    arms: [
      { name: 'mini', weight: 1, model: 'asi1-mini' },
      { name: 'asi1', weight: 1, model: 'asi1' },
    ],
  },
  null,
  2,
);

function stat(list, label, value, key, note) {
  const dd = el('dd', null, value);
  if (key) dd.dataset.stat = key;
  if (note) dd.append(el('span', 'note', note));
  list.append(el('dt', null, label), dd);
}

function armCard(arm, i, totalWeight) {
  const card = el('article', 'arm-card');
  card.dataset.arm = arm.name;
  card.setAttribute('aria-labelledby', `arm-${i}`);
  const heading = el('h3', null, undefined, swatch(i), el('span', null, arm.name));
  heading.id = `arm-${i}`;
  const share = totalWeight > 0 ? formatPercent(arm.weight / totalWeight, 0) : '–';
  card.append(heading, el('p', 'arm-model', `${arm.model} · ${share} of new sessions`));
  const stats = el('dl', 'stats');
  stat(stats, 'Sessions', formatCount(arm.sessions), 'sessions');
  stat(stats, 'Replies', formatCount(arm.responses), 'responses');
  const { completed, interrupted, failed, cutWhileSpoken } = arm.status;
  stat(
    stats,
    'Completed',
    formatCount(completed),
    'completed',
    cutWhileSpoken ? `${cutWhileSpoken} cut while spoken` : '',
  );
  stat(stats, 'Interrupted · failed', `${formatCount(interrupted)} · ${formatCount(failed)}`, 'interrupted');
  stat(stats, 'Handed to a deeper model', formatCount(arm.escalations), 'escalations');
  stat(stats, 'Thumbs up · down', `${formatCount(arm.feedback.up)} · ${formatCount(arm.feedback.down)}`, 'feedback');
  stat(stats, 'Re-asked', formatCount(arm.reasks), 'reasks');
  const chars = arm.replyChars.mean;
  stat(stats, 'Mean reply', chars === null ? '–' : `${Math.round(chars)} characters`, 'chars');
  stat(stats, 'Heard of each reply', formatPercent(arm.heardRatio.mean, 0), 'heard');
  const cost = arm.cost.perSessionUsd;
  const unknown = arm.responses > 0 ? 'unknown' : '–';
  stat(
    stats,
    'Cost per conversation',
    cost === null ? unknown : formatUsd(cost),
    'cost',
    cost === null && arm.responses > 0 ? 'needs MODEL_PRICES and token usage' : '',
  );
  card.append(stats);
  return card;
}

function latencySection(spec, arms) {
  const node = section(`${spec.key}-title`, spec.title, spec.hint);
  const range = bucketRange(arms.map((arm) => arm[spec.key]));
  if (range === null) {
    node.append(el('p', 'empty-note', 'No replies yet.'));
    return node;
  }
  const shares = arms.flatMap(({ [spec.key]: figures }) => {
    const total = figures.buckets.reduce((sum, b) => sum + b.count, 0);
    return figures.buckets.slice(range.first, range.last + 1).map((b) => (total > 0 ? b.count / total : 0));
  });
  const yMax = niceMax(Math.max(...shares));
  const multiples = el('div', 'multiples');
  arms.forEach((arm, i) => {
    const figures = arm[spec.key];
    const summary =
      figures.count === 0
        ? 'no replies yet'
        : `${figures.count} replies; median ${formatMs(figures.p50)}, p90 ${formatMs(figures.p90)}, p99 ${formatMs(figures.p99)}`;
    const figure = el('figure', 'hist-figure');
    figure.dataset.arm = arm.name;
    figure.append(
      el('figcaption', null, undefined, swatch(i), el('strong', null, arm.name), el('span', 'muted', ` ${arm.model}`)),
      latencyHistogram(figures, {
        range,
        yMax,
        series: i % SERIES,
        label: `${spec.title}, ${arm.name}: ${summary}`,
      }),
      percentiles(figures),
    );
    multiples.append(figure);
  });
  node.append(
    multiples,
    el(
      'p',
      'hint legend',
      'Bars: share of each arm’s replies in each time bucket. Lines: median (solid) and p90 (dashed).',
    ),
    bucketTable(spec, arms, range),
  );
  return node;
}

function percentiles(figures) {
  const text = el('p', 'percentiles');
  const key = (name) => {
    const node = el('span', `key ${name}`);
    node.setAttribute('aria-hidden', 'true');
    return node;
  };
  text.append(
    el('span', null, undefined, key('p50'), `p50 ${formatMs(figures.p50)}`),
    el('span', null, undefined, key('p90'), `p90 ${formatMs(figures.p90)}`),
    el('span', null, `p99 ${formatMs(figures.p99)}`),
    el('span', null, `mean ${formatMs(figures.mean)}`),
    el('span', 'muted', `n = ${formatCount(figures.count)}`),
  );
  return text;
}

function bucketTable(spec, arms, range) {
  const details = el('details', 'numbers');
  details.dataset.key = `${spec.key}-table`;
  const table = el('table', 'data');
  table.append(el('caption', 'visually-hidden', `${spec.title}: replies per bucket, by arm`));
  const head = el('tr', null, undefined, el('th', null, 'Time'));
  for (const arm of arms) head.append(el('th', null, arm.name));
  const body = el('tbody');
  const buckets = arms[0][spec.key].buckets;
  for (let i = range.first; i <= range.last; i += 1) {
    const row = el('tr', null, undefined, el('th', null, bucketText(buckets, i)));
    for (const arm of arms) row.append(el('td', null, formatCount(arm[spec.key].buckets[i]?.count ?? 0)));
    body.append(row);
  }
  head.querySelectorAll('th').forEach((th) => th.setAttribute('scope', 'col'));
  body.querySelectorAll('th').forEach((th) => th.setAttribute('scope', 'row'));
  table.append(el('thead', null, undefined, head), body);
  details.append(el('summary', null, 'The numbers behind the charts'), table);
  return details;
}

/** The figures of a running experiment. */
export function renderReport(report) {
  const { experiment, arms } = report;
  const totalWeight = arms.reduce((sum, arm) => sum + arm.weight, 0);
  const sessions = arms.reduce((sum, arm) => sum + arm.sessions, 0);
  const responses = arms.reduce((sum, arm) => sum + arm.responses, 0);
  const overview = section('experiment-title', experiment.name);
  overview.classList.add('overview');
  overview.append(
    el(
      'p',
      'hint',
      `${arms.length} arms, ${formatCount(sessions)} sessions and ${formatCount(responses)} replies so far. Each later arm is compared with the first, ${arms[0]?.name}.`,
    ),
  );
  const cards = el('div', 'arm-cards');
  arms.forEach((arm, i) => cards.append(armCard(arm, i, totalWeight)));
  overview.append(cards);
  const parts = [overview, ...LATENCIES.map((spec) => latencySection(spec, arms)), ratesSection(arms)];
  if (arms.length > 1) parts.push(comparisonSection(arms));
  return parts;
}

/** No experiment runs: how to start one. */
export function renderNoExperiment() {
  const node = section('experiment-title', 'No experiment is running');
  node.classList.add('no-experiment');
  const code = (text) => el('code', null, text);
  node.append(
    el(
      'p',
      null,
      'Every session gets the gateway’s default model. To compare models or settings, describe the arms in a JSON file and start the gateway with ',
      code('EXPERIMENTS_FILE=/path/to/experiment.json'),
      '. Sessions are then split between the arms by weight, and this page compares them.',
    ),
    el('pre', null, undefined, code(EXAMPLE)),
    el(
      'p',
      null,
      'All the options (instructions, reply length, escalation per arm) are in ',
      code('docs/experiments.md'),
      '.',
    ),
  );
  return [node];
}
