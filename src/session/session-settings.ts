// A session's settings: the defaults from config, a checked update (model, instructions, temperature, tokens,
// client tools), and the limits on a turn's text. Pure: it sends nothing and holds no history.
import type { Config } from '../config.js';
import { GatewayError } from '../errors.js';
import { MODELS, type ModelName, type SessionSettings, type SessionUpdateEvent } from '../protocol.js';
import { validateClientTools } from './tool-declarations.js';

export type SettingsUpdate = Omit<SessionUpdateEvent, 'type' | 'eventId'>;

export function defaultSettings(config: Readonly<Config>): SessionSettings {
  return {
    model: config.model,
    instructions: config.systemPrompt,
    temperature: null,
    maxOutputTokens: config.maxOutputTokens,
    tools: [],
    turnDetection: { speculate: config.speculation, serverCommit: null },
  };
}

/**
 * Applies an update to `settings` in place, all or nothing: throws GatewayError (unknown model, invalid tools)
 * before changing anything. Blank instructions restore the configured system prompt. Returns whether anything a
 * request is built from changed (model, instructions, temperature, output tokens, tools).
 */
export function applySettingsUpdate(
  settings: SessionSettings,
  update: SettingsUpdate,
  systemPrompt: string,
  serverToolNames: readonly string[],
  speculationAllowed: boolean,
): boolean {
  if (update.model !== undefined && !isModel(update.model)) throw new GatewayError('GW_UNKNOWN_MODEL');
  const before = { ...settings };
  const tools = update.tools === undefined ? undefined : validateClientTools(update.tools, serverToolNames);
  if (update.model !== undefined) settings.model = update.model as ModelName;
  if (update.instructions !== undefined)
    settings.instructions = update.instructions.trim() === '' ? systemPrompt : update.instructions;
  if (update.temperature !== undefined) settings.temperature = update.temperature;
  if (update.maxOutputTokens !== undefined) settings.maxOutputTokens = update.maxOutputTokens;
  if (tools !== undefined) settings.tools = tools;
  const turns = update.turnDetection;
  if (turns !== undefined) {
    // With speculation off for the whole gateway, a session cannot turn it on: the echo says so.
    const speculate = (turns.speculate ?? settings.turnDetection.speculate) && speculationAllowed;
    const serverCommit = turns.serverCommit === undefined ? settings.turnDetection.serverCommit : turns.serverCommit;
    settings.turnDetection = { speculate, serverCommit: serverCommit === null ? null : { ...serverCommit } };
  }
  return REQUEST_SETTINGS.some((key) => before[key] !== settings[key]);
}

const REQUEST_SETTINGS = ['model', 'instructions', 'temperature', 'maxOutputTokens', 'tools'] as const;

/** The trimmed text of a turn (or user/system item); throws GW_EMPTY_TURN or GW_TEXT_TOO_LONG. */
export function checkTurnText(raw: string, maxTurnChars: number): string {
  const text = raw.trim();
  if (text === '') throw new GatewayError('GW_EMPTY_TURN');
  if (text.length > maxTurnChars) {
    throw new GatewayError('GW_TEXT_TOO_LONG', {
      message: `The turn text is ${text.length} characters; the limit is ${maxTurnChars}.`,
    });
  }
  return text;
}

function isModel(value: string): value is ModelName {
  return (MODELS as readonly string[]).includes(value);
}
