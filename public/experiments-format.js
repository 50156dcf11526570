// Small helpers of the experiments dashboard: building HTML and SVG nodes (text only through textContent, no
// inline styles), and the number formats shared by the charts and the tables.

const SVG_NS = 'http://www.w3.org/2000/svg';
/** Arm colours in experiments.css (series-0 … series-5), reused after six arms. */
export const SERIES = 6;

/** An HTML element with a class and text; `children` are appended. */
export function el(tag, className, text, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  node.append(...children);
  return node;
}

/** The colour key of arm `i`. */
export function swatch(i) {
  const node = el('span', `swatch series-${i % SERIES}`);
  node.setAttribute('aria-hidden', 'true');
  return node;
}

/** A dashboard panel headed by an h2 (`id`) and an optional hint. */
export function section(id, title, hint) {
  const node = el('section', 'panel');
  node.setAttribute('aria-labelledby', id);
  const heading = el('h2', null, title);
  heading.id = id;
  node.append(heading);
  if (hint) node.append(el('p', 'hint', hint));
  return node;
}

/** An SVG element with attributes. */
export function svgEl(tag, attributes = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

/** A <title> child: the tooltip of an SVG shape. */
export function svgTitle(text) {
  const title = svgEl('title');
  title.textContent = text;
  return title;
}

/** 312 → "312 ms", 1240 → "1.24 s"; null → "–". */
export function formatMs(ms) {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** A bucket's upper edge, short: 50 → "50 ms", 1500 → "1.5 s", null (the open bucket) after `last` → "> 10 s". */
export function formatEdge(le, last) {
  if (le === null) return `> ${formatEdge(last)}`;
  return le < 1000 ? `${le} ms` : `${le / 1000} s`;
}

/** 0.1234 → "12.3%"; null → "–". */
export function formatPercent(value, digits = 1) {
  if (value === null || value === undefined) return '–';
  const percent = value * 100;
  return `${Number.isInteger(percent) ? percent : percent.toFixed(digits)}%`;
}

/** A difference of two rates in percentage points, signed: 0.042 → "+4.2 points". */
export function formatPoints(difference) {
  if (difference === null || difference === undefined) return '–';
  const points = difference * 100;
  const sign = points > 0 ? '+' : points < 0 ? '−' : '±';
  return `${sign}${Math.abs(points).toFixed(1)} points`;
}

/** A signed difference in ms: 120 → "+120 ms", -1500 → "−1.50 s". */
export function formatMsDifference(difference) {
  if (difference === null || difference === undefined) return '–';
  const sign = difference > 0 ? '+' : difference < 0 ? '−' : '±';
  return `${sign}${formatMs(Math.abs(difference))}`;
}

/** "p = 0.034", "p < 0.001"; null → "–". */
export function formatP(pValue) {
  if (pValue === null || pValue === undefined) return '–';
  if (pValue < 0.001) return 'p < 0.001';
  return `p = ${pValue < 0.01 ? pValue.toFixed(3) : pValue.toFixed(2)}`;
}

/** US dollars with enough digits to tell small costs apart: 0.00312 → "$0.0031", 1.5 → "$1.50". */
export function formatUsd(usd) {
  if (usd === null || usd === undefined) return '–';
  if (usd === 0) return '$0';
  if (usd < 0.0001) return '< $0.0001';
  return usd >= 1 ? `$${usd.toFixed(2)}` : `$${Number(usd.toPrecision(2))}`;
}

/** 1234 → "1,234". */
export function formatCount(n) {
  return Number(n).toLocaleString('en-US');
}
