// Client tools: functions the front-end runs when the model calls them. They are declared to the gateway in
// session.update ({ name, description, parameters }); a response.tool_call with runsOn 'client' runs one here.
import type { ClientTool, ToolCall } from './wire.js';

export interface ToolContext {
  callId: string;
  responseId: string;
  name: string;
  /** Aborts when the reply ends first (barge-in, a new turn) or the session closes. */
  signal: AbortSignal;
}

export interface ClientToolDefinition {
  description?: string;
  /** A JSON Schema with "type": "object"; default: an object with no properties. */
  parameters?: Record<string, unknown>;
  /**
   * Runs the call with the parsed arguments (checked by the gateway to be a JSON object only: validate them here).
   * Returns any JSON value (a `text` field is a good place for a sentence to speak); a throw is reported to the
   * model as `{ "error": message }`.
   */
  execute(args: Record<string, unknown>, context: ToolContext): unknown;
}

/** Tools by name; names match ^[a-zA-Z0-9_-]{1,64}$ and may not shadow a server tool. */
export type ClientTools = Record<string, ClientToolDefinition>;

/** The declarations session.update carries. */
export function declareTools(tools: ClientTools): ClientTool[] {
  return Object.entries(tools).map(([name, tool]) => ({
    name,
    ...(tool.description === undefined ? {} : { description: tool.description }),
    ...(tool.parameters === undefined ? {} : { parameters: tool.parameters }),
  }));
}

/** Runs one client call; never throws: failures become the `{ error }` output the model reads. */
export async function runTool(tools: ClientTools, call: ToolCall, signal: AbortSignal): Promise<unknown> {
  const tool = Object.hasOwn(tools, call.name) ? tools[call.name] : undefined;
  if (tool === undefined) return { error: `This client has no tool named ${call.name}.` };
  let args: unknown;
  try {
    args = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
  } catch {
    return { error: 'The arguments are not valid JSON.' };
  }
  if (typeof args !== 'object' || args === null || Array.isArray(args))
    return { error: 'The arguments must be a JSON object.' };
  try {
    const output: unknown = await tool.execute(args as Record<string, unknown>, {
      callId: call.callId,
      responseId: call.responseId,
      name: call.name,
      signal,
    });
    return output === undefined ? null : output;
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}
