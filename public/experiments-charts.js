// The dashboard's charts, as small inline SVG written here (the page's CSP allows only its own scripts, so no
// chart library): a latency histogram per arm, drawn as small multiples on one shared scale with the median and
// p90 marked, and rate bars with their 95 % intervals as whiskers. The shapes stretch with the page
// (preserveAspectRatio="none", strokes that do not scale); every label is HTML, so it stays readable on a phone.
import { el, formatEdge, formatMs, formatPercent, svgEl, svgTitle } from './experiments-format.js';

const NICE = [0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 1];

/** The smallest round share at or above `value`, for an axis top. */
export function niceMax(value) {
  return NICE.find((nice) => value <= nice + 1e-9) ?? 1;
}

/**
 * The buckets worth drawing for these distributions (all on the same edges): the filled ones and one more on
 * each side, at least `min` of them; null when every bucket is empty.
 */
export function bucketRange(distributions, min = 6) {
  const count = distributions[0]?.buckets.length ?? 0;
  let first = Infinity;
  let last = -Infinity;
  for (const { buckets } of distributions) {
    buckets.forEach((bucket, i) => {
      if (bucket.count === 0) return;
      first = Math.min(first, i);
      last = Math.max(last, i);
    });
  }
  if (first === Infinity) return null;
  first = Math.max(0, first - 1);
  last = Math.min(count - 1, last + 1);
  while (last - first + 1 < Math.min(min, count)) {
    if (last < count - 1) last += 1;
    else first -= 1;
  }
  return { first, last };
}

/** The upper edge of every bucket; the open last one reads as twice the last edge, as the gateway's percentiles do. */
function upperEdges(buckets) {
  const finite = buckets.filter((b) => b.le !== null).map((b) => b.le);
  return buckets.map((b) => b.le ?? (finite.at(-1) ?? 0) * 2);
}

/** "200–300 ms", "1–1.5 s", "750 ms–1 s", "under 50 ms", "over 10 s". */
export function bucketText(buckets, i) {
  const upper = buckets[i]?.le ?? null;
  const lower = i === 0 ? null : (buckets[i - 1]?.le ?? null);
  if (lower === null) return `under ${formatEdge(upper)}`;
  if (upper === null) return `over ${formatEdge(lower)}`;
  if (upper < 1000) return `${lower}–${upper} ms`;
  if (lower >= 1000) return `${lower / 1000}–${upper / 1000} s`;
  return `${formatEdge(lower)}–${formatEdge(upper)}`;
}

/** Where `ms` falls on the drawn buckets, in bucket widths from the first drawn one (linear inside a bucket). */
function positionOf(ms, buckets, first) {
  const uppers = upperEdges(buckets);
  const i = uppers.findIndex((upper) => ms <= upper);
  const at = i < 0 ? uppers.length - 1 : i;
  const lower = at === 0 ? 0 : uppers[at - 1];
  const fraction = i < 0 ? 1 : (ms - lower) / Math.max(1, uppers[at] - lower);
  return at - first + Math.min(1, Math.max(0, fraction));
}

const line = (attributes) => svgEl('line', { ...attributes, 'vector-effect': 'non-scaling-stroke' });

/**
 * One arm's latency distribution as bars of its share of replies per bucket (`range` and `yMax` shared by all
 * arms, so the multiples compare), with the median (solid) and p90 (dashed) marked.
 */
