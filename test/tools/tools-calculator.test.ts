// The calculator's numbers as they are spoken (issue #14): rounding to 12 significant digits, rounding noise
// taken for the zero it is, underflow and overflow reported as errors, and exact integers kept exact.
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

describe('calculate: rounding noise', () => {
  it.each([
    ['1/(0.1+0.2-0.3)', 'Division by zero at position 1'],
    ['1 / (0.3 - 0.1 - 0.2)', 'Division by zero at position 2'],
    ['1 / (sqrt(2) ^ 2 - 2)', 'Division by zero at position 2'],
    ['1 / sin(pi)', 'Division by zero at position 2'],
    ['5 % (0.1 + 0.2 - 0.3)', 'Modulo by zero at position 2'],
  ])('treats %j, a divisor that is zero within rounding, as a division by zero', (expression, message) => {
    expect(messageOf(expression)).toBe(message);
  });

  it.each([
    '0.1 + 0.2 - 0.3',
    '0.3 - 0.1 - 0.2',
    '-(0.1 + 0.2 - 0.3)',
    'exp(ln(10)) - 10',
    'sin(pi)',
    'cos(pi / 2)',
    'tan(pi)',
    '1 % 0.1',
    '0.3 % 0.1',
  ])('speaks %j as 0, never as a tiny number or -0', (expression) => {
    const { result, text } = calculate(expression);
    expect(Object.is(result, 0)).toBe(true);
    expect(text).toMatch(/ is 0$/);
  });

  it('says tan is undefined where cos is zero within rounding', () => {
    expect(messageOf('tan(pi / 2)')).toBe('tan() at position 0 is undefined for 1.5707963267948966');
  });

  it.each([
    ['1/1e-20', 1e20],
    ['1 / (1e-20 - 1e-21)', 1.11111111111e20],
    ['1 / 1e-300', 1e300],
    ['1 - 0.99', 0.01],
    ['sin(1e13)', -0.288885294818],
    ['7.5 % 2', 1.5],
    ['-7 % 3', -1],
  ])('keeps a small but real operand or result: %s = %d', (expression, expected) => {
    expect(calculate(expression).result).toBe(expected);
  });
});

describe('calculate: significant digits and exact integers', () => {
  it.each([
    ['0.1 + 0.2', 0.3],
    ['1 / 3', 0.333333333333],
    ['2 / 3', 0.666666666667],
    ['0.1 * 3', 0.3],
    ['7e15 * 1.1', 7_700_000_000_000_000],
    ['2 ^ 53 + 1', 9_007_199_254_740_000],
    ['2 ^ 60', 1_152_921_504_610_000_000],
  ])('rounds an inexact result to 12 significant digits: %s = %d', (expression, expected) => {
    expect(calculate(expression).result).toBe(expected);
  });

  it.each([
    ['2^53', '9007199254740992'],
    ['3 ^ 33', '5559060566555523'],
    ['10 ^ 15 + 1', '1000000000000001'],
    ['1000000000000001 - 1000000000000000', '1'],
    ['123456789 * 1000', '123456789000'],
    ['1234567891234 * 1000', '1234567891234000'],
    ['1e15 + 1', '1000000000000001'],
    ['2 ^ 60 / 2 ^ 10', '1125899906842624'],
    ['-(2 ^ 53)', '-9007199254740992'],
    ['max(9007199254740992, 1)', '9007199254740992'],
  ])('keeps the exact integer %s = %s', (expression, expected) => {
    const { result, text } = calculate(expression);
    expect(BigInt(result)).toBe(BigInt(expected));
    expect(text).toMatch(new RegExp(` is ${expected}$`));
  });

  it.each([
    ['round(1234567.891, 15)', 1234567.891],
    ['round(123456789012, 10)', 123456789012],
    ['round(2500000, 15)', 2500000],
    ['round(-2.5, 0)', -3],
    ['round(1.005, 2)', 1.01],
  ])('rounds with round(): %s = %d, however many digits a double has left', (expression, expected) => {
    expect(calculate(expression).result).toBe(expected);
  });

  it('turns -0 into 0', () => {
    expect(Object.is(calculate('-0 * 5').result, 0)).toBe(true);
    expect(Object.is(calculate('0 * -1').result, 0)).toBe(true);
  });
});

describe('calculate: underflow and overflow', () => {
  it.each([
    ['10^-400', "Result of '^' at position 2 is too small to compute"],
    ['0.5 ^ 2000', "Result of '^' at position 4 is too small to compute"],
    ['1e-200 * 1e-200', "Result of '*' at position 7 is too small to compute"],
    ['1e-300 / 1e10', "Result of '/' at position 7 is too small to compute"],
    ['3e-308 - 2.9e-308', "Result of '-' at position 7 is too small to compute"],
    ['1e-307%', "Result of '%' at position 6 is too small to compute"],
    ['exp(-1000)', "Result of 'exp' at position 0 is too small to compute"],
    ['1e-400', 'Number too small at position 0'],
    ['2 * 1e-310', 'Number too small at position 4'],
  ])('reports underflow in %j as an error, not as 0', (expression, message) => {
    expect(messageOf(expression)).toBe(message);
  });

  it.each([
    ['10^400', "Result of '^' at position 2 is too large to compute"],
    ['1e308 * 10', "Result of '*' at position 6 is too large to compute"],
    ['exp(1000)', "Result of 'exp' at position 0 is too large to compute"],
  ])('reports overflow in %j as an error, not as Infinity', (expression, message) => {
    expect(messageOf(expression)).toBe(message);
  });

  it('reports a number written with thousands separators that is too large for a double', () => {
    expect(messageOf(`1${',000'.repeat(110)}`)).toBe('Number too large at position 0');
  });

  it.each([
    ['0 * 1e-200', 0],
    ['0 ^ 5', 0],
    ['0e-400 + 1', 1],
    ['round(1e-300, 2)', 0],
    ['1e-300 * 1e-7', 1e-307],
  ])('still answers %j, whose exact result is 0 or a normal number', (expression, expected) => {
    expect(calculate(expression).result).toBe(expected);
  });
});
