// One HTTP attempt of the chat client: an undici dispatch handler in one `phase` (attempt-phases.ts) that sends
// the request, reads the body (SSE, JSON, an error page) and enforces timeouts and aborts. Retries: chat-client.ts.
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { GatewayError, type ErrorCode } from '../errors.js';
import type { AttemptContext, AttemptResult } from './attempt-context.js';
import { ABORTED, ATTEMPT_SETTLED, DONE, DONE_GRACE_MS, headerText, isForwarded } from './attempt-context.js';
import { CONNECTING, ENDED, SETTLED, checkTransition, type Phase } from './attempt-phases.js';
import { createChunkReader } from './chunk-reader.js';
import { ErrorBodyReader } from './error-body-reader.js';
import { classifyTransportError, errorCodeOf } from './http-errors.js';
import { JsonBodyReader } from './json-body-reader.js';
import { SseStreamReader, type StreamHost } from './sse-stream-reader.js';
import { StallWatch, type StallKind } from './stall-watch.js';
import type { ChatEvent } from './types.js';

/**
 * One HTTP attempt. Never rejects. Settles exactly once; on settling it clears its timers, removes its
 * listener from the caller's signal and (unless undici already ended the response) aborts the request, which
 * makes undici destroy the socket at once. Everything between a body chunk and the sink is synchronous.
 */
export function runAttempt(ctx: AttemptContext): Promise<AttemptResult> {
  return new Promise<AttemptResult>((resolve) => new UpstreamAttempt(ctx, resolve).start());
}

/**
 * The attempt as undici's dispatch handler: body bytes arrive synchronously from the HTTP parser, with no
 * Readable stream (and no promise) in between. Nothing may throw into undici's parser: a failure inside a
 * callback (an illegal phase transition included) fails the attempt with GW_INTERNAL.
 */
class UpstreamAttempt implements Dispatcher.DispatchHandler, StreamHost {
  private phase: Phase = CONNECTING;
  /** undici's handle on the request once it has a connection; aborting it destroys that socket at once. */
  private controller: Dispatcher.DispatchController | null = null;
  /** One per attempt: it holds back content that may be a think tag until the answer settles. */
  private readonly chunks = createChunkReader();
  private readonly firstTimer: NodeJS.Timeout;
  /** The first real token arrived: the first-token wait is over (checked once per event, not a timer call each). */
  private answered = false;
  /** Started by the first data line (alive()), then stamped by every byte and every event but usage. */
  private stall: StallWatch | undefined;
  private doneTimer: NodeJS.Timeout | undefined;
  private readonly onAbort = (): void => this.settle(ABORTED);
  /** The answer used up its output budget: it is complete (the reader delivered its finish). */
  readonly cutAtBudget = (): void => this.settle(DONE);

  constructor(
    private readonly ctx: AttemptContext,
    private readonly resolve: (result: AttemptResult) => void,
  ) {
    this.firstTimer = setTimeout(() => this.fail('GW_UPSTREAM_TIMEOUT'), ctx.firstTokenTimeoutMs);
  }

