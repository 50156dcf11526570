// What the calculator's parser (arithmetic.ts) computes: operators, functions and constants on values that know
// whether they are exact integers, and the rules that report rounding noise as 0 and underflow, overflow and
// division by a zero within rounding as errors, never as a wrong number. Rounding for speech is not here.

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

/** A (sub-)expression's value. `exact`: the value is exactly the integer it denotes (2^53 is; 2^53 + 1 is not). */
export interface Num {
  readonly value: number;
  readonly exact: boolean;
}

/** Where an operator or name was written, for error messages. */
export interface Place {
  readonly text: string;
  readonly pos: number;
}

/**
 * An inexact result under 1e-13 of the operands it came from is rounding noise, i.e. 0: one step rounds by up to
 * 1.1e-16 of them (0.1 + 0.2 - 0.3 leaves 5.6e-17), a 500-character expression stays far below 1e-13, and numbers
 * typed with 12 significant digits or fewer never cancel that far (1.00000000001 - 1 is 1e-11 of 1).
 */
const NOISE = 1e-13;
/** The smallest normal double (2.2e-308): below it a double holds fewer digits, down to 0 for 10^-400. */
const MIN_NORMAL = 2 ** -1022;

type MathFunction = (args: number[]) => number;

const UNARY_FUNCTIONS: Record<string, (x: number) => number> = {
  sqrt: Math.sqrt,
  abs: Math.abs,
  floor: Math.floor,
  ceil: Math.ceil,
  ln: Math.log,
  log: Math.log10,
  log2: Math.log2,
  exp: Math.exp,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
};

/** A Map, never a plain object, so names like `constructor` or `__proto__` are simply unknown. */
const FUNCTIONS = new Map<string, { fn: MathFunction; arity: readonly [min: number, max: number] }>([
  ...Object.entries(UNARY_FUNCTIONS).map(
    ([name, fn]) => [name, { fn: (args: number[]) => fn(args[0]!), arity: [1, 1] }] as const,
  ),
  ['round', { fn: ([x, digits]) => roundHalfAway(x!, digits ?? 0), arity: [1, 2] }],
  ['min', { fn: (args) => Math.min(...args), arity: [1, Infinity] }],
  ['max', { fn: (args) => Math.max(...args), arity: [1, Infinity] }],
]);

/** Functions whose result is an exact integer when their arguments are. */
const INTEGER_FUNCTIONS = new Set(['abs', 'floor', 'ceil', 'round', 'min', 'max']);
const TRIGONOMETRY = new Set(['sin', 'cos', 'tan']);

const CONSTANTS = new Map<string, number>([
  ['pi', Math.PI],
  ['π', Math.PI],
  ['e', Math.E],
]);

export function isFunction(name: string): boolean {
  return FUNCTIONS.has(name);
}

/** The constant's value (never exact), or undefined for a name that is not a constant. */
export function constant(name: string): Num | undefined {
  const value = CONSTANTS.get(name);
  return value === undefined ? undefined : { value, exact: false };
}

/** A number as written (`12`, `1.5e3`, `1000000` from `1,000,000`), refused when a double cannot hold it. */
export function literal(text: string, pos: number): Num {
  const value = Number(text);
  if (!Number.isFinite(value)) throw new ArithmeticError(`Number too large at position ${pos}`, pos);
  if (Math.abs(value) < MIN_NORMAL && /[1-9]/.test(text.split(/e/i)[0]!)) {
    throw new ArithmeticError(`Number too small at position ${pos}`, pos);
  }
  return { value, exact: isExactLiteral(text, value) };
}

/** Whether the digits typed denote exactly the integer `value` (1e15 does; 9007199254740993 and 0.5 do not). */
function isExactLiteral(text: string, value: number): boolean {
  if (!Number.isInteger(value)) return false;
  const [, whole = '', fraction = '', power = '0'] = /^(\d*)\.?(\d*)(?:e([+-]?\d+))?$/i.exec(text) ?? [];
  const digits = BigInt(`0${whole}${fraction}`);
  if (digits === 0n) return true;
  const shift = Number(power) - fraction.length;
  return shift >= 0
    ? digits * 10n ** BigInt(shift) === BigInt(value)
    : BigInt(value) * 10n ** BigInt(-shift) === digits;
}

export function negate(operand: Num): Num {
  return { value: -operand.value, exact: operand.exact };
}

/** `+ - * / % ^`. Division and modulo by 0, including a divisor that is 0 within rounding, are errors. */
export function applyOperator(op: Place, left: Num, right: Num): Num {
  const [a, b] = [left.value, right.value];
  if ((op.text === '/' || op.text === '%') && b === 0) {
    throw new ArithmeticError(`${op.text === '/' ? 'Division' : 'Modulo'} by zero at position ${op.pos}`, op.pos);
  }
  const exactOperands = left.exact && right.exact;
  const raw = compute(op.text, a, b, exactOperands);
  // A product, quotient or power of non-zero numbers is not 0: if it came out 0, it underflowed.
  const nonZero = op.text === '*' ? a !== 0 && b !== 0 : (op.text === '/' || op.text === '^') && a !== 0;
  const value = checked(raw, op, nonZero);
  return { value, exact: exactOperands && isExactStep(op.text, a, b, value) };
}

function compute(op: string, a: number, b: number, exactOperands: boolean): number {
  switch (op) {
    case '+':
      return exactOperands ? a + b : withoutNoise(a + b, Math.max(Math.abs(a), Math.abs(b)));
    case '-':
      return exactOperands ? a - b : withoutNoise(a - b, Math.max(Math.abs(a), Math.abs(b)));
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return exactOperands ? a % b : remainder(a, b);
    default:
      return a ** b;
  }
}

