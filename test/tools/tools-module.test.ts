// Operators add tools without editing the gateway: TOOLS_MODULE names an ES module exporting tool definitions.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { importToolModule, loadTools } from '../../src/tools/load-tools.js';
import type { ChatMessage } from '../../src/upstream/types.js';
import { startStack, VoiceClient } from '../helpers.js';

describe('TOOLS_MODULE', () => {
  it('loads the example module next to the built-ins', async () => {
    const registry = await loadTools(loadConfig({ TOOLS_MODULE: 'examples/tools/dice.mjs' }));
    expect(registry.names).toEqual(['get_current_time', 'calculate', 'roll_dice']);
  });

  it('offers only the module tools when BUILTIN_TOOLS=off', async () => {
    const registry = await loadTools(loadConfig({ TOOLS_MODULE: 'examples/tools/dice.mjs', BUILTIN_TOOLS: 'off' }));
    expect(registry.names).toEqual(['roll_dice']);
  });

  it('runs a module tool end to end, with its arguments validated', async () => {
    const stack = await startStack({ env: { TOOLS_MODULE: 'examples/tools/dice.mjs' } });
    stack.simulator.enqueue(
      {
        toolCalls: [
          { name: 'roll_dice', arguments: '{"count":3,"sides":6}' },
          { name: 'roll_dice', arguments: '{"sides":1}' },
        ],
      },
      { reply: 'Done.' },
    );
    const client = await VoiceClient.connect(stack.voiceUrl);
    await client.turn('Roll three dice');
    const tools = (stack.simulator.requests[1]?.body as { messages: ChatMessage[] }).messages.filter(
      (m) => m.role === 'tool',
    );
    const good = JSON.parse(tools[0]?.content ?? '{}') as { rolls: number[]; total: number };
    expect(good.rolls).toHaveLength(3);
    expect(good.total).toBe(good.rolls.reduce((a, b) => a + b, 0));
    expect(JSON.parse(tools[1]?.content ?? '{}').error).toContain('Invalid arguments for roll_dice');
    await client.close();
    await stack.close();
  });

  it('refuses a module that does not export tools, with a clear message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tools-'));
    const path = join(dir, 'bad.mjs');
    writeFileSync(path, 'export const nothing = 1;\n');
    await expect(importToolModule(path)).rejects.toThrow(/must export "tools"/);
    writeFileSync(join(dir, 'bad2.mjs'), 'export const tools = [{ name: "x" }];\n');
    await expect(importToolModule(join(dir, 'bad2.mjs'))).rejects.toThrow(/tools\[0\] needs a name, parameters/);
  });
});
