// The SSE body of a 2xx answer: bytes → `data:` events (sse-decoder.ts) → parsed chunks → ChatEvents handed
// to its host (the attempt) in the same call. Owns JSON parsing, in-stream errors, malformed-line counting
// and the `[DONE]` sighting; timers and settling belong to the host.
import type { ErrorCode, GatewayError } from '../errors.js';
import type { SecretRedactor } from '../secrets.js';
import type { ChunkReader } from './chunk-reader.js';
import { readStreamError } from './http-errors.js';
import { CUT_AT_BUDGET, OutputBudget } from './output-budget.js';
import { createSseDecoder, type SseDecoder, type SseDecoderHandlers } from './sse-decoder.js';
import type { ChatEvent, UpstreamLogger } from './types.js';

/** What the stream reader tells the attempt; every call is synchronous, inside push() or flush(). */
export interface StreamHost {
  /** A data event arrived (even a malformed one): the answer is alive, the stall timer may start. */
  alive(): void;
  deliver(events: readonly ChatEvent[]): void;
  fail(code: ErrorCode, cause?: unknown): void;
  failWith(error: GatewayError): void;
  /** `data: [DONE]` was seen (once). */
  streamDone(): void;
  /** The answer used up its OutputBudget: it has ended (a `length` finish, or its own before), the rest is unwanted. */
  cutAtBudget(): void;
}

/** How a cleanly ended stream is judged: 'malformed' when no data line parsed but some did not. */
export type StreamVerdict = 'done' | 'malformed' | 'dropped';

/** One response body's reader; it is the decoder's handler object, so no closure sits between them. */
export class SseStreamReader implements SseDecoderHandlers {
  private readonly decoder: SseDecoder;
  private readonly budget: OutputBudget;
  private parsed = 0;
  private malformed = 0;
  private doneSeen = false;

  constructor(
    private readonly host: StreamHost,
    private readonly chunks: ChunkReader,
    budgetChars: number,
    private readonly secrets: SecretRedactor,
    private readonly logger: UpstreamLogger | undefined,
  ) {
    this.decoder = createSseDecoder(this);
    this.budget = new OutputBudget(budgetChars);
  }

  /** True once `data: [DONE]` was seen. */
  get sawDone(): boolean {
    return this.doneSeen;
  }

  /** Body bytes as they arrive. */
  push(chunk: Uint8Array): void {
    this.decoder.push(chunk);
  }

  /** At the body's clean end: the decoder's last (unterminated) event, if any. */
  flush(): void {
    this.decoder.end();
  }

  /** After flush(): finished is whether a finish_reason reached the sink. */
  verdict(finished: boolean): StreamVerdict {
    if (this.parsed === 0 && this.malformed > 0) return 'malformed';
    return this.doneSeen || finished ? 'done' : 'dropped';
  }

  /** @internal the decoder's callback. */
  onData(data: string, eventName: string | undefined): void {
    this.host.alive();
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      if (eventName === 'error') return this.host.failWith(readStreamError({ message: data }, 'error', this.secrets)!);
      this.malformed += 1;
      // Only the size: the parse error's message quotes the payload.
      this.logger?.debug({ bytes: data.length }, 'upstream sent a malformed data line; skipped');
      return this.pass([]); // skipped, but not free: a stream of them must end too
    }
    this.parsed += 1;
    const streamError = readStreamError(json, eventName, this.secrets);
    if (streamError) return this.host.failWith(streamError);
    this.pass(this.chunks.read(json));
  }

  /** One data line's events, through the answer's budget; the host is told when the budget ends the answer. */
  private pass(events: ChatEvent[]): void {
    if (this.budget.exhausted) return;
    const passed = this.budget.spend(events);
    if (!this.budget.exhausted) return this.host.deliver(passed);
    // Content held back as a possible think tag ends here, so settling cannot deliver it after the finish. It goes
    // before the cut, as at a real finish, when all of this line went through: else it would follow a gap.
    const held = this.chunks.end();
    const cut = passed.length - 1;
    if (passed[cut] === CUT_AT_BUDGET && cut === events.length) passed.splice(cut, 0, ...held);
    this.host.deliver(passed);
    this.logger?.warn({ budgetChars: this.budget.chars }, 'upstream answer cut: it streamed past its output budget');
    this.host.cutAtBudget();
  }

  /** @internal the decoder's callback. */
  onDone(): void {
    if (this.doneSeen) return;
    this.doneSeen = true;
    this.host.streamDone();
  }

  /** @internal the decoder's callback: a line over the decoder's buffer limit. */
  onOverflow(): void {
    this.host.fail('GW_UPSTREAM_PROTOCOL');
  }
}
