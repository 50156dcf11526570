// Assembles streamed `delta.tool_calls` fragments (keyed by index; id, name and argument pieces may arrive in
// any fragment) into whole calls, and says the moment each call's arguments are complete, so it can start
// before the stream ends. Tolerates the ASI:One quirks: a missing call id, arguments sent as an object
// instead of a string, and finish_reason "tool_calls" without a tool_calls array.
import { randomBytes } from 'node:crypto';

export interface AssembledCall {
  index: number;
  id: string;
  name: string;
  /** The raw argument text as the model sent it (an object sent as-is is JSON-stringified upstream). */
  argumentsText: string;
  /** Parsed arguments, or the parse problem: invalid JSON is reported to the model, never a crash. */
  args: { ok: true; value: Record<string, unknown> } | { ok: false; error: string };
}

interface PartialCall {
  index: number;
  id?: string;
  name: string;
  argumentsText: string;
  done: boolean;
  /** The argument text's length from which a parse is tried again (see mayBeComplete). */
  parseAt: number;
  /** The last character of the argument text that is not whitespace is `}`. */
  endsInBrace: boolean;
}

export interface ToolCallFragment {
  index: number;
  id?: string;
  name?: string;
  argumentsDelta?: string;
}

export class ToolCallAssembler {
  private readonly calls = new Map<number, PartialCall>();
  private ignored = 0;

  /** `maxCalls`: fragments of calls past the first this many (by first appearance) are ignored and counted. */
  constructor(private readonly maxCalls = Number.POSITIVE_INFINITY) {}

  /** Adds a fragment; returns the call if it became complete because of it. */
  add(fragment: ToolCallFragment): AssembledCall[] {
    const completed: AssembledCall[] = [];
    // Fragments of different calls may interleave, so a call is complete only when its own arguments parse as
    // a JSON object (which no later fragment could validly extend) or when the stream ends.
    let call = this.calls.get(fragment.index);
    if (call === undefined) {
      // A broken or hostile upstream may stream thousands of calls in one step; each would be announced, logged
      // and run. Only their count is kept.
      if (this.calls.size >= this.maxCalls) {
        this.ignored += 1;
        return completed;
      }
      call = { index: fragment.index, name: '', argumentsText: '', done: false, parseAt: 0, endsInBrace: false };
      this.calls.set(fragment.index, call);
    }
    if (call.done) return completed; // a fragment after a complete JSON object is invalid; ignored
    if (fragment.id) call.id ??= fragment.id;
    if (fragment.name) call.name += call.name === fragment.name ? '' : fragment.name;
    if (fragment.argumentsDelta) {
      call.argumentsText += fragment.argumentsDelta;
      // Read from the fragment, not the whole text: trimming the text would copy it all for every fragment.
      const last = fragment.argumentsDelta.trimEnd();
      if (last !== '') call.endsInBrace = last.endsWith('}');
    }
    if (call.name !== '' && mayBeComplete(call)) completed.push(this.complete(call));
    return completed;
  }

  /** The stream ended: every call not yet complete is complete now, whatever its arguments. */
  finish(): AssembledCall[] {
    const completed: AssembledCall[] = [];
    for (const call of this.calls.values()) if (!call.done && call.name !== '') completed.push(this.complete(call));
    return completed;
  }

  get size(): number {
    return this.calls.size;
  }

  /** Fragments ignored because they belonged to calls past `maxCalls`. */
  get ignoredFragments(): number {
    return this.ignored;
  }

  private complete(call: PartialCall): AssembledCall {
    call.done = true;
    return {
      index: call.index,
      // Missing ids are a recorded quirk; generate one in OpenAI's shape so tool messages can refer to it.
      id: call.id ?? `call_${randomBytes(12).toString('hex')}`,
      name: call.name,
      argumentsText: call.argumentsText,
      args: parseArguments(call.argumentsText),
    };
  }
}

/** Arguments this long or shorter are parsed on every fragment that ends in `}`: a few KB cost microseconds. */
const FREE_PARSE_CHARS = 4096;

/**
 * A JSON object cannot be extended once it parses, so a parseable `{…}` means the arguments are complete. Past
 * FREE_PARSE_CHARS a failed parse is tried again only once the text has doubled: a stream of fragments that each
 * end in `}` inside a string (`{"a":"}}}…`) would otherwise parse the whole text each time, quadratic (64k such
 * fragments took 6.6 s). A call that completes in between is found at the stream's end instead.
 */
function mayBeComplete(call: PartialCall): boolean {
  const length = call.argumentsText.length;
  if (!call.endsInBrace || length < call.parseAt) return false;
  try {
    JSON.parse(call.argumentsText); // trailing whitespace is allowed
    return true;
  } catch {
    if (length > FREE_PARSE_CHARS) call.parseAt = length * 2;
    return false;
  }
}

export function parseArguments(text: string): AssembledCall['args'] {
  if (text.trim() === '') return { ok: true, value: {} };
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return { ok: true, value: value as Record<string, unknown> };
    return { ok: false, error: 'The arguments must be a JSON object.' };
  } catch {
    return {
      ok: false,
      error: `The arguments are not valid JSON: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`,
    };
  }
}
