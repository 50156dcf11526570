// A safe arithmetic evaluator for the calculator tool: a hand-written recursive-descent parser that evaluates
// as it parses. No eval, no Function, no property lookups on user-named keys. Rounding for speech is not here.

/** Thrown for any expression that cannot be evaluated to a finite number. Positions are 0-based indexes. */
export class ArithmeticError extends Error {
  override readonly name = 'ArithmeticError';
  /** 0-based index into the expression, when the problem has a place. */
  readonly position: number | undefined;
  constructor(message: string, position?: number) {
    super(message);
    this.position = position;
  }
}

export const MAX_EXPRESSION_CHARS = 500;
export const MAX_NESTING_DEPTH = 64;

type TokenKind = 'number' | 'name' | 'op' | '(' | ')' | ',' | 'end';

interface Token {
  kind: TokenKind;
  /** The source text (operators are normalised: `**` → `^`, `×` → `*`, `÷` → `/`, `−` → `-`). */
  text: string;
  pos: number;
  end: number;
  value: number;
}

type MathFunction = (args: number[]) => number;

const UNARY_FUNCTIONS: Record<string, (x: number) => number> = {
  sqrt: Math.sqrt, abs: Math.abs, floor: Math.floor, ceil: Math.ceil, ln: Math.log, log: Math.log10, log2: Math.log2,
  exp: Math.exp, sin: Math.sin, cos: Math.cos, tan: Math.tan, asin: Math.asin, acos: Math.acos, atan: Math.atan,
};

/** A Map, never a plain object, so names like `constructor` or `__proto__` are simply unknown. */
const FUNCTIONS = new Map<string, { fn: MathFunction; arity: readonly [min: number, max: number] }>([
  ...Object.entries(UNARY_FUNCTIONS).map(([name, fn]) => [name, { fn: (args: number[]) => fn(args[0]!), arity: [1, 1] }] as const),
  ['round', { fn: ([x, digits]) => roundHalfAway(x!, digits ?? 0), arity: [1, 2] }],
  ['min', { fn: (args) => Math.min(...args), arity: [1, Infinity] }],
  ['max', { fn: (args) => Math.max(...args), arity: [1, Infinity] }],
]);

const CONSTANTS = new Map<string, number>([
  ['pi', Math.PI],
  ['π', Math.PI],
  ['e', Math.E],
]);

const OPERATOR_ALIASES = new Map<string, string>([['×', '*'], ['÷', '/'], ['−', '-']]);
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
 */
