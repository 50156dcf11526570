// The built-in tools: the safe arithmetic parser (precedence, associativity, functions, limits, hostile input),
// the calculator's rounding and text, and the clock in several zones with a pinned instant.
import { describe, expect, it } from 'vitest';
import { ArithmeticError, evaluateArithmetic } from '../../src/tools/builtin/arithmetic.js';
import { calculatorTool } from '../../src/tools/builtin/calculator.js';
import { createClockTool } from '../../src/tools/builtin/clock.js';
import { BUILTIN_TOOLS } from '../../src/tools/builtin/index.js';
import type { ToolContext } from '../../src/tools/types.js';

const context: ToolContext = { signal: new AbortController().signal, sessionId: 'test' };

function errorOf(expression: string): ArithmeticError {
  try {
    evaluateArithmetic(expression);
  } catch (err) {
    if (err instanceof ArithmeticError) return err;
    throw err;
  }
  throw new Error(`${expression} evaluated without an error`);
}

describe('evaluateArithmetic', () => {
  it.each([
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['10 - 4 - 3', 3],
    ['8 / 2 / 2', 2],
    ['2 ^ 3 ^ 2', 512],
    ['2 ** 3 ** 2', 512],
    ['2 * 3 ^ 2', 18],
    ['-2 ^ 2', -4],
    ['(-2) ^ 2', 4],
    ['2 ^ -1', 0.5],
    ['--3', 3],
    ['+4 - -1', 5],
    ['7 % 4', 3],
    ['3 × 4 ÷ 2 − 1', 5],
  ])('respects precedence and associativity: %s = %d', (expression, expected) => {
    expect(evaluateArithmetic(expression)).toBe(expected);
  });

  it.each([
    ['.5 + 1.25', 1.75],
    ['1e3 + 2E-1', 1000.2],
    ['1,000 + 1,234,567.5', 1_235_567.5],
    ['  12\t*\n7  ', 84],
    ['50%', 0.5],
    ['15% * 80', 12],
    ['(10 + 10)%', 0.2],
    ['50% - 3', -2.5],
  ])('reads numbers, separators, whitespace and percent: %s = %d', (expression, expected) => {
    expect(evaluateArithmetic(expression)).toBeCloseTo(expected, 12);
  });

  it.each([
    ['sqrt(81)', 9],
    ['SQRT(16) + Abs(-2)', 6],
    ['round(2.5) + round(-2.5)', 0],
    ['round(1.005, 2)', 1.01],
    ['floor(-1.5) + ceil(1.2)', 0],
    ['ln(e)', 1],
    ['log(1000)', 3],
    ['log2(1024)', 10],
    ['exp(0)', 1],
    ['sin(0) + cos(0) + tan(0)', 1],
    ['asin(1) * 2', Math.PI],
    ['acos(1) + atan(0)', 0],
    ['min(3, 1, 2) + max(4, 9, 2)', 10],
    ['max(1,000)', 1],
    ['PI', Math.PI],
    ['2 * pi', 2 * Math.PI],
    ['π', Math.PI],
  ])('evaluates functions and constants: %s', (expression, expected) => {
    expect(evaluateArithmetic(expression)).toBeCloseTo(expected, 12);
  });

  it.each([
    ['', 'Empty expression'],
    ['   ', 'Empty expression'],
    ['2+', 'Unexpected end of expression at position 2'],
    ['2 + * 3', "Unexpected '*' at position 4"],
    ['(1', 'Unexpected end of expression at position 2'],
    ['1)', "Unexpected ')' at position 1"],
    ['1,2', "Unexpected ',' at position 1"],
    ['2(3)', "Unexpected '(' at position 1"],
    ['2pi', "Unexpected 'pi' at position 1"],
    ['foo(2)', "Unknown name 'foo' at position 0"],
    ['sqrt', "Expected '(' after sqrt at position 4"],
    ['sqrt(1, 2)', 'sqrt() at position 0 takes 1 argument, got 2'],
    ['1 / 0', 'Division by zero at position 2'],
    ['5 % 0', 'Modulo by zero at position 2'],
    ['sqrt(-1)', 'sqrt() at position 0 is undefined for -1'],
    ['(-8) ^ (1/3)', "Result of '^' at position 5 is not a real number"],
    ['10 ^ 400', "Result of '^' at position 3 is too large to compute"],
    ['1e999', 'Number too large at position 0'],
    ['2 $ 3', "Unexpected character '$' at position 2"],
  ])('rejects %j with a positioned message', (expression, message) => {
    expect(errorOf(expression).message).toBe(message);
  });

  it('reports the position as a property too', () => {
    expect(errorOf('2 + * 3').position).toBe(4);
    expect(errorOf('2 + * 3')).toBeInstanceOf(Error);
    expect(errorOf('2 + * 3').name).toBe('ArithmeticError');
  });

  it('rejects expressions over 500 characters and nesting over 64 levels', () => {
    expect(errorOf(`1${'+1'.repeat(250)}`).message).toBe('Expression is longer than 500 characters');
    expect(evaluateArithmetic(`${'('.repeat(63)}1${')'.repeat(63)}`)).toBe(1);
    expect(errorOf(`${'('.repeat(65)}1${')'.repeat(65)}`).message).toMatch(/nested more than 64 levels/);
    expect(errorOf(`${'-'.repeat(100)}1`).message).toMatch(/nested more than 64 levels/);
    expect(errorOf(`${'sqrt('.repeat(70)}1${')'.repeat(70)}`).message).toMatch(/nested more than 64 levels/);
  });

  it.each([
    'constructor',
    '__proto__',
    'toString(1)',
    'valueOf()',
    'process.exit()',
    'this',
    'globalThis',
    'require("fs")',
    'Math.PI',
    'alert`1`',
  ])('rejects %j safely as an ArithmeticError', (expression) => {
    expect(() => evaluateArithmetic(expression)).toThrow(ArithmeticError);
  });
});