/** `x%`: x / 100. */
export function applyPercent(op: Place, operand: Num): Num {
  const value = checked(operand.value / 100, op, operand.value !== 0);
  return { value, exact: operand.exact && isExactStep('/', operand.value, 100, value) };
}

/** Calls a function (isFunction(name) must hold), checking the number of arguments and the result. */
export function callFunction(name: string, args: readonly Num[], at: Place): Num {
  const {
    fn,
    arity: [min, max],
  } = FUNCTIONS.get(name)!;
  if (args.length < min || args.length > max) {
    const wanted =
      max === Infinity
        ? `at least ${min} argument${min === 1 ? '' : 's'}`
        : min === max
          ? `${min} argument${min === 1 ? '' : 's'}`
          : `${min} to ${max} arguments`;
    throw new ArithmeticError(`${name}() at position ${at.pos} takes ${wanted}, got ${args.length}`, at.pos);
  }
  const values = args.map((arg) => arg.value);
  let value = fn(values);
  if (TRIGONOMETRY.has(name) && !args[0]!.exact) value = trigonometryWithoutNoise(name, values[0]!, value);
  if (Number.isNaN(value))
    throw new ArithmeticError(`${name}() at position ${at.pos} is undefined for ${values.join(', ')}`, at.pos);
  // exp(x) is never 0: exp(-1000) underflowed.
  const result = checked(value, at, name === 'exp');
  return { value: result, exact: INTEGER_FUNCTIONS.has(name) && args.every((arg) => arg.exact) };
}

/**
 * An inexact x (pi / 2, not 2) is off by up to |x|·1.1e-16, and so are sin, cos and tan of it: a result that is
 * noise at x's scale is 0 (sin(pi) is 0, not 1.2e-16), and tan is undefined where cos is such a 0.
 */
function trigonometryWithoutNoise(name: string, x: number, value: number): number {
  if (name === 'tan' && withoutNoise(Math.cos(x), Math.abs(x)) === 0) return NaN;
  return withoutNoise(value, Math.abs(x));
}

/**
 * 0 for a result of inexact operands that is noise at `scale`, the magnitude of the larger operand: 0.1 + 0.2 - 0.3
 * is 0, not 5.6e-17, so dividing by it is a division by zero; 1 - 0.99 and 1e-20 - 1e-21 are left alone.
 */
function withoutNoise(value: number, scale: number): number {
  return Math.abs(value) <= scale * NOISE ? 0 : value;
}

/** A remainder is noise at the scale of the dividend near 0 and near the divisor: 1 % 0.1 is 0, not 0.09999999999999995. */
function remainder(a: number, b: number): number {
  const value = a % b;
  return withoutNoise(Math.abs(b) - Math.abs(value), Math.abs(a)) === 0 ? 0 : withoutNoise(value, Math.abs(a));
}

/** Whether `result` is exactly the integer `op` gives for the integers `a` and `b` (checked with BigInt). */
function isExactStep(op: string, a: number, b: number, result: number): boolean {
  if (!Number.isInteger(result)) return false;
  const [x, y, r] = [BigInt(a), BigInt(b), BigInt(result)];
  switch (op) {
    case '+':
      return x + y === r;
    case '-':
      return x - y === r;
    case '*':
      return x * y === r;
    case '/':
      return r * y === x;
    case '%':
      return true; // the remainder of two doubles is always exact
    default:
      // '^': a finite result bounds y by 1024 unless |x| <= 1, whose integer powers are exact.
      return y >= 0n && (x * x <= 1n || x ** y === r);
  }
}

/** Every intermediate result must be a finite real number of normal size: NaN, ±Infinity and underflow are errors. */
function checked(value: number, at: Place, nonZero = false): number {
  if (Number.isNaN(value))
    throw new ArithmeticError(`Result of '${at.text}' at position ${at.pos} is not a real number`, at.pos);
  if (!Number.isFinite(value))
    throw new ArithmeticError(`Result of '${at.text}' at position ${at.pos} is too large to compute`, at.pos);
  if (value === 0 ? nonZero : Math.abs(value) < MIN_NORMAL) {
    throw new ArithmeticError(`Result of '${at.text}' at position ${at.pos} is too small to compute`, at.pos);
  }
  return value;
}

/** Half away from zero (2.5 → 3, -2.5 → -3), shifting by decimal exponent so 1.005 to 2 digits gives 1.01. */
function roundHalfAway(x: number, digits: number): number {
  if (!Number.isInteger(digits) || digits < 0 || digits > 15) {
    throw new ArithmeticError(`round() digits must be a whole number from 0 to 15, got ${digits}`);
  }
  const magnitude = Math.abs(x);
  // Past 1e21 the shifted value would be written with an exponent; a double has no digits left to round there.
  if (magnitude >= 1e15 || magnitude * 10 ** digits >= 1e21) return x;
  // Shifting the decimal text avoids binary noise (1.005 * 100 is 100.49999...); tiny values use plain scaling.
  const text = String(magnitude);
  const rounded = text.includes('e')
    ? Math.round(magnitude * 10 ** digits) / 10 ** digits
    : Number(`${Math.round(Number(`${text}e${digits}`))}e-${digits}`);
  return rounded === 0 ? 0 : Math.sign(x) * rounded;
}
