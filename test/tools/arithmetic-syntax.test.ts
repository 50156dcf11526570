// What the calculator's parser accepts at the edges of its grammar (src/tools/builtin/arithmetic.ts): the length
// and nesting limits, thousands separators, percent against modulo, and numbers written with a leading point.
import { describe, expect, it } from 'vitest';
import { ArithmeticError, evaluateArithmetic } from '../../src/tools/builtin/arithmetic.js';

function messageOf(expression: string): string {
  try {
    evaluateArithmetic(expression);
  } catch (err) {
    if (err instanceof ArithmeticError) return err.message;
    throw err;
  }
  throw new Error(`${expression} evaluated without an error`);
}

describe('evaluateArithmetic: limits', () => {
  it('accepts an expression of exactly 500 characters', () => {
    const expression = `11${'+1'.repeat(249)}`;
    expect(expression).toHaveLength(500);
    expect(evaluateArithmetic(expression)).toBe(260);
  });

  it('accepts exactly 64 levels of parentheses', () => {
    expect(evaluateArithmetic(`${'('.repeat(64)}1${')'.repeat(64)}`)).toBe(1);
  });

  it('counts nesting depth, not the number of parenthesised groups side by side', () => {
    expect(evaluateArithmetic(Array.from({ length: 100 }, () => '(1)').join('+'))).toBe(100);
    expect(evaluateArithmetic(Array.from({ length: 70 }, () => 'abs(1)').join('+'))).toBe(70);
  });
});

describe('evaluateArithmetic: thousands separators', () => {
  it.each([
    ['12,345', 12_345],
    ['1,000.25', 1000.25],
    ['(1,000) * 2', 2000],
    ['max((1,000), 2)', 1000],
    ['max(2, (1,000,000))', 1_000_000],
  ])('reads %j as %d', (expression, expected) => {
    expect(evaluateArithmetic(expression)).toBe(expected);
  });

  it.each([
    ['1234,567', "Unexpected ',' at position 4"],
    ['1 ,000', "Unexpected ',' at position 2"],
    ['1, 000', "Unexpected ',' at position 1"],
    ['1,1000', "Unexpected ',' at position 1"],
    ['1,00', "Unexpected ',' at position 1"],
    ['1,000.5,000', "Unexpected ',' at position 7"],
  ])('does not take the comma in %j for a thousands separator: %s', (expression, message) => {
    expect(messageOf(expression)).toBe(message);
  });
});

describe('evaluateArithmetic: percent or modulo', () => {
  it.each([
    ['7 % abs(-4)', 3],
    ['7 % (4)', 3],
    ['10 % e', 10 % Math.E],
    ['7 %4', 3],
  ])('takes %j, where an operand follows the sign, for modulo: %d', (expression, expected) => {
    expect(evaluateArithmetic(expression)).toBeCloseTo(expected, 12);
  });

  it('reads a % followed by an operator or the end as percent', () => {
    expect(evaluateArithmetic('50% + 1')).toBe(1.5);
    expect(evaluateArithmetic('(50%)')).toBe(0.5);
  });
});

describe('evaluateArithmetic: numbers', () => {
  it.each([
    ['.25 * 4', 1],
    ['.125e1', 1.25],
    ['1.e2', 100],
  ])('reads %j as %d', (expression, expected) => {
    expect(evaluateArithmetic(expression)).toBe(expected);
  });
});
