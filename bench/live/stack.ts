// The gateways of the live bench. The measured one runs from src/ with its production defaults, pointed at the
// API. A throwaway twin with the same settings, pointed at the simulator in this process, answers one turn first,
// so that the direct path can send the very body the gateway sends (system prompt, tools, max_tokens…): the
// model then does the same work on both paths, and the difference is the gateway's.

import { startSimulator } from '../../src/simulator/server.js';
import { startGatewayProcess, stopProcess, type ServerProcess } from '../lib/procs.js';
import { WARM_UP_PROMPT } from './turn.js';
import { gatewayTurn } from './voice.js';

export interface GatewaySettings {
  model: string;
  maxTokens: number;
  verbose: boolean;
}

/**
 * What the bench sets; everything else is the gateway's default or the caller's environment. Access control,
 * Redis and experiments are switched off: the bench's own client must get in, and every session must get the
 * same model and prompt (an experiment arm would change them).
 */
function gatewayEnv(settings: GatewaySettings, baseUrl: string, apiKey: string): Record<string, string> {
  return {
    ASI_ONE_API_KEY: apiKey,
    ASI_BASE_URL: baseUrl,
    ASI_MODEL: settings.model,
    MAX_OUTPUT_TOKENS: String(settings.maxTokens),
    GATEWAY_TOKENS: '',
    GATEWAY_TOKENS_FILE: '',
    REDIS_URL: '',
    EXPERIMENTS_FILE: '',
  };
}

export function startLiveGateway(settings: GatewaySettings, baseUrl: string, apiKey: string): Promise<ServerProcess> {
  return startGatewayProcess({
    simUrl: baseUrl,
    fromSrc: true,
    env: gatewayEnv(settings, baseUrl, apiKey),
    echo: settings.verbose,
  });
}

export const voiceUrl = (gateway: ServerProcess): string => `ws://127.0.0.1:${gateway.port}/v1/voice`;

/** The chat request body the gateway sends upstream for a one-turn session saying WARM_UP_PROMPT. */
export async function captureGatewayBody(settings: GatewaySettings): Promise<Record<string, unknown>> {
  const sim = await startSimulator({
    port: 0,
    host: '127.0.0.1',
    defaults: { profile: 'gen2', ttftMs: 0, interTokenMs: 0, reply: 'Hello there. Nice to meet you.' },
  });
  let twin: ServerProcess | undefined;
  try {
    twin = await startLiveGateway(settings, sim.url, 'capture');
    const turn = await gatewayTurn({ url: voiceUrl(twin), timeoutMs: 15_000, settleMs: 0 }, WARM_UP_PROMPT, -1);
    const body = sim.requests.findLast((r) => userTexts(r.body).some((text) => text.includes(WARM_UP_PROMPT)))?.body;
    if (turn.status !== 'completed' || body === undefined)
      throw new Error(`could not read the gateway's upstream request (turn ${turn.status}${turn.error ?? ''})`);
    return body as Record<string, unknown>;
  } finally {
    if (twin !== undefined) await stopProcess(twin.child);
    await sim.close();
  }
}

interface Message {
  role?: unknown;
  content?: unknown;
}

function userTexts(body: unknown): string[] {
  const messages = (body as { messages?: Message[] } | null)?.messages;
  if (!Array.isArray(messages)) return [];
  return messages.flatMap((m) => (m.role === 'user' && typeof m.content === 'string' ? [m.content] : []));
}

/** The captured body with the user's words replaced by `prompt`: what the gateway would send for it. */
export function bodyFor(captured: Record<string, unknown>, prompt: string): Record<string, unknown> {
  const messages = (captured.messages as Message[]).map((m) =>
    m.role === 'user' && typeof m.content === 'string'
      ? { ...m, content: m.content.replace(WARM_UP_PROMPT, prompt) }
      : m,
  );
  return { ...captured, messages };
}

/** What the report says of the body: its size, max_tokens, tools, and the system prompt's length. */
export function describeBody(captured: Record<string, unknown>): {
  chars: number;
  maxTokens: number | null;
  tools: string[];
  systemPromptChars: number;
} {
  const messages = captured.messages as Message[];
  const system = messages.find((m) => m.role === 'system')?.content;
  const tools = Array.isArray(captured.tools) ? (captured.tools as { function?: { name?: string } }[]) : [];
  return {
    chars: JSON.stringify(captured).length,
    maxTokens: typeof captured.max_tokens === 'number' ? captured.max_tokens : null,
    tools: tools.map((t) => t.function?.name ?? '?'),
    systemPromptChars: typeof system === 'string' ? system.length : 0,
  };
}
