// The `calculate` tool: evaluates an arithmetic expression with the safe parser in arithmetic.ts and rounds
// the result for speech. Parsing rules live in arithmetic.ts; this file owns the tool contract.
import { Type } from '@sinclair/typebox';
import { defineTool } from '../types.js';
import { evaluateExpression, MAX_EXPRESSION_CHARS } from './arithmetic.js';

/** 12 significant digits hide binary noise (0.1 + 0.2 → 0.3) and still exceed what anyone wants read aloud. */
const SIGNIFICANT_DIGITS = 12;

export interface CalculatorResult {
  expression: string;
  result: number;
  /** A speakable line, e.g. "12 * 7 = 84". */
  text: string;
}

/** Beyond 2^53, String and JSON write a double's shortest digits (2^60 as 1152921504606847000), not its own. */
const MAX_WHOLE = 2 ** 53;

/**
 * Rounds to 12 significant digits and turns -0 into 0. An `exact` integer up to 2^53 (9007199254740992,
 * 123456789 * 1000) is kept whole: its digits are the answer, not noise.
 */
export function roundForSpeech(value: number, exact = false): number {
  const whole = exact && Number.isInteger(value) && Math.abs(value) <= MAX_WHOLE;
  const rounded = whole ? value : Number(value.toPrecision(SIGNIFICANT_DIGITS));
  return rounded === 0 ? 0 : rounded;
}

export function calculate(expression: string): CalculatorResult {
  const trimmed = expression.trim();
  const { value, exact } = evaluateExpression(trimmed);
  const result = roundForSpeech(value, exact);
  return { expression: trimmed, result, text: `${speakExpression(trimmed)} is ${result}` };
}

export const calculatorTool = defineTool({
  name: 'calculate',
  description:
    'Evaluates an arithmetic expression reliably (results rounded to 12 significant digits). Use it for ANY arithmetic instead of computing in your head, ' +
    'including percentages, powers, roots and unit-free conversions. Supports + - * / % (modulo) ^ (power), ' +
    'parentheses, 50% (percent, so "15% of 80" is 15% * 80), the constants pi and e, and the functions sqrt, abs, ' +
    'round(x, digits), floor, ceil, ln, log (base 10), log2, exp, sin, cos, tan, asin, acos, atan (radians), min, max. ' +
    'Returns the result and a short text to read out.',
  parameters: Type.Object({
    expression: Type.String({
      minLength: 1,
      maxLength: MAX_EXPRESSION_CHARS,
      description: 'The expression with digits and symbols, e.g. "12 * 7", "sqrt(81)", "(3 + 4) ^ 2", "15% * 80".',
    }),
  }),
  execute: ({ expression }) => calculate(expression),
});

const SPOKEN_OPERATORS: [RegExp, string][] = [
  [/\*\*|\^/g, ' to the power of '],
  [/[*×]/g, ' times '],
  [/[/÷]/g, ' divided by '],
  [/\+/g, ' plus '],
  [/(?<=[\d)\s])[-−](?=[\s\d(])/g, ' minus '],
];

/** "12 * 7" → "12 times 7": the text is read aloud, and voices say "*" as "asterisk" or "star". */
export function speakExpression(expression: string): string {
  let text = expression;
  for (const [pattern, word] of SPOKEN_OPERATORS) text = text.replace(pattern, word);
  return text.replace(/\s+/g, ' ').trim();
}
