// A safe arithmetic evaluator for the calculator tool: the tokenizer and a hand-written recursive-descent parser
// that evaluates as it parses. No eval, no Function, no property lookups on user-named keys. What operators and
// functions compute, and which results are errors, is in arithmetic-ops.ts; rounding for speech is not here.
import {
  applyOperator,
  applyPercent,
  ArithmeticError,
  callFunction,
  constant,
  isFunction,
  literal,
  negate,
} from './arithmetic-ops.js';
import type { Num } from './arithmetic-ops.js';

export { ArithmeticError } from './arithmetic-ops.js';
export type { Num } from './arithmetic-ops.js';

export const MAX_EXPRESSION_CHARS = 500;
export const MAX_NESTING_DEPTH = 64;

type TokenKind = 'number' | 'name' | 'op' | '(' | ')' | ',' | 'end';

interface Token {
  kind: TokenKind;
  /** The source text (operators are normalised: `**` → `^`, `×` → `*`, `÷` → `/`, `−` → `-`). */
  text: string;
  pos: number;
  end: number;
  /** A number token's value. */
  num?: Num;
}

const OPERATOR_ALIASES = new Map<string, string>([
  ['×', '*'],
  ['÷', '/'],
  ['−', '-'],
]);
const NUMBER = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const NAME = /[A-Za-z_π][A-Za-z0-9_]*/y;

/**
 * Evaluates `expression` and returns a finite number, or throws ArithmeticError.
 *
 * Grammar, loosest to tightest: `+ -`, then `* / %` (`%` is modulo), then unary `- +`, then `^` (or `**`,
 * right-associative, so `2^3^2` is 512 and `-2^2` is -4 as in mathematics; `2^-1` is allowed), then postfix
 * `%` (percent: divides by 100, chosen when the `%` is not followed by a number, name or `(`, so `50%` is 0.5
 * and `15% * 80` is 12, while `7 % 4` is 3), then numbers, constants (`pi`, `e`), calls and parentheses.
 * Names are case-insensitive; trig is in radians; `round(x, digits?)` rounds half away from zero.
 * Commas separate function arguments; outside an argument list, `1,000` (groups of exactly three digits,
 * no spaces) is a thousands separator. There is no implicit multiplication (`2(3)` and `2pi` are errors).
 * Rounding noise counts as 0, and underflow and overflow are errors (see arithmetic-ops.ts).
 */
export function evaluateArithmetic(expression: string): number {
  return evaluateExpression(expression).value;
}

/** The value of `expression` and whether it is exactly the integer the expression denotes (then speakable in full). */
export function evaluateExpression(expression: string): Num {
  if (expression.length > MAX_EXPRESSION_CHARS) {
    throw new ArithmeticError(`Expression is longer than ${MAX_EXPRESSION_CHARS} characters`);
  }
  const tokens = tokenize(expression);
  if (tokens[0]?.kind === 'end') throw new ArithmeticError('Empty expression', 0);
  return new Parser(tokens).parse();
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, text: string, length: number, num?: Num): void => {
    tokens.push({ kind, text, pos: i, end: i + length, num });
    i += length;
  };
  while (i < source.length) {
    const char = source[i]!;
    if (/\s/.test(char)) {
      i++;
      continue;
    }
    NUMBER.lastIndex = i;
    const number = NUMBER.exec(source)?.[0];
    if (number !== undefined) {
      push('number', number, number.length, literal(number, i));
      continue;
    }
    NAME.lastIndex = i;
    const name = NAME.exec(source)?.[0];
    if (name !== undefined) push('name', name, name.length);
    else if (source.startsWith('**', i)) push('op', '^', 2);
    else if ('+-*/%^'.includes(char)) push('op', char, 1);
    else if (OPERATOR_ALIASES.has(char)) push('op', OPERATOR_ALIASES.get(char)!, 1);
    else if (char === '(' || char === ')' || char === ',') push(char, char, 1);
    else
      throw new ArithmeticError(
        `Unexpected character '${String.fromCodePoint(source.codePointAt(i)!)}' at position ${i}`,
        i,
      );
  }
  tokens.push({ kind: 'end', text: '', pos: source.length, end: source.length });
  return tokens;
}

class Parser {
  readonly #tokens: Token[];
  #index = 0;
  #depth = 0;
  /** True while parsing a function's argument list, where a comma separates arguments. */
  #inArguments = false;

  constructor(tokens: Token[]) {
    this.#tokens = tokens;
  }

  parse(): Num {
    const value = this.#additive();
    const next = this.#peek();
    if (next.kind !== 'end') throw unexpected(next);
    return value;
  }

