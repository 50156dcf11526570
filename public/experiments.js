// The experiments dashboard: loads GET /v1/experiments, asks for the metrics token when the gateway answers 401
// (kept in this tab's sessionStorage, sent as a Bearer token), and refreshes on demand and every 10 s while the
// tab is visible. The figures are drawn by experiments-view.js; a refresh that changed nothing redraws nothing.
import { renderNoExperiment, renderReport } from './experiments-view.js';

const TOKEN_KEY = 'asi1-voice.metrics-token';
const REFRESH_MS = 10_000;
/** What a browser can send in an Authorization header. */
const SENDABLE = /^[\x21-\x7e]+$/;

const $ = (id) => document.getElementById(id);
const report = $('report');
const problem = $('problem');
const updated = $('updated');
const refreshButton = $('refresh');
const auto = $('auto');
const tokenForm = $('token-form');
const tokenInput = $('metrics-token');
const tokenError = $('token-error');

const storage = (() => {
  try {
    return window.sessionStorage;
  } catch {
    return null; // storage blocked: the token lasts until the page is closed
  }
})();
let token = storage?.getItem(TOKEN_KEY) ?? '';
let loading = null;
let shown = null; // the JSON last drawn

function showProblem(text) {
  problem.textContent = text;
  problem.hidden = text === '';
}

function askForToken(rejected) {
  const wasHidden = tokenForm.hidden;
  tokenForm.hidden = false;
  tokenError.hidden = !rejected;
  report.replaceChildren();
  shown = null;
  updated.textContent = 'Waiting for the metrics token';
  if (rejected) {
    token = '';
    storage?.removeItem(TOKEN_KEY);
  }
  if (wasHidden || rejected) tokenInput.focus();
}

/** Redraws the figures, keeping open "numbers" tables open and the focus where it was. */
function draw(body) {
  const open = new Set([...report.querySelectorAll('details[open]')].map((d) => d.dataset.key));
  const focused = report.contains(document.activeElement)
    ? document.activeElement.closest('details')?.dataset.key
    : null;
  report.replaceChildren(...(body.experiment === null ? renderNoExperiment() : renderReport(body)));
  for (const details of report.querySelectorAll('details')) {
    if (open.has(details.dataset.key)) details.open = true;
    if (focused && details.dataset.key === focused) details.querySelector('summary')?.focus();
  }
}

async function fetchReport() {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  let response;
  try {
    response = await window.fetch('v1/experiments', { headers, cache: 'no-store' });
  } catch {
    showProblem('Could not reach the gateway. The figures below may be out of date; it will try again.');
    return;
  }
  if (response.status === 401) {
    askForToken(token !== '');
    return;
  }
  const body = await response.json().catch(() => null);
  if (!response.ok || body === null || !Array.isArray(body.arms)) {
    const why = body?.error?.message ?? `The gateway answered ${response.status}.`;
    showProblem(`Could not load the figures: ${why}`);
    return;
  }
  tokenForm.hidden = true;
  showProblem('');
  const json = JSON.stringify(body);
  if (json !== shown) {
    shown = json;
    draw(body);
  }
  updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
}

/** Loads the figures once; a load already under way is joined, not repeated. */
function load() {
  if (!loading) {
    report.setAttribute('aria-busy', 'true');
    refreshButton.setAttribute('aria-disabled', 'true');
    loading = fetchReport().finally(() => {
      loading = null;
      report.removeAttribute('aria-busy');
      refreshButton.removeAttribute('aria-disabled');
    });
  }
  return loading;
}

tokenForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const value = tokenInput.value.trim();
  if (!SENDABLE.test(value)) {
    tokenError.textContent = 'A token is letters, digits and punctuation, without spaces.';
    tokenError.hidden = false;
    tokenInput.focus();
    return;
  }
  tokenError.textContent = 'That token was not accepted. Check it and try again.';
  token = value;
  storage?.setItem(TOKEN_KEY, value);
  tokenInput.value = '';
  void load();
});
refreshButton.addEventListener('click', () => void load());
window.setInterval(() => {
  if (auto.checked && tokenForm.hidden && document.visibilityState === 'visible') void load();
}, REFRESH_MS);
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && auto.checked && tokenForm.hidden) void load();
});

void load();
