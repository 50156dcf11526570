// The built-in server tools the gateway offers the model by default: clock and calculator, both offline.
import type { ToolDefinition } from '../types.js';
import { calculatorTool } from './calculator.js';
import { clockTool } from './clock.js';

export { ArithmeticError, evaluateArithmetic } from './arithmetic.js';
export { calculatorTool } from './calculator.js';
export { clockTool, createClockTool } from './clock.js';

export const BUILTIN_TOOLS: readonly ToolDefinition[] = [clockTool, calculatorTool];
