// Client tools on the real gateway: declared from connect(), run when the simulated model calls them (it calls
// get_current_time and calculate when the user asks for the time or for arithmetic), answered with tool.result.
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../../src/upstream/types.js';
import { connect } from '../src/node.js';
import type { ToolCall, ToolContext } from '../src/index.js';
import { collect, startStack, type Stack } from './support.js';

let stack: Stack;
afterEach(async () => {
  await stack.close();
});

describe('client tools', () => {
  it('declares the tools, runs a client call with its arguments, and the model reads the tool.result', async () => {
    // Without the built-in tools, the client may take their names, and the simulator calls them.
    stack = await startStack({ env: { BUILTIN_TOOLS: 'off' } });
    const calls: { args: Record<string, unknown>; context: ToolContext }[] = [];
    const session = await connect({
      url: stack.voiceUrl,
      tools: {
        get_current_time: {
          description: 'The current time in an IANA time zone.',
          parameters: { type: 'object', properties: { timeZone: { type: 'string' } } },
          execute(args, context) {
            calls.push({ args, context });
            return { text: 'It is nine in the evening in Tokyo.' };
          },
        },
        calculate: {
          description: 'Arithmetic.',
          parameters: { type: 'object', properties: { expression: { type: 'string' } } },
          execute() {
            throw new Error('the abacus is broken');
          },
        },
      },
    });
    expect(session.settings?.tools.map((t) => t.name)).toEqual(['get_current_time', 'calculate']);
    const reply = session.turn('What time is it in Tokyo?');
    const toolCalls = collect<ToolCall>(reply.toolCalls);
    const done = await reply.done;
    expect(done).toMatchObject({ status: 'completed', text: 'Let me check. It is nine in the evening in Tokyo.' });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args).toEqual({ timeZone: 'Asia/Tokyo' });
    expect(calls[0]?.context).toMatchObject({ name: 'get_current_time', responseId: reply.responseId });
    await toolCalls.finished;
    expect(toolCalls.items).toEqual([
      expect.objectContaining({ name: 'get_current_time', runsOn: 'client', callId: calls[0]?.context.callId }),
    ]);
    // The upstream saw the declaration, then the result as a tool message.
    const [first, second] = stack.simulator.requests.map(
      (r) => r.body as { tools?: { function: { name: string } }[]; messages: ChatMessage[] },
    );
    // The gateway's own escalation tool comes first; the client's declarations follow.
    expect(first?.tools?.map((t) => t.function.name)).toEqual([
      'consult_deeper_model',
      'get_current_time',
      'calculate',
    ]);
    expect(second?.messages.at(-1)).toMatchObject({
      role: 'tool',
      content: JSON.stringify({ text: 'It is nine in the evening in Tokyo.' }),
    });

    // A tool that throws is reported to the model as an error, and the reply still completes.
    const failing = await session.turn('What is 12 times 7?').done;
    expect(failing).toMatchObject({
      status: 'completed',
      text: 'Let me check. Sorry, that did not work: the abacus is broken.',
    });
    await session.close();
  });
});
