// The calculate tool as the model and the listener meet it (src/tools/builtin/calculator.ts): the spoken line
// with operators said as words and signs left alone, the 12-digit rounding, and the description and schema the
// model reads to decide what to send.
import { describe, expect, it } from 'vitest';
import { calculate, calculatorTool, roundForSpeech } from '../../src/tools/builtin/calculator.js';
import type { ToolContext } from '../../src/tools/types.js';

const context: ToolContext = { signal: new AbortController().signal, sessionId: 'test' };

/** Every function the calculator evaluates. */
const FUNCTIONS = [
  'sqrt',
  'abs',
  'round',
  'floor',
  'ceil',
  'ln',
  'log',
  'log2',
  'exp',
  'sin',
  'cos',
  'tan',
  'asin',
  'acos',
  'atan',
  'min',
  'max',
];

describe('calculate: the spoken line', () => {
  it.each([
    ['2 ^ 10', '2 to the power of 10 is 1024'],
    ['2 ** 10', '2 to the power of 10 is 1024'],
    ['10 / 4', '10 divided by 4 is 2.5'],
    ['10 ÷ 4', '10 divided by 4 is 2.5'],
    ['3 × 4', '3 times 4 is 12'],
    ['7 - 2', '7 minus 2 is 5'],
    ['7-2', '7 minus 2 is 5'],
    ['7 − 2', '7 minus 2 is 5'],
    ['(1 + 2)-3', '(1 plus 2) minus 3 is 0'],
    ['2-(1)', '2 minus (1) is 1'],
  ])('says the operators in %j as words: %j', (expression, text) => {
    expect(calculate(expression).text).toBe(text);
  });

  it.each([
    ['-3 * 2', '-3 times 2 is -6'],
    ['(-8) * 2', '(-8) times 2 is -16'],
    ['1e-5 * 2', '1e-5 times 2 is 0.00002'],
    ['max(-1, 2)', 'max(-1, 2) is 2'],
  ])('leaves the sign in %j as written: %j', (expression, text) => {
    expect(calculate(expression).text).toBe(text);
  });

  it('starts the line with a word, not a space, when the expression starts with an operator', () => {
    expect(calculate('+3').text).toBe('plus 3 is 3');
  });
});

describe('roundForSpeech', () => {
  it('rounds a number not known to be exact to 12 significant digits, even an integer', () => {
    expect(roundForSpeech(1234567891234)).toBe(1234567891230);
    expect(roundForSpeech(1234567891234, true)).toBe(1234567891234);
    expect(Object.is(roundForSpeech(-0), 0)).toBe(true);
  });
});

describe('calculate tool: what the model reads', () => {
  const { description } = calculatorTool;

  it.each(FUNCTIONS)('names %s() in its description, and evaluates it', (name) => {
    expect(description).toMatch(new RegExp(`\\b${name}\\b`));
    expect(calculatorTool.execute({ expression: `${name}(1)` }, context)).toMatchObject({ expression: `${name}(1)` });
  });

  it('describes the operators, percent, the constants and the answer it returns', () => {
    expect(description).toContain('+ - * / % (modulo) ^ (power)');
    expect(description).toMatch(/50% \(percent/);
    expect(description).toMatch(/constants pi and e\b/);
    expect(description).toMatch(/Returns the result and a short text to read out/);
  });

  it('gives examples in the parameter description that all evaluate', () => {
    const { properties } = calculatorTool.parameters as { properties: { expression: { description: string } } };
    const examples = [...properties.expression.description.matchAll(/"([^"]+)"/g)].map((match) => match[1]!);
    expect(examples.length).toBeGreaterThanOrEqual(3);
    for (const expression of examples) expect(() => calculate(expression)).not.toThrow();
  });
});
