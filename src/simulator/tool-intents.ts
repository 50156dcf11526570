// The simulator's stand-in for the model's tool choice: when the request offers `get_current_time` or
// `calculate` and the user's last words ask for the time or for arithmetic, it calls them as asi1-mini would;
// a request to asi1-mini that offers consult_deeper_model and asks for depth hands over instead
// (escalation-intent.ts). Scripted scenarios always win; reading results back is replies.ts.

import { detectEscalation } from './escalation-intent.js';
import { textOf } from './replies.js';
import type { SimScenario, SimToolCall } from './scenario.js';

export interface ToolIntent {
  /** Spoken before the calls, as asi1-mini streams content ahead of tool_calls. */
  preamble: string;
  toolCalls: SimToolCall[];
}

export const TOOL_PREAMBLE = 'Let me check.';

const TIME_WORDS = /\b(time|date|day|today)\b/i;

/** A tiny city → IANA map for the demo; anything else gets the tool's default zone. */
const CITY_ZONES: readonly (readonly [RegExp, string])[] = [
  [/\blondon\b/i, 'Europe/London'],
  [/\bparis\b/i, 'Europe/Paris'],
  [/\bberlin\b/i, 'Europe/Berlin'],
  [/\btokyo\b/i, 'Asia/Tokyo'],
  [/\bnew york\b/i, 'America/New_York'],
  [/\blos angeles\b/i, 'America/Los_Angeles'],
  [/\bsydney\b/i, 'Australia/Sydney'],
];

