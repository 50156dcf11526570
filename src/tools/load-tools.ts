// Builds the server tool registry from config: the built-ins (unless BUILTIN_TOOLS=off) plus an operator's
// own ES module (TOOLS_MODULE), so operators add tools without editing the gateway.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Config } from '../config.js';
import { BUILTIN_TOOLS } from './builtin/index.js';
import { ToolRegistry } from './registry.js';
import type { ToolDefinition } from './types.js';

/**
 * Imports a tool module. It must export `tools` (or a default export): an array of tool definitions, each
 * `{ name, description, parameters (JSON Schema), execute(args, { signal, sessionId }) }`.
 */
export async function importToolModule(path: string): Promise<ToolDefinition[]> {
  const module = (await import(pathToFileURL(resolve(path)).href)) as { tools?: unknown; default?: unknown };
  const exported = module.tools ?? module.default;
  if (!Array.isArray(exported))
    throw new Error(`TOOLS_MODULE ${path} must export "tools" (or a default export) as an array of tool definitions`);
  return exported.map((tool: unknown, i) => {
    const t = tool as Partial<ToolDefinition> | null;
    if (
      typeof t !== 'object' ||
      t === null ||
      typeof t.name !== 'string' ||
      typeof t.execute !== 'function' ||
      typeof t.parameters !== 'object'
    ) {
      throw new Error(
        `TOOLS_MODULE ${path}: tools[${i}] needs a name, parameters (JSON Schema) and an execute function`,
      );
    }
    return { description: '', ...t } as ToolDefinition;
  });
}

export async function loadTools(config: Readonly<Config>): Promise<ToolRegistry> {
  const definitions: ToolDefinition[] = config.builtinTools ? [...BUILTIN_TOOLS] : [];
  if (config.toolsModule !== undefined) definitions.push(...(await importToolModule(config.toolsModule)));
  return new ToolRegistry(definitions, { defaultTimeoutMs: config.toolTimeoutMs });
}