export function evaluateArithmetic(expression: string): number {
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
  const push = (kind: TokenKind, text: string, length: number, value = NaN): void => {
    tokens.push({ kind, text, pos: i, end: i + length, value });
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
      const value = Number(number);
      if (!Number.isFinite(value)) throw new ArithmeticError(`Number too large at position ${i}`, i);
      push('number', number, number.length, value);
      continue;
    }
    NAME.lastIndex = i;
    const name = NAME.exec(source)?.[0];
    if (name !== undefined) push('name', name, name.length);
    else if (source.startsWith('**', i)) push('op', '^', 2);
    else if ('+-*/%^'.includes(char)) push('op', char, 1);
    else if (OPERATOR_ALIASES.has(char)) push('op', OPERATOR_ALIASES.get(char)!, 1);
    else if (char === '(' || char === ')' || char === ',') push(char, char, 1);
    else throw new ArithmeticError(`Unexpected character '${String.fromCodePoint(source.codePointAt(i)!)}' at position ${i}`, i);
  }
  tokens.push({ kind: 'end', text: '', pos: source.length, end: source.length, value: NaN });
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

  parse(): number {
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
      throw new ArithmeticError(`Expression is nested more than ${MAX_NESTING_DEPTH} levels deep at position ${at.pos}`, at.pos);
    }
    try {
      return parse();
    } finally {
      this.#depth--;
    }
  }

  #additive(): number {
    let value = this.#multiplicative();
    for (let op = this.#peek(); op.kind === 'op' && (op.text === '+' || op.text === '-'); op = this.#peek()) {
      this.#take();
      const right = this.#multiplicative();
      value = checked(op.text === '+' ? value + right : value - right, op);
    }
    return value;
  }

  #multiplicative(): number {
    let value = this.#unary();
    for (let op = this.#peek(); op.kind === 'op' && '*/%'.includes(op.text); op = this.#peek()) {
      this.#take();
      const right = this.#unary();
      if (op.text !== '*' && right === 0) {
        throw new ArithmeticError(`${op.text === '/' ? 'Division' : 'Modulo'} by zero at position ${op.pos}`, op.pos);
      }
      value = checked(op.text === '*' ? value * right : op.text === '/' ? value / right : value % right, op);
    }
    return value;
  }

  #unary(): number {
    const op = this.#peek();
    if (op.kind === 'op' && (op.text === '-' || op.text === '+')) {
      this.#take();
      const operand = this.#nested(op, () => this.#unary());
      return op.text === '-' ? -operand : operand;
    }
    return this.#power();
  }

  #power(): number {
    const base = this.#postfix();
    const op = this.#peek();
    if (op.kind !== 'op' || op.text !== '^') return base;
    this.#take();
    const exponent = this.#nested(op, () => this.#unary());
    return checked(base ** exponent, op);
  }

  #postfix(): number {
    let value = this.#primary();
    while (this.#peek().kind === 'op' && this.#peek().text === '%' && !startsOperand(this.#peek(1))) {
      this.#take();
      value /= 100;
    }
    return value;
  }

  #primary(): number {
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
  #grouped(first: Token): number {
    if (this.#inArguments || !/^\d{1,3}$/.test(first.text)) return first.value;
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
    return Number(digits);
  }

  #name(token: Token): number {
    const name = token.text.toLowerCase();
    const fn = FUNCTIONS.get(name);
    if (fn !== undefined && this.#peek().kind === '(') {
      const open = this.#take();
      const args = this.#nested(open, () => this.#arguments());
      const [min, max] = fn.arity;
      if (args.length < min || args.length > max) {
        const wanted = max === Infinity ? `at least ${min} argument${min === 1 ? '' : 's'}` : min === max ? `${min} argument${min === 1 ? '' : 's'}` : `${min} to ${max} arguments`;
        throw new ArithmeticError(`${name}() at position ${token.pos} takes ${wanted}, got ${args.length}`, token.pos);
      }
      const value = fn.fn(args);
      if (Number.isNaN(value)) throw new ArithmeticError(`${name}() at position ${token.pos} is undefined for ${args.join(', ')}`, token.pos);
      return checked(value, token);
    }
    const constant = CONSTANTS.get(name);
    if (constant !== undefined) return constant;
    if (fn !== undefined) throw new ArithmeticError(`Expected '(' after ${name} at position ${token.end}`, token.end);
    throw new ArithmeticError(`Unknown name '${token.text}' at position ${token.pos}`, token.pos);
  }

  #arguments(): number[] {
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
  if (token.kind === 'end') return new ArithmeticError(`Unexpected end of expression at position ${token.pos}`, token.pos);
  return new ArithmeticError(`Unexpected '${token.text}' at position ${token.pos}`, token.pos);
}

/** Every intermediate result must be a finite real number: NaN and ±Infinity become errors at the operator. */
function checked(value: number, at: Token): number {
  if (Number.isNaN(value)) throw new ArithmeticError(`Result of '${at.text}' at position ${at.pos} is not a real number`, at.pos);
  if (!Number.isFinite(value)) throw new ArithmeticError(`Result of '${at.text}' at position ${at.pos} is too large`, at.pos);
  return value;
}

/** Half away from zero (2.5 → 3, -2.5 → -3), shifting by decimal exponent so 1.005 to 2 digits gives 1.01. */
function roundHalfAway(x: number, digits: number): number {
  if (!Number.isInteger(digits) || digits < 0 || digits > 15) {
    throw new ArithmeticError(`round() digits must be a whole number from 0 to 15, got ${digits}`);
  }
  const magnitude = Math.abs(x);
  if (magnitude >= 1e15) return x;
  // Shifting the decimal text avoids binary noise (1.005 * 100 is 100.49999...); tiny values use plain scaling.
  const text = String(magnitude);
  const rounded = text.includes('e')
    ? Math.round(magnitude * 10 ** digits) / 10 ** digits
    : Number(`${Math.round(Number(`${text}e${digits}`))}e-${digits}`);
  return rounded === 0 ? 0 : Math.sign(x) * rounded;
}