  #peek(offset = 0): Token {
    return this.#tokens[Math.min(this.#index + offset, this.#tokens.length - 1)]!;
  }

  #take(): Token {
    const token = this.#peek();
    if (token.kind !== 'end') this.#index++;
    return token;
  }

  #expect(kind: TokenKind): Token {
    const token = this.#peek();
    if (token.kind !== kind) throw unexpected(token);
    return this.#take();
  }

  /** Guards recursion: parentheses, calls, unary chains and power chains each count one level. */
  #nested<T>(at: Token, parse: () => T): T {
    if (++this.#depth > MAX_NESTING_DEPTH) {
      throw new ArithmeticError(
        `Expression is nested more than ${MAX_NESTING_DEPTH} levels deep at position ${at.pos}`,
        at.pos,
      );
    }
    try {
      return parse();
    } finally {
      this.#depth--;
    }
  }

  #additive(): Num {
    let value = this.#multiplicative();
    for (let op = this.#peek(); op.kind === 'op' && (op.text === '+' || op.text === '-'); op = this.#peek()) {
      this.#take();
      value = applyOperator(op, value, this.#multiplicative());
    }
    return value;
  }

  #multiplicative(): Num {
    let value = this.#unary();
    for (let op = this.#peek(); op.kind === 'op' && '*/%'.includes(op.text); op = this.#peek()) {
      this.#take();
      value = applyOperator(op, value, this.#unary());
    }
    return value;
  }

  #unary(): Num {
    const op = this.#peek();
    if (op.kind === 'op' && (op.text === '-' || op.text === '+')) {
      this.#take();
      const operand = this.#nested(op, () => this.#unary());
      return op.text === '-' ? negate(operand) : operand;
    }
    return this.#power();
  }

  #power(): Num {
    const base = this.#postfix();
    const op = this.#peek();
    if (op.kind !== 'op' || op.text !== '^') return base;
    this.#take();
    const exponent = this.#nested(op, () => this.#unary());
    return applyOperator(op, base, exponent);
  }

  #postfix(): Num {
    let value = this.#primary();
    while (this.#peek().kind === 'op' && this.#peek().text === '%' && !startsOperand(this.#peek(1))) {
      value = applyPercent(this.#take(), value);
    }
    return value;
  }

  #primary(): Num {
    const token = this.#take();
    if (token.kind === 'number') return this.#grouped(token);
    if (token.kind === '(') {
      return this.#nested(token, () => {
        const outer = this.#inArguments;
        this.#inArguments = false;
        const value = this.#additive();
        this.#inArguments = outer;
        this.#expect(')');
        return value;
      });
    }
    if (token.kind === 'name') return this.#name(token);
    throw unexpected(token);
  }

  /** Joins `1,000,000` into one number when commas cannot be argument separators (see evaluateArithmetic). */
  #grouped(first: Token): Num {
    if (this.#inArguments || !/^\d{1,3}$/.test(first.text)) return first.num!;
    let digits = first.text;
    let end = first.end;
    for (;;) {
      const comma = this.#peek();
      const group = this.#peek(1);
      if (comma.kind !== ',' || comma.pos !== end || group.kind !== 'number' || group.pos !== comma.end) break;
      if (!/^\d{3}(?:\.\d*)?$/.test(group.text)) break;
      this.#index += 2;
      digits += group.text;
      end = group.end;
      if (group.text.length > 3) break;
    }
    return literal(digits, first.pos);
  }

  #name(token: Token): Num {
    const name = token.text.toLowerCase();
    const callable = isFunction(name);
    if (callable && this.#peek().kind === '(') {
      const open = this.#take();
      const args = this.#nested(open, () => this.#arguments());
      return callFunction(name, args, token);
    }
    const value = constant(name);
    if (value !== undefined) return value;
    if (callable) throw new ArithmeticError(`Expected '(' after ${name} at position ${token.end}`, token.end);
    throw new ArithmeticError(`Unknown name '${token.text}' at position ${token.pos}`, token.pos);
  }

  #arguments(): Num[] {
    const outer = this.#inArguments;
    this.#inArguments = true;
    const args = [this.#additive()];
    while (this.#peek().kind === ',') {
      this.#take();
      args.push(this.#additive());
    }
    this.#inArguments = outer;
    this.#expect(')');
    return args;
  }
}

function startsOperand(token: Token): boolean {
  return token.kind === 'number' || token.kind === 'name' || token.kind === '(';
}

function unexpected(token: Token): ArithmeticError {
  if (token.kind === 'end')
    return new ArithmeticError(`Unexpected end of expression at position ${token.pos}`, token.pos);
  return new ArithmeticError(`Unexpected '${token.text}' at position ${token.pos}`, token.pos);
}
