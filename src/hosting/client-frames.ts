// Turns one raw WebSocket frame into a validated client event, or a typed error. This is the edge: nothing
// past it sees unvalidated input. Schemas are compiled once (TypeBox TypeCompiler) because this runs per frame.
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { GatewayError } from '../errors.js';
import { CLIENT_EVENT_SCHEMAS, type ClientEvent } from '../protocol.js';
import { depthMessage, exceedsJsonDepth } from './json-depth.js';

/** A Map, so a client-chosen type such as "__proto__" or "toString" finds nothing inherited. */
const CHECKS: ReadonlyMap<string, TypeCheck<TSchema>> = new Map(
  Object.entries(CLIENT_EVENT_SCHEMAS).map(([type, schema]) => [type, TypeCompiler.Compile(schema as TSchema)]),
);

export type FrameResult = { ok: true; event: ClientEvent } | { ok: false; error: GatewayError; eventId?: string };

/**
 * Parses a frame. `byteLength` is checked against `maxFrameBytes` here (the ws hard cap sits above it), so an
 * oversized frame gets an `error` event and the connection stays usable.
 */
export function parseClientFrame(data: Buffer, isBinary: boolean, maxFrameBytes: number): FrameResult {
  if (isBinary) return { ok: false, error: new GatewayError('GW_BINARY_FRAME') };
  const byteLength = data.byteLength;
  if (byteLength > maxFrameBytes) {
    return {
      ok: false,
      error: new GatewayError('GW_FRAME_TOO_LARGE', {
        message: `The frame is ${byteLength} bytes; the limit is ${maxFrameBytes}.`,
      }),
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch {
    return { ok: false, error: new GatewayError('GW_INVALID_JSON') };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      ok: false,
      error: new GatewayError('GW_INVALID_EVENT', { message: 'A frame must be a JSON object with a "type".' }),
    };
  }
  const record = value as Record<string, unknown>;
  const eventId = typeof record.eventId === 'string' && record.eventId.length <= 128 ? record.eventId : undefined;
  const withId = eventId === undefined ? {} : { eventId };
  // After parsing (V8's parser takes any depth), so the refusal can echo the eventId; before anything reads it.
  if (exceedsJsonDepth(data))
    return { ok: false, error: new GatewayError('GW_INVALID_EVENT', { message: depthMessage() }), ...withId };
  const type = record.type;
  if (typeof type !== 'string') {
    return {
      ok: false,
      error: new GatewayError('GW_INVALID_EVENT', { message: 'The event has no string "type".' }),
      ...withId,
    };
  }
  const check = CHECKS.get(type);
  if (check === undefined) {
    return {
      ok: false,
      error: new GatewayError('GW_UNKNOWN_EVENT', { message: `Unknown event type "${truncate(type, 64)}".` }),
      ...withId,
    };
  }
  if (!check.Check(value)) {
    const first = check.Errors(value).First();
    // A schema may say in words what it wants (a traceparent's format) instead of quoting its pattern.
    const message = (first?.schema as { errorMessage?: string } | undefined)?.errorMessage ?? first?.message;
    const where = first ? `${first.path || '/'}: ${message}` : 'invalid';
    return {
      ok: false,
      error: new GatewayError('GW_INVALID_EVENT', { message: `Invalid "${type}" event at ${truncate(where, 200)}.` }),
      ...withId,
    };
  }
  return { ok: true, event: value as ClientEvent };
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