const UNITS = [
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
  'nineteen',
];
const TENS = ['twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

/** Spoken operators → symbols, applied in order (longer phrases first). */
const PHRASES: readonly (readonly [RegExp, string])[] = [
  [/(?:\bthe\s+)?\bsquare\s+root\s+of\b/g, ' sqrt '],
  [/\bsquared\b/g, ' ^ 2 '],
  [/\bcubed\b/g, ' ^ 3 '],
  [/\b(?:to\s+the\s+power\s+of|raised\s+to(?:\s+the\s+power\s+of)?)\b/g, ' ^ '],
  [/\b(?:multiplied\s+by|times)\b/g, ' * '],
  [/\b(?:divided\s+by|over)\b/g, ' / '],
  [/\bplus\b/g, ' + '],
  [/\b(?:minus|negative)\b/g, ' - '],
  [/(?:\bpercent\b|%)\s*of\b/g, ' % * '],
  [/\b(?:percent|mod|modulo)\b/g, ' % '],
  [/(\d)\s*x\s*(?=\d)/g, '$1 * '],
  [/×/g, ' * '],
  [/÷/g, ' / '],
  [/−/g, ' - '],
];

const TOKEN = /sqrt|\d+(?:\.\d+)?|\.\d+|[-+*/^%()]|\S/g;
const MATH_TOKEN = /^(?:sqrt|\d+(?:\.\d+)?|\.\d+|[-+*/^%()])$/;
const isNumber = (token: string | undefined): boolean => token !== undefined && /^[\d.]/.test(token);
const isBinary = (token: string | undefined): boolean =>
  token !== undefined && '+-*/^%'.includes(token) && token.length === 1;

/** Replaces `scenario`'s default reply with tool calls when an intent applies; returns it unchanged otherwise. */
export function applyToolIntents(scenario: SimScenario, body: Record<string, unknown>): SimScenario {
  if (scenario.reply !== undefined || scenario.toolCalls !== undefined || scenario.toolCallsWithoutArray === true)
    return scenario;
  const intent = detectToolIntent(body);
  return intent === null ? scenario : { ...scenario, reply: intent.preamble, toolCalls: intent.toolCalls };
}

/**
 * The calls a model would make for the last user message, or null when none applies (also when the last message
 * is not the user's, e.g. the gateway's hand-over note to a deeper model). A hand-over is made alone.
 */
export function detectToolIntent(body: Record<string, unknown>): ToolIntent | null {
  const messages = Array.isArray(body.messages) ? (body.messages as { role?: unknown; content?: unknown }[]) : [];
  const last = messages.at(-1);
  if (last?.role !== 'user') return null;
  const text = textOf(last.content);
  const tools = toolNames(body.tools);
  const escalation = detectEscalation(body.model, tools, text);
  if (escalation !== null) return escalation;
  const toolCalls: SimToolCall[] = [];
  if (tools.has('get_current_time') && TIME_WORDS.test(text)) {
    const zone = cityTimeZone(text);
    toolCalls.push({
      name: 'get_current_time',
      arguments: JSON.stringify(zone === undefined ? {} : { timeZone: zone }),
    });
  }
  const expression = tools.has('calculate') ? toArithmeticExpression(text) : null;
  if (expression !== null) toolCalls.push({ name: 'calculate', arguments: JSON.stringify({ expression }) });
  return toolCalls.length === 0 ? null : { preamble: TOOL_PREAMBLE, toolCalls };
}

/** The IANA zone of the first well-known city named in `text`. */
export function cityTimeZone(text: string): string | undefined {
  return CITY_ZONES.find(([pattern]) => pattern.test(text))?.[1];
}

/**
 * Turns spoken arithmetic into an expression for the `calculate` tool ("what is 12 times 7" → "12 * 7",
 * "square root of 81" → "sqrt(81)", "15 percent of 80" → "15% * 80"), or null when the text has none.
 * Takes the longest run of numbers and operators that has at least one operator or root in it.
 */
export function toArithmeticExpression(text: string): string | null {
  let s = numberWordsToDigits(text.toLowerCase()).replace(/(\d),(?=\d{3}\b)/g, '$1');
  for (const [pattern, replacement] of PHRASES) s = s.replace(pattern, replacement);
  const tokens = s.match(TOKEN) ?? [];
  let best: string[] = [];
  let run: string[] = [];
  for (const token of [...tokens, '']) {
    if (MATH_TOKEN.test(token)) {
      run.push(token);
      continue;
    }
    const trimmed = trimRun(run);
    if (isArithmetic(trimmed) && trimmed.length > best.length) best = trimmed;
    run = [];
  }
  return best.length === 0 ? null : joinExpression(best);
}

function toolNames(tools: unknown): Set<string> {
  const names = new Set<string>();
  if (!Array.isArray(tools)) return names;
  for (const tool of tools as { name?: unknown; function?: { name?: unknown } }[]) {
    const name = tool?.function?.name ?? tool?.name;
    if (typeof name === 'string') names.add(name);
  }
  return names;
}

function numberWordsToDigits(text: string): string {
  const unit = UNITS.slice(1, 10).join('|');
  return text
    .replace(new RegExp(`\\b(${TENS.join('|')})[\\s-]+(${unit})\\b`, 'g'), (_m, tens: string, ones: string) =>
      String((TENS.indexOf(tens) + 2) * 10 + UNITS.indexOf(ones)),
    )
    .replace(new RegExp(`\\b(${TENS.join('|')})\\b`, 'g'), (word: string) => String((TENS.indexOf(word) + 2) * 10))
    .replace(new RegExp(`\\b(${UNITS.join('|')})\\b`, 'g'), (word: string) => String(UNITS.indexOf(word)));
}

/** Drops operators that cannot start or end an expression (a leading `-` and a trailing `%` are fine). */
function trimRun(run: string[]): string[] {
  let start = 0;
  let end = run.length;
  while (start < end && isBinary(run[start]) && run[start] !== '-') start++;
  while (
    end > start &&
    (isBinary(run[end - 1]) || run[end - 1] === 'sqrt') &&
    !(run[end - 1] === '%' && isNumber(run[end - 2]))
  )
    end--;
  return run.slice(start, end);
}

/** At least one number, and a root or an operator between two operands (`%` then counts as modulo). */
function isArithmetic(run: string[]): boolean {
  if (!run.some(isNumber)) return false;
  return run.some((token, i) => {
    if (token === 'sqrt') return true;
    if (!isBinary(token) || i === 0 || i === run.length - 1) return false;
    const prev = run[i - 1]!;
    return token === '%' ? isNumber(prev) && isNumber(run[i + 1]) : isNumber(prev) || prev === ')' || prev === '%';
  });
}

/** Spaces binary operators, attaches a percent `%`, parentheses and unary minus, and wraps a root's operand. */
function joinExpression(run: string[]): string {
  let out = '';
  for (let i = 0; i < run.length; i++) {
    const token = run[i]!;
    const prev = run[i - 1];
    if (token === 'sqrt' && isNumber(run[i + 1])) {
      out += `${spaceBefore(out, prev)}sqrt(${run[i + 1]})`;
      i++;
    } else if ((token === '%' && !isNumber(run[i + 1])) || token === ')') {
      out += token;
    } else {
      out += spaceBefore(out, prev) + token;
    }
  }
  return out;
}

function spaceBefore(out: string, prev: string | undefined): string {
  if (out === '' || prev === '(' || prev === 'sqrt') return '';
  // A minus right after another operator (or at the start) is unary: "2 * -3".
  if (prev === '-' && (out === '-' || /[-+*/^(]\s*-$/.test(out))) return '';
  return ' ';
}
