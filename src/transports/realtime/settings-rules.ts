// Realtime client settings in the core's terms, and the Realtime-only rules they must pass: text-only output,
// a tool_choice that names a declared tool, a known asi1 model.
import { MODELS, type ClientTool, type ModelName } from '../../protocol.js';
import type { ToolChoice } from '../../session/response-run.js';
import { RealtimeError } from './errors.js';
import type { FunctionToolWire, ToolChoiceWire } from './events-in.js';

/** Audio output cannot be produced here: refuse it plainly rather than silently send text. */
export function checkTextOnly(modalities: readonly string[] | undefined, param: string): void {
  if (modalities === undefined) return;
  if (modalities.length === 0 || modalities.some((m) => m !== 'text')) {
    throw new RealtimeError('unsupported_modality', {
      message: `This gateway is text-only: ${param} must be ["text"].`,
      param,
    });
  }
}

export function checkNamedTool(name: string, tools: string[], param: string): void {
  if (!tools.includes(name))
    throw new RealtimeError('invalid_value', {
      message: `tool_choice names "${name}", which is not a declared tool.`,
      param,
    });
}

export function toClientTool(tool: FunctionToolWire): ClientTool {
  return {
    name: tool.name,
    ...(tool.description === undefined ? {} : { description: tool.description }),
    ...(tool.parameters === undefined ? {} : { parameters: tool.parameters }),
  };
}

export function toCoreChoice(choice: ToolChoiceWire): ToolChoice {
  return typeof choice === 'string' ? choice : { name: choice.name };
}

export function isModel(value: string): value is ModelName {
  return (MODELS as readonly string[]).includes(value);
}