  start(): void {
    const { ctx } = this;
    ctx.signal.addEventListener('abort', this.onAbort, { once: true });
    if (ctx.signal.aborted) return this.onAbort();
    try {
      const { origin, path, headers, body } = ctx;
      // `idempotent` only lets undici start it beside other streams on one HTTP/2 connection; over HTTP/1.1 the
      // pool's pipelining of 1 still gives each request its own connection, and undici never retries it.
      ctx.dispatcher.dispatch({ origin, path, method: 'POST', headers, body, idempotent: true }, this);
    } catch (err) {
      this.failWith(classifyTransportError(err));
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // Settled while queued for a connection (timeout, abort): the request dies as soon as it gets one.
    if (this.phase.name === 'settled') controller.abort(ATTEMPT_SETTLED);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (this.phase.name === 'settled') return;
    try {
      this.open(statusCode, headers);
    } catch (err) {
      this.fail('GW_INTERNAL', err);
    }
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const phase = this.phase;
    try {
      switch (phase.name) {
        case 'streaming':
          this.stall?.byte(); // any byte is life, including `: ping` comments, for a while (stall-watch.ts)
          return phase.sse.push(chunk);
        case 'reading-json':
          return this.readJsonChunk(phase.json, chunk);
        case 'sniffing':
          return this.sniff(phase, chunk);
        case 'interim':
        case 'reading-error':
          if (phase.body.push(chunk)) this.failWith(phase.body.error());
          return;
        default:
          return; // settled; undici sends no body before a head
      }
    } catch (err) {
      this.fail('GW_INTERNAL', err);
    }
  }

  onResponseEnd(): void {
    const from = this.phase;
    if (from.name === 'settled') return;
    try {
      this.enter(ENDED);
      this.endBody(from);
    } catch (err) {
      this.fail('GW_INTERNAL', err);
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    const from = this.phase;
    if (from.name === 'settled') return;
    try {
      this.enter(ENDED);
      this.breakBody(from, err);
    } catch (caught) {
      this.fail('GW_INTERNAL', caught);
    }
  }

  /**
   * The stall timer starts with the first data event (of an SSE body) or the first byte (of a JSON body). The
   * first-token timer ends only with the first real token: a role-only opening chunk then silence is a hung request.
   */
  alive(): void {
    this.stall ??= new StallWatch(this.ctx.stallTimeoutMs, this.ctx.pingsOnlyTimeoutMs, (kind, ms) =>
      this.stalled(kind, ms),
    );
  }

  deliver(events: readonly ChatEvent[]): void {
    const { state } = this.ctx;
    for (const event of events) {
      // Covers the caller's abort too: onAbort runs synchronously inside abort() and settles.
      if (this.settled) return;
      if (event.type !== 'usage') this.stall?.event();
      if (!this.answered && event.type !== 'usage') {
        this.answered = true;
        clearTimeout(this.firstTimer);
        this.ctx.trace?.firstToken();
      }
      if (isForwarded(event)) state.forwarded = true;
      else if (event.type === 'finish') {
        state.finishReason = event.reason;
        this.ctx.trace?.finished(this.chunks.finishedAs?.id, this.chunks.finishedAs?.model);
      } else if (event.type === 'usage') state.usage = event.usage;
      try {
        this.ctx.sink(event);
      } catch (err) {
        this.fail('GW_INTERNAL', err);
      }
    }
  }

  fail(code: ErrorCode, cause?: unknown): void {
    this.failWith(new GatewayError(code, { cause }));
  }

  failWith(error: GatewayError): void {
    this.settle({ kind: 'failed', error });
  }

  /**
   * Settle at the body's end (normally the same packet), not at [DONE]: until the response is complete undici
   * cannot hand the socket to the next request, and a tool-call follow-up would open a new one. An upstream
   * that keeps the body open after [DONE] gets DONE_GRACE_MS, then loses that socket.
   */
  streamDone(): void {
    this.doneTimer = setTimeout(() => this.settle(DONE), DONE_GRACE_MS);
  }

  /** The transition guard: every phase change goes through here. */
  private enter(next: Phase): void {
    checkTransition(this.phase.name, next.name);
    this.phase = next;
  }

  /** Not narrowed by TypeScript, unlike `phase.name`: a sink call in between may settle. */
  private get settled(): boolean {
    return this.phase.name === 'settled';
  }

  private settle(result: AttemptResult): void {
    if (this.settled) return;
    // A complete answer first gets the content its reader held back as a possible think tag.
    if (result.kind === 'done') {
      this.deliver(this.chunks.end());
      if (this.settled) return;
    }
    const open = this.phase.name !== 'ended';
    this.enter(SETTLED);
    clearTimeout(this.firstTimer);
    this.stall?.clear();
    clearTimeout(this.doneTimer);
    this.ctx.signal.removeEventListener('abort', this.onAbort);
    // Not yet connected: onRequestStart aborts as soon as it is.
    if (open) this.controller?.abort(ATTEMPT_SETTLED);
    this.resolve(result);
  }

  /** A response head: its status and content type choose the body's reader. */
  private open(statusCode: number, headers: IncomingHttpHeaders): void {
    const { secrets } = this.ctx;
    if (statusCode >= 200) this.ctx.trace?.responseStarted(statusCode);
    if (statusCode < 200)
      return this.enter({ name: 'interim', body: new ErrorBodyReader(statusCode, headers, secrets) });
    if (statusCode >= 300)
      return this.enter({ name: 'reading-error', body: new ErrorBodyReader(statusCode, headers, secrets) });
    // A 1xx head before it (103 Early Hints from a proxy or CDN) was informational: it is forgotten here.
    const type = headerText(headers['content-type']);
    if (type.includes('event-stream')) return this.enter({ name: 'streaming', sse: this.openStream() });
    const json = new JsonBodyReader();
    // Unknown content type: sniff the first non-blank byte ('{' → one JSON body, else SSE).
    this.enter(type.includes('json') ? { name: 'reading-json', json } : { name: 'sniffing', json });
  }

  private openStream(): SseStreamReader {
    return new SseStreamReader(this, this.chunks, this.ctx.outputBudgetChars, this.ctx.secrets, this.ctx.logger);
  }

  private sniff(phase: Extract<Phase, { name: 'sniffing' }>, chunk: Buffer): void {
    const text = chunk.toString('latin1').trimStart();
    const { json } = phase;
    if (text === '') return json.push(chunk) ? undefined : this.fail('GW_UPSTREAM_PROTOCOL');
    if (text.startsWith('{')) {
      this.enter({ name: 'reading-json', json });
      return this.readJsonChunk(json, chunk);
    }
    const sse = this.openStream();
    this.enter({ name: 'streaming', sse });
    for (const early of json.held()) sse.push(early);
    sse.push(chunk);
  }

  private readJsonChunk(json: JsonBodyReader, chunk: Buffer): void {
    this.stall?.byte(); // its events come at its end: until then silence and the first-token timer bound it
    this.alive();
    if (!json.push(chunk)) this.fail('GW_UPSTREAM_PROTOCOL');
  }

  /** The response ended cleanly (the phase is already 'ended'): judge the body `from` read (none from 'connecting'). */
  private endBody(from: Phase): void {
    switch (from.name) {
      case 'streaming': {
        from.sse.flush();
        if (this.settled) return;
        const verdict = from.sse.verdict(this.ctx.state.finishReason !== null);
        if (verdict === 'done') return this.settle(DONE);
        if (verdict === 'malformed') return this.fail('GW_UPSTREAM_PROTOCOL');
        return this.fail('GW_UPSTREAM_DROPPED', new Error('stream ended before [DONE] or a finish_reason'));
      }
      case 'sniffing':
      case 'reading-json': {
        const read = from.json.read(this.ctx.secrets, this.ctx.outputBudgetChars);
        if (read instanceof GatewayError) return this.failWith(read);
        this.deliver(read);
        return this.settle(DONE);
      }
      case 'interim':
      case 'reading-error':
        return this.failWith(from.body.error());
    }
  }

  /** The request or its response failed (the phase is already 'ended'); `from` is where it was. */
  private breakBody(from: Phase, err: Error): void {
    switch (from.name) {
      case 'connecting':
        if (this.ctx.signal.aborted) return this.settle(ABORTED);
        return this.failWith(classifyTransportError(err));
      case 'interim':
      case 'reading-error':
        return this.failWith(from.body.error());
      case 'sniffing':
      case 'streaming':
      case 'reading-json': {
        // The answer is complete once a finish_reason arrived; a lost trailing usage chunk is not a failure.
        const complete = (from.name === 'streaming' && from.sse.sawDone) || this.ctx.state.finishReason !== null;
        if (complete) return this.settle(DONE);
        const stalled = errorCodeOf(err) === 'UND_ERR_BODY_TIMEOUT';
        return this.fail(stalled ? 'GW_UPSTREAM_STALLED' : 'GW_UPSTREAM_DROPPED', err);
      }
    }
  }

  /** After [DONE] a silent, unfinished body is the server's problem, not a stall: keep the answer. */
  private stalled(kind: StallKind, quietMs: number): void {
    const phase = this.phase;
    if (phase.name === 'streaming' && phase.sse.sawDone) return this.settle(DONE);
    const why = kind === 'silent' ? undefined : new Error(`keep-alives but no event for ${quietMs} ms`);
    this.fail('GW_UPSTREAM_STALLED', why);
  }
}
