// Validation of the tools a front-end declares in session.update, beyond the schema's shape: unique names and
// a parameters value that is a JSON Schema for an object, as the upstream's function-calling API requires.
import { GatewayError } from '../errors.js';
import type { ClientTool } from '../protocol.js';

/** Returns the tools unchanged when valid; throws GW_INVALID_TOOLS naming every problem otherwise. */
export function validateClientTools(
  tools: readonly ClientTool[],
  serverToolNames: readonly string[] = [],
): ClientTool[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  tools.forEach((tool, i) => {
    if (seen.has(tool.name)) problems.push(`tools[${i}]: duplicate name "${tool.name}"`);
    if (serverToolNames.includes(tool.name)) problems.push(`tools[${i}]: "${tool.name}" is a server tool`);
    seen.add(tool.name);
    const params = tool.parameters;
    if (params !== undefined) {
      if (params.type !== 'object')
        problems.push(`tools[${i}].parameters: must be a JSON Schema with "type": "object"`);
      if (
        params.properties !== undefined &&
        (typeof params.properties !== 'object' || params.properties === null || Array.isArray(params.properties))
      ) {
        problems.push(`tools[${i}].parameters.properties: must be an object`);
      }
    }
  });
  if (problems.length > 0)
    throw new GatewayError('GW_INVALID_TOOLS', { message: `Invalid tools: ${problems.join('; ')}.` });
  return tools.map((t) => ({ ...t }));
}
