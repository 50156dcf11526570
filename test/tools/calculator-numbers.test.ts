// Which numbers the calculator speaks in full and which it rounds to 12 significant digits, where zero and
// underflow begin, where rounding noise ends, and what round() accepts: the answers a listener hears for
// expressions at the edges of what a double holds (src/tools/builtin/arithmetic-ops.ts through calculate()).
import { describe, expect, it } from 'vitest';
import { calculate } from '../../src/tools/builtin/calculator.js';

function messageOf(expression: string): string {
  try {
    calculate(expression);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`${expression} evaluated without an error`);
}

const spoken = (expression: string): string => calculate(expression).text.replace(/^.* is /, '');

describe('calculate: typed numbers spoken in full or rounded', () => {
  it.each([
    ['1.234567891234e12', '1234567891234'],
    ['1234567891234.0', '1234567891234'],
    ['0 + 1234567891234', '1234567891234'],
    ['0.0 + 1234567891234', '1234567891234'],
  ])('speaks %j, an integer written exactly, in full as %s', (expression, expected) => {
    expect(spoken(expression)).toBe(expected);
  });

  it.each([
    ['9007199254740993', '9007199254740000'],
    ['9.007199254740993e15', '9007199254740000'],
    ['9.007199254740993e+15', '9007199254740000'],
    ['90071992547409930e-1', '9007199254740000'],
    ['1234567891234.00000001', '1234567891230'],
  ])('rounds %j, which no double holds exactly, to 12 significant digits: %s', (expression, expected) => {
    expect(spoken(expression)).toBe(expected);
  });

  it('reads a zero with an enormous exponent as 0', () => {
    expect(calculate('0e99999999999999 + 1').result).toBe(1);
    expect(calculate('0e99999999999999').text).toBe('0e99999999999999 is 0');
  });
});

describe('calculate: exact integer steps spoken in full', () => {
  it.each([
    ['1234567891234 - 1', '1234567891233'],
    ['-1234567891234 % 5000000000000', '-1234567891234'],
    ['1234567891234 * 7 ^ 0', '1234567891234'],
    ['123456789123400%', '1234567891234'],
    ['abs(-1234567891234)', '1234567891234'],
    ['floor(1234567891234)', '1234567891234'],
    ['ceil(-1234567891234)', '-1234567891234'],
    ['round(1234567891234)', '1234567891234'],
    ['min(1234567891234, 9999999999999)', '1234567891234'],
  ])('speaks %j in full: %s', (expression, expected) => {
    expect(spoken(expression)).toBe(expected);
  });

  it.each([
    ['2 ^ 53 - -1', '9007199254740000'],
    ['3 * 3002399751580331', '9007199254740000'],
    ['(2 ^ 54 + 4) / 3', '6004799503160000'],
    ['3 ^ 34 - 10 ^ 16', '6677181699670000'],
    ['max(1, 9007199254740993)', '9007199254740000'],
  ])('rounds %j, whose last digits a double lost on the way, to 12 significant digits: %s', (expression, expected) => {
    expect(spoken(expression)).toBe(expected);
  });
});

describe('calculate: zero, underflow and the smallest normal number', () => {
  it.each([
    ['1e-200 * 0', 0],
    ['0%', 0],
    ['0 / 7', 0],
  ])('answers %j with 0, a true zero', (expression, expected) => {
    expect(calculate(expression).result).toBe(expected);
  });

  it('reports a quotient that underflows to 0 as too small, not as 0', () => {
    expect(messageOf('1e-300 / 1e300')).toBe("Result of '/' at position 7 is too small to compute");
  });

  it('accepts the smallest normal double, typed or computed', () => {
    expect(calculate('2.2250738585072014e-308 * 1e300').result).toBe(2.22507385851e-8);
    expect(calculate('2 ^ -1022').result).toBe(2.22507385851e-308);
  });
});

describe('calculate: the edge of rounding noise', () => {
  // 1.021405182655144 - 1.0214051826550419 is exactly 1e-13 of the larger operand (as doubles compute it).
  it.each([
    '1.021405182655144 - 1.0214051826550419',
    '1.021405182655144 + -1.0214051826550419',
    '-1.0214051826550419 + 1.021405182655144',
  ])('takes %j, a difference of exactly 1e-13 of the operands, for noise: 0', (expression) => {
    expect(calculate(expression).text).toMatch(/ is 0$/);
  });

  it('keeps a difference one step above 1e-13 of the operands', () => {
    expect(calculate('1.021405182655144 - 1.0214051826550417').result).toBe(1.0236256287e-13);
  });
});

describe('calculate: round()', () => {
  it.each([
    ['round(0.1234567890123456, 15)', 0.123456789012],
    ['round(0.0000001234567, 10)', 1.235e-7],
    ['round(-0.0000001234567, 10)', -1.235e-7],
    ['round(1e15, 15)', 1e15],
    ['round(1234567890123456, 15)', 1234567890123456],
  ])('%s = %d', (expression, expected) => {
    expect(calculate(expression).result).toBe(expected);
  });

  it.each([
    ['round(2.5, 1.5)', 'round() digits must be a whole number from 0 to 15, got 1.5'],
    ['round(2.5, -1)', 'round() digits must be a whole number from 0 to 15, got -1'],
    ['round(2.5, 16)', 'round() digits must be a whole number from 0 to 15, got 16'],
    ['round(1, 2, 3)', 'round() at position 0 takes 1 to 2 arguments, got 3'],
  ])('rejects %j: %s', (expression, message) => {
    expect(messageOf(expression)).toBe(message);
  });
});
