// TOOLS_MODULE for the turn bench's gateways: the built-in clock and calculator under their own names (the
// gateway runs with BUILTIN_TOOLS=off), each execution appended as a JSON line to TURNS_BENCH_TOOL_LOG. The
// bench compares those lines with the tool calls its clients saw: an execution no client saw announced came
// from a discarded speculation.

import { appendFileSync } from 'node:fs';
import { calculatorTool, clockTool } from '../../src/tools/builtin/index.js';
import type { ToolDefinition } from '../../src/tools/types.js';

/** One executed tool call, as the log holds it. */
export interface ToolExecution {
  name: string;
  sessionId: string;
  at: number;
}

function counted(tool: ToolDefinition): ToolDefinition {
  return {
    ...tool,
    execute(args, context) {
      const log = process.env.TURNS_BENCH_TOOL_LOG;
      if (log !== undefined && log !== '') {
        const line: ToolExecution = { name: tool.name, sessionId: context.sessionId, at: Date.now() };
        appendFileSync(log, `${JSON.stringify(line)}\n`);
      }
      return tool.execute(args, context);
    },
  };
}

export const tools: ToolDefinition[] = [counted(clockTool), counted(calculatorTool)];
