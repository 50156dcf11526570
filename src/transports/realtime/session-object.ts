// The Realtime session object that session.created/updated report: the core's effective settings (model,
// instructions, client tools, token cap) plus the Realtime-only ones kept here (tool_choice, tracing).
import type { SessionSettings } from '../../protocol.js';
import type { Dialect } from './dialect.js';
import type { ToolChoiceWire } from './events-in.js';

/** What Realtime clients set that the session core has no notion of. */
export interface RealtimeOnlySettings {
  toolChoice: ToolChoiceWire;
  /** Echoed as set (the Agents SDK reads it back); the gateway does no tracing of its own. */
  tracing: unknown;
}

export function createRealtimeOnlySettings(): RealtimeOnlySettings {
  return { toolChoice: 'auto', tracing: null };
}

/** The full effective session, in the client's dialect. Always text-only, with no audio configuration. */
export function renderSession(
  dialect: Dialect,
  sessionId: string,
  settings: SessionSettings,
  extra: RealtimeOnlySettings,
): Record<string, unknown> {
  const tools = settings.tools.map((t) => ({
    type: 'function',
    name: t.name,
    description: t.description ?? '',
    parameters: t.parameters ?? { type: 'object', properties: {} },
  }));
  const common = {
    id: sessionId,
    object: 'realtime.session',
    model: settings.model,
    instructions: settings.instructions,
    tools,
    tool_choice: extra.toolChoice,
  };
  if (dialect === 'beta') {
    return {
      ...common,
      modalities: ['text'],
      input_audio_transcription: null,
      turn_detection: null,
      temperature: settings.temperature ?? 0.8,
      max_response_output_tokens: settings.maxOutputTokens,
    };
  }
  return {
    type: 'realtime',
    ...common,
    output_modalities: ['text'],
    max_output_tokens: settings.maxOutputTokens,
    tracing: extra.tracing,
  };
}