describe('calculate tool', () => {
  const run = (expression: string): unknown => calculatorTool.execute({ expression }, context);

  it('returns the expression, the result and a text line', () => {
    expect(run(' 12 * 7 ')).toEqual({ expression: '12 * 7', result: 84, text: '12 times 7 is 84' });
  });

  it('rounds to 12 significant digits to hide float noise', () => {
    expect(run('0.1 + 0.2')).toMatchObject({ result: 0.3, text: '0.1 plus 0.2 is 0.3' });
    expect(run('1 / 3')).toMatchObject({ result: 0.333333333333 });
    expect(run('-0 * 5')).toMatchObject({ result: 0, text: '-0 times 5 is 0' });
  });

  it('throws for a bad expression, so the registry reports a tool error', () => {
    expect(() => run('1 / 0')).toThrow('Division by zero at position 2');
  });

  it('declares a TypeBox object schema that limits the expression length', () => {
    expect(calculatorTool.name).toBe('calculate');
    expect(calculatorTool.description).toMatch(/any arithmetic/i);
    expect(calculatorTool.parameters).toMatchObject({
      type: 'object',
      required: ['expression'],
      properties: { expression: { type: 'string', minLength: 1, maxLength: 500 } },
    });
  });
});

describe('get_current_time tool', () => {
  const winter = new Date('2026-11-25T17:20:00Z');
  const summer = new Date('2026-07-01T12:05:00Z');
  const clockAt = (instant: Date) => createClockTool(() => instant);

  it('defaults to UTC and formats a 24-hour time and a spoken line', () => {
    expect(clockAt(winter).execute({}, context)).toEqual({
      timeZone: 'UTC',
      iso: '2026-11-25T17:20:00.000Z',
      date: 'Wednesday, 25 November 2026',
      time: '17:20',
      utcOffset: '+00:00',
      text: 'It is 17:20 on Wednesday, 25 November 2026 in UTC.',
    });
  });

  it.each([
    [winter, 'Europe/Paris', '18:20', '+01:00', 'Wednesday, 25 November 2026'],
    [summer, 'Europe/Paris', '14:05', '+02:00', 'Wednesday, 1 July 2026'],
    [winter, 'Europe/London', '17:20', '+00:00', 'Wednesday, 25 November 2026'],
    [summer, 'Europe/London', '13:05', '+01:00', 'Wednesday, 1 July 2026'],
    [winter, 'America/New_York', '12:20', '-05:00', 'Wednesday, 25 November 2026'],
    [summer, 'America/New_York', '08:05', '-04:00', 'Wednesday, 1 July 2026'],
    [winter, 'Asia/Tokyo', '02:20', '+09:00', 'Thursday, 26 November 2026'],
    [winter, 'Australia/Sydney', '04:20', '+11:00', 'Thursday, 26 November 2026'],
    [summer, 'Asia/Kolkata', '17:35', '+05:30', 'Wednesday, 1 July 2026'],
  ])('at %s in %s it is %s (UTC%s, DST-aware)', (instant, timeZone, time, utcOffset, date) => {
    const result = clockAt(instant).execute({ timeZone }, context);
    expect(result).toMatchObject({ timeZone, time, utcOffset, date, text: `It is ${time} on ${date} in ${timeZone}.` });
  });

  it('accepts any capitalisation and reports the canonical name', () => {
    expect(clockAt(winter).execute({ timeZone: 'europe/paris' }, context)).toMatchObject({ timeZone: 'Europe/Paris' });
  });

  it('throws a clear error for an unknown zone', () => {
    expect(() => clockAt(winter).execute({ timeZone: 'Mars/Olympus' }, context)).toThrow(
      'Unknown time zone "Mars/Olympus"',
    );
    expect(() => clockAt(winter).execute({ timeZone: 'Paris' }, context)).toThrow(/Unknown time zone "Paris".*IANA/);
  });

  it('reads the clock on every call', () => {
    let now = winter;
    const tool = createClockTool(() => now);
    expect(tool.execute({}, context)).toMatchObject({ time: '17:20' });
    now = summer;
    expect(tool.execute({}, context)).toMatchObject({ time: '12:05' });
  });
});

describe('BUILTIN_TOOLS', () => {
  it('lists the clock and the calculator with unique names', () => {
    expect(BUILTIN_TOOLS.map((tool) => tool.name)).toEqual(['get_current_time', 'calculate']);
  });
});
