// What one simulated chat request does: the SimScenario knobs (wire profile, reply, timing, faults, gates)
// and their defaults. Pure data; the server, the planner and the encoders read it.

/** A tool call the simulator emits. `id: null` omits the id on the wire (a quirk clients must repair). */
export interface SimToolCall {
  name: string;
  /** A string is streamed in fragments; an object is sent as a raw JSON object (a quirk of the real API). */
  arguments: string | Record<string, unknown>;
  id?: string | null;
}

/**
 * One request's behaviour. Chunk counts (`dropAfterChunks`, `stallAfterChunks`, `gate.afterChunks`)
 * count content chunks and tool-call fragment chunks, never reasoning chunks; 0 means "before the first
 * one" (after the opening chunk, TTFT and any reasoning).
 */
export interface SimScenario {
  profile: 'gen1' | 'gen2';
  /** Reply text. Default: the demo reply built from the last message (see replies.ts). */
  reply?: string;
  /** Streamed before the content: gen1 top-level `thought` fragments, gen2 `delta.reasoning_content`. */
  reasoning?: string;
  toolCalls?: SimToolCall[];
  /** Quirk (asi1-mini, Apr 2025): finish_reason "tool_calls" with no tool_calls array. */
  toolCallsWithoutArray?: boolean;
  /** Delay before the first reasoning/content chunk; the role-only opening chunk goes out with the headers. */
  ttftMs: number;
  interTokenMs: number;
  tokensPerChunk: number;
  /** Answer with this HTTP status and an error body instead of a completion. */
  status?: number;
  errorBody?: 'error-object' | 'message' | 'html';
  retryAfter?: string;
  dropAfterChunks?: number;
  stallAfterChunks?: number;
  gate?: { name: string; afterChunks: number };
  crlf?: boolean;
  keepAliveComments?: boolean;
  /** Answer a stream:true request with a plain application/json chat.completion body. */
  plainJson?: boolean;
  /** Write the SSE bytes in tiny pieces, cutting inside lines, UTF-8 characters and CRLF pairs. */
  splitWrites?: boolean;
  /** Add `"x_emit_ts": <performance.timeOrigin + performance.now()>` to each content chunk (benchmarks). */
  stampEmitTime?: boolean;
  /**
   * Benchmarks through a proxy that forwards only the text: the first word of each streamed content chunk is
   * replaced by a word-sized stamp of its emit time (performance.timeOrigin + performance.now(), µs), see
   * emit-stamp.ts. Punctuation and whitespace are kept, so sentences still end where the reply's do.
   */
  stampEmitTimeInText?: boolean;
}

export const DEFAULT_SCENARIO: SimScenario = Object.freeze({
  profile: 'gen2',
  ttftMs: 300,
  interTokenMs: 30,
  tokensPerChunk: 1,
});

/** Merges `partial` over `base`, ignoring keys whose value is `undefined`. */
export function mergeScenario(base: SimScenario, partial: Partial<SimScenario> | undefined): SimScenario {
  const merged: Record<string, unknown> = { ...base };
  if (partial !== undefined) {
    for (const [key, value] of Object.entries(partial)) if (value !== undefined) merged[key] = value;
  }
  return merged as unknown as SimScenario;
}