export function latencyHistogram(figures, { range, yMax, series, label }) {
  const { first, last } = range;
  const total = figures.buckets.reduce((sum, b) => sum + b.count, 0);
  const width = (last - first + 1) * 10;
  const plot = svgEl('svg', {
    class: 'hist-plot',
    viewBox: `0 0 ${width} 100`,
    preserveAspectRatio: 'none',
    role: 'img',
    'aria-label': label,
  });
  for (const y of [0, 50, 100]) plot.append(line({ class: 'grid', x1: 0, x2: width, y1: y, y2: y }));
  const xAxis = el('div', 'hist-x');
  xAxis.setAttribute('aria-hidden', 'true');
  xAxis.classList.toggle('dense', last - first + 1 > 8);
  for (let i = first; i <= last; i += 1) {
    const count = figures.buckets[i]?.count ?? 0;
    const share = total > 0 ? count / total : 0;
    const height = Math.min(100, (share / yMax) * 100);
    const bar = svgEl('rect', {
      class: `bar series-${series}`,
      x: (i - first) * 10 + 1.5,
      y: 100 - height,
      width: 7,
      height,
      'data-count': count,
    });
    const what = count === 1 ? 'reply' : 'replies';
    bar.append(svgTitle(`${bucketText(figures.buckets, i)}: ${count} ${what} (${formatPercent(share)})`));
    plot.append(bar);
    // A label sits on the bucket's upper edge; the open last bucket has none, so its label sits under it.
    const le = figures.buckets[i]?.le ?? null;
    // Milliseconds go without their unit after the first label, to fit: "50 ms 100 200 … 750 1 s 1.5 s".
    const edge = formatEdge(le, figures.buckets.at(-2)?.le ?? null);
    const text = (i > first && le !== null && le < 1000 ? String(le) : edge).replaceAll(' ', '\u00a0');
    xAxis.append(el('span', le === null ? 'open' : null, undefined, el('span', null, text)));
  }
  for (const [key, name] of [
    ['p50', 'median (p50)'],
    ['p90', 'p90'],
  ]) {
    if (figures[key] === null || figures[key] === undefined) continue;
    const x = positionOf(figures[key], figures.buckets, first) * 10;
    const marker = line({ class: `marker ${key}`, x1: x, x2: x, y1: 0, y2: 100 });
    marker.append(svgTitle(`${name}: ${formatMs(figures[key])}`));
    plot.append(marker);
  }
  const yAxis = el('div', 'hist-y');
  yAxis.setAttribute('aria-hidden', 'true');
  for (const share of [yMax, yMax / 2, 0]) yAxis.append(el('span', null, formatPercent(share)));
  return el('div', 'hist', undefined, yAxis, el('div', 'hist-main', undefined, plot, xAxis));
}

/**
 * Rate bars, one row per arm: the bar is the rate, the whisker its 95 % interval, on a scale shared by the rows.
 * `rows`: [{ name, series, rate: { value, ci95 }, successes, trials, of }].
 */
export function rateChart(rows, { caption }) {
  const top = niceMax(Math.max(0.01, ...rows.map((r) => r.rate.ci95?.[1] ?? r.rate.value ?? 0)));
  const x = (value) => (value / top) * 100;
  const chart = el('div', 'rate-chart');
  for (const row of rows) {
    const { value, ci95 } = row.rate;
    const text =
      value === null
        ? `no ${row.of} yet`
        : `${formatPercent(value)}, 95% interval ${formatPercent(ci95[0])} to ${formatPercent(ci95[1])}; ${row.successes} of ${row.trials} ${row.of}`;
    const plot = svgEl('svg', {
      class: 'rate-bar',
      viewBox: '0 0 100 20',
      preserveAspectRatio: 'none',
      role: 'img',
      'aria-label': `${caption}, ${row.name}: ${text}`,
    });
    plot.append(svgEl('rect', { class: 'track', x: 0, y: 4, width: 100, height: 12 }));
    if (value !== null) {
      const bar = svgEl('rect', { class: `bar series-${row.series}`, x: 0, y: 4, width: x(value), height: 12 });
      bar.append(svgTitle(`${row.name}: ${text}`));
      plot.append(bar);
      const [lo, hi] = ci95.map(x);
      const whisker = svgEl('g', { class: 'whisker' });
      whisker.append(
        line({ x1: lo, x2: hi, y1: 10, y2: 10 }),
        line({ x1: lo, x2: lo, y1: 2, y2: 18 }),
        line({ x1: hi, x2: hi, y1: 2, y2: 18 }),
      );
      plot.append(whisker);
    }
    const figures = el('span', 'rate-text');
    if (value === null) figures.append(el('span', 'rate-value muted', 'no data'));
    else {
      figures.append(
        el('span', 'rate-value', formatPercent(value)),
        el('span', 'rate-ci', `${formatPercent(ci95[0])}–${formatPercent(ci95[1])}`),
        el('span', 'rate-n', `${row.successes}/${row.trials}`),
      );
    }
    chart.append(el('div', 'rate-row', undefined, el('span', 'rate-arm', row.name), plot, figures));
  }
  const scale = el('div', 'rate-scale');
  scale.setAttribute('aria-hidden', 'true');
  scale.append(el('span', null, '0%'), el('span', null, formatPercent(top / 2)), el('span', null, formatPercent(top)));
  chart.append(el('div', 'rate-row scale-row', undefined, el('span'), scale, el('span')));
  return chart;
}
