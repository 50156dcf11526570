// The server tool registry: declarations sent upstream, argument validation (ajv, compiled once per tool),
// and execution with a per-call timeout and abort. A tool failure is a result for the model, never a crash.
import { Ajv, type ValidateFunction } from 'ajv';
import type { UpstreamToolSpec } from '../upstream/types.js';
import type { ToolContext, ToolDefinition } from './types.js';

/** What a tool call produced, as the model will read it in the `role: "tool"` message. */
export type ToolOutcome = { ok: true; output: string } | { ok: false; error: string };

interface RegisteredTool {
  definition: ToolDefinition;
  validate: ValidateFunction;
  spec: UpstreamToolSpec;
}

export const TOOL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

export class ToolRegistry {
  private readonly tools = new Map<string, RegisteredTool>();
  private readonly ajv = new Ajv({ allErrors: false, strict: false, coerceTypes: false });
  private readonly defaultTimeoutMs: number;

  constructor(definitions: readonly ToolDefinition[], options: { defaultTimeoutMs: number }) {
    this.defaultTimeoutMs = options.defaultTimeoutMs;
    for (const definition of definitions) this.register(definition);
  }

  /** Throws on a malformed definition or a duplicate name: a start-up error, not a runtime one. */
  register(definition: ToolDefinition): void {
    if (!TOOL_NAME_PATTERN.test(definition.name))
      throw new Error(`Tool name "${definition.name}" must match ${TOOL_NAME_PATTERN}`);
    if (this.tools.has(definition.name)) throw new Error(`Tool "${definition.name}" is defined twice`);
    if (typeof definition.execute !== 'function') throw new Error(`Tool "${definition.name}" has no execute function`);
    // TypeBox schemas carry symbol keys; a JSON round trip leaves the plain JSON Schema the upstream expects.
    const parameters = JSON.parse(JSON.stringify(definition.parameters)) as Record<string, unknown>;
    if (parameters.type !== 'object')
      throw new Error(`Tool "${definition.name}": parameters must be a JSON Schema with "type": "object"`);
    this.tools.set(definition.name, {
      definition,
      validate: this.ajv.compile(parameters),
      spec: { type: 'function', function: { name: definition.name, description: definition.description, parameters } },
    });
  }

  has(name: string): boolean {
    return this.tools.has(name);
  }

  get names(): string[] {
    return [...this.tools.keys()];
  }

  /** Declarations for the upstream `tools` field. */
  specs(): UpstreamToolSpec[] {
    return [...this.tools.values()].map((t) => t.spec);
  }

  /**
   * Validates and runs one call. Resolves (never rejects) with the output or an error text for the model.
   * The tool's signal aborts on `context.signal` or on its timeout; a tool that ignores its signal is abandoned.
   */
  async run(name: string, args: Record<string, unknown>, context: ToolContext): Promise<ToolOutcome> {
    const tool = this.tools.get(name);
    if (tool === undefined) return { ok: false, error: `Unknown tool "${name}".` };
    if (!tool.validate(args)) {
      const first = tool.validate.errors?.[0];
      const where = first
        ? `${first.instancePath || 'arguments'} ${first.message ?? 'is invalid'}`
        : 'arguments are invalid';
      return { ok: false, error: `Invalid arguments for ${name}: ${where}.` };
    }
    // Already cancelled (the response ended first): never start it; an aborted signal would fire no listener.
    if (context.signal.aborted) return { ok: false, error: `${name} was cancelled.` };
    const timeoutMs = tool.definition.timeoutMs ?? this.defaultTimeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([context.signal, timeout]);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<ToolOutcome>((resolve) => {
      onAbort = () =>
        resolve({
          ok: false,
          error: timeout.aborted ? `${name} timed out after ${timeoutMs} ms.` : `${name} was cancelled.`,
        });
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const execution = Promise.resolve()
        .then(() => tool.definition.execute(args, { ...context, signal }))
        .then(
          (value): ToolOutcome => ({ ok: true, output: stringifyOutput(value) }),
          (err: unknown): ToolOutcome => ({
            ok: false,
            error: `${name} failed: ${err instanceof Error ? err.message : String(err)}`,
          }),
        );
      return await Promise.race([execution, aborted]);
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }
}

/** The `role: "tool"` content: strings as they are, anything else as JSON. */
export function stringifyOutput(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return 'null';
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return String(value);
  }
}
