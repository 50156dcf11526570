// The body of a 2xx answer that is one JSON document (a whole `chat.completion`, or a single stream chunk):
// held until its end, bounded by MAX_JSON_BODY_BYTES, then read into ChatEvents or the error it carries.
import { GatewayError } from '../errors.js';
import type { SecretRedactor } from '../secrets.js';
import { readCompletionBody } from './chunk-reader.js';
import { readStreamError } from './http-errors.js';
import { OutputBudget } from './output-budget.js';
import type { ChatEvent } from './types.js';

/**
 * A whole answer is far smaller (a long reply is tens of KB); a body past this is broken or hostile. The same cap as
 * one SSE line: `JSON.parse` of 8 MB of nested arrays held up to 230 MB of heap and blocked the loop for 1–2.5 s.
 */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

export class JsonBodyReader {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;

  /** What is held so far: the blank prefix, handed on to the SSE reader when the body turns out to be SSE. */
  held(): readonly Buffer[] {
    return this.chunks;
  }

  /**
   * Holds a body chunk, or a blank one seen while sniffing the content type (for whichever reader the body turns out
   * to need); false (and the chunk dropped) once the body is over MAX_JSON_BODY_BYTES. A blank prefix counts too:
   * uncounted, everything an upstream sent as blanks until the first-token timer fired stayed in memory.
   */
  push(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    if (this.bytes > MAX_JSON_BODY_BYTES) return false;
    this.chunks.push(chunk);
    return true;
  }

  /**
   * At the body's end: its events, or the failure (empty body, not JSON, an error document). Its answer is held to
   * `budgetChars` as a streamed one is (output-budget.ts): cut with a `length` finish past it.
   */
  read(secrets: SecretRedactor, budgetChars: number): ChatEvent[] | GatewayError {
    const text = Buffer.concat(this.chunks).toString('utf8');
    if (text.trim() === '') return new GatewayError('GW_UPSTREAM_DROPPED', { cause: new Error('empty response body') });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      return new GatewayError('GW_UPSTREAM_PROTOCOL', { cause: err });
    }
    return readStreamError(json, undefined, secrets) ?? new OutputBudget(budgetChars).spend(readCompletionBody(json));
  }
}
