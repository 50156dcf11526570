// What a tool is: a name, a description, a JSON Schema for its arguments (TypeBox schemas are JSON Schema), and
// execute(). Built-in tools, operator tool modules and the registry all speak this shape.
import type { Static, TSchema } from '@sinclair/typebox';

export interface ToolContext {
  /** Aborts when the response is interrupted or the tool times out. Long-running tools must honour it. */
  signal: AbortSignal;
  /** The voice session the call belongs to (for logging or per-user state). */
  sessionId: string;
}

/** A server-side tool. `execute` may return any JSON-serialisable value (or a string) or throw. */
export interface ToolDefinition<Args = Record<string, unknown>> {
  name: string;
  description: string;
  /** JSON Schema for the arguments object (`type: "object"`). Arguments are validated before execute runs. */
  parameters: Record<string, unknown>;
  execute(args: Args, context: ToolContext): unknown;
  /** Overrides the registry's default timeout for this tool. */
  timeoutMs?: number;
}

/** Defines a tool with a TypeBox schema, so execute() gets typed arguments. */
export function defineTool<T extends TSchema>(tool: {
  name: string;
  description: string;
  parameters: T;
  execute(args: Static<T>, context: ToolContext): unknown;
  timeoutMs?: number;
}): ToolDefinition {
  return tool as unknown as ToolDefinition;
}
