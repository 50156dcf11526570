// One HTTP attempt of the chat client: sends the request, turns the response (SSE, a plain JSON body, or an
// error status) into ChatEvents delivered synchronously to the sink, and enforces the first-token and stall
// timeouts and the caller's abort. Retries and backoff belong to chat-client.ts.
import type { Dispatcher } from 'undici';
import { GatewayError, type ErrorCode } from '../errors.js';
import type { SecretRedactor } from '../secrets.js';
import { createChunkReader, readCompletionBody } from './chunk-reader.js';
import {
  classifyTransportError,
  createUpstreamHttpError,
  errorCodeOf,
  readStreamError,
  type ResponseHeaders,
} from './http-errors.js';
import { createSseDecoder } from './sse-decoder.js';
import type { ChatEvent, ChatEventSink, ChatUsage, UpstreamLogger } from './types.js';

const MAX_ERROR_BODY_BYTES = 64 * 1024;
const MAX_JSON_BODY_BYTES = 8 * 1024 * 1024;
/** How long the body may stay open after `data: [DONE]` before the answer is taken as complete anyway. */
const DONE_GRACE_MS = 20;
/**
 * The reason every settled attempt aborts its own request with. Created once: `abort()` without a reason
 * builds a DOMException and captures a stack per call, and nobody outside this module sees this one.
 */
const ATTEMPT_SETTLED = new DOMException('The upstream attempt settled.', 'AbortError');

export interface CallState {
  /** A text, a tool call or a `<think>` block from content (THINK_TAGS=display shows it) reached the sink: no retry now. */
  forwarded: boolean;
  finishReason: string | null;
  usage: ChatUsage | null;
}

export interface AttemptContext {
  dispatcher: Dispatcher;
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
  sink: ChatEventSink;
  state: CallState;
  firstTokenTimeoutMs: number;
  stallTimeoutMs: number;
  secrets: SecretRedactor;
  logger: UpstreamLogger | undefined;
}

export type AttemptResult = { kind: 'done' } | { kind: 'aborted' } | { kind: 'failed'; error: GatewayError };

const headerText = (value: string | string[] | undefined): string =>
  (Array.isArray(value) ? value.join(',') : (value ?? '')).toLowerCase();

/**
 * One HTTP attempt. Never rejects. Settles exactly once; on settling it clears both timers, removes its
 * listener from the caller's signal and (unless the body was consumed) aborts the request, which makes
 * undici destroy the socket at once. Everything between a body chunk and the sink is synchronous.
 */
export function runAttempt(ctx: AttemptContext): Promise<AttemptResult> {
  return new Promise<AttemptResult>((resolve) => {
    const { signal, state } = ctx;
    const reader = createChunkReader();
    /** undici's handle on the request once it has a connection; aborting it destroys that socket at once. */
    let upstream: Dispatcher.DispatchController | null = null;
    let abortRequested = false;
    let complete = false;
    let settled = false;
    let gotFirst = false;
    let parsed = 0;
    let malformed = 0;
    let sawDone = false;
    let stallTimer: NodeJS.Timeout | undefined;
    let doneTimer: NodeJS.Timeout | undefined;
    let onErrorBodyFailure: (() => void) | undefined;

    const settle = (result: AttemptResult, destroy: boolean): void => {
      if (settled) return;
      // A complete answer first gets the content its reader held back as a possible think tag.
      if (result.kind === 'done') {
        deliver(reader.end());
        if (settled) return;
      }
      settled = true;
      clearTimeout(firstTimer);
      clearTimeout(stallTimer);
      clearTimeout(doneTimer);
      signal.removeEventListener('abort', onAbort);
      if (destroy && !complete) {
        abortRequested = true;
        upstream?.abort(ATTEMPT_SETTLED);
      }
      resolve(result);
    };
    const failWith = (error: GatewayError, destroy = true): void => settle({ kind: 'failed', error }, destroy);
    const fail = (code: ErrorCode, cause?: unknown, destroy = true): void =>
      failWith(new GatewayError(code, { cause }), destroy);
    const onAbort = (): void => settle({ kind: 'aborted' }, true);
    const firstTimer = setTimeout(() => fail('GW_UPSTREAM_TIMEOUT'), ctx.firstTokenTimeoutMs);

    // The stall timer starts with the first byte of the body; the first-token timer ends only with the first
    // real token (text, reasoning, tool call or finish): a role-only opening chunk followed by silence is a
    // hung request, not a started answer.
    const markAlive = (): void => {
      if (gotFirst) return;
      gotFirst = true;
      // After [DONE] a silent, unfinished body is the server's problem, not a stall: keep the answer.
      stallTimer = setTimeout(
        () => (sawDone ? settle({ kind: 'done' }, true) : fail('GW_UPSTREAM_STALLED')),
        ctx.stallTimeoutMs,
      );
    };
    const deliver = (events: readonly ChatEvent[]): void => {
      for (const event of events) {
        // `settled` covers the caller's abort too: onAbort runs synchronously inside abort() and settles.
        if (settled) return;
        if (event.type !== 'usage') clearTimeout(firstTimer);
        if (event.type === 'text' || event.type === 'tool_call' || (event.type === 'reasoning' && event.raw !== undefined)) state.forwarded = true;
        else if (event.type === 'finish') state.finishReason = event.reason;
        else if (event.type === 'usage') state.usage = event.usage;
        try {
          ctx.sink(event);
        } catch (err) {
          fail('GW_INTERNAL', err);
        }
      }
    };
    const endOfStream = (destroy: boolean): void => {
      if (parsed === 0 && malformed > 0) fail('GW_UPSTREAM_PROTOCOL', undefined, destroy);
      else settle({ kind: 'done' }, destroy);
    };

    const decoder = createSseDecoder({
      onData(data, eventName) {
        markAlive();
        let json: unknown;
        try {
          json = JSON.parse(data);
        } catch {
          if (eventName === 'error') return failWith(readStreamError({ message: data }, 'error', ctx.secrets)!);
          malformed += 1;
          // Only the size: the parse error's message quotes the payload.
          ctx.logger?.debug({ bytes: data.length }, 'upstream sent a malformed data line; skipped');
          return;
        }
        parsed += 1;
        const streamError = readStreamError(json, eventName, ctx.secrets);
        if (streamError) return failWith(streamError);
        deliver(reader.read(json));
      },
      // Settle at the body's end (normally the same packet), not at [DONE]: until the response is complete
      // undici cannot hand the socket to the next request, and a tool-call follow-up would open a new one.
      // An upstream that keeps the body open after [DONE] gets DONE_GRACE_MS, then loses that socket.
      onDone: () => {
        if (sawDone) return;
        sawDone = true;
        doneTimer = setTimeout(() => settle({ kind: 'done' }, true), DONE_GRACE_MS);
      },
      onOverflow: () => fail('GW_UPSTREAM_PROTOCOL'),
    });

    // The response, driven by undici's dispatch() handler callbacks below: body bytes arrive synchronously
    // from the HTTP parser, with no Readable stream (and no promise) in between.
    let responded = false;
    let onChunk: (chunk: Buffer) => void = () => {};
    let onEnd: () => void = () => {};

    const readErrorBody = (statusCode: number, headers: ResponseHeaders): void => {
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = (complete: boolean): void => {
        const text = Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY_BYTES).toString('utf8');
        failWith(createUpstreamHttpError(statusCode, text, headers, ctx.secrets), !complete);
      };
      onErrorBodyFailure = () => finish(false);
      onChunk = (chunk) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= MAX_ERROR_BODY_BYTES) finish(false);
      };
      onEnd = () => finish(true);
    };

    const onResponse = (statusCode: number, headers: ResponseHeaders): void => {
      if (statusCode < 200 || statusCode >= 300) return readErrorBody(statusCode, headers);

      const type = headerText(headers['content-type']);
      // Unknown content type: sniff the first non-blank byte ('{' → one JSON body, else SSE).
      let mode: 'sse' | 'json' | 'sniff' = type.includes('event-stream') ? 'sse' : type.includes('json') ? 'json' : 'sniff';
      const held: Buffer[] = [];
      let heldBytes = 0;
      onChunk = (chunk) => {
        if (mode === 'sniff') {
          const text = chunk.toString('latin1').trimStart();
          if (text === '') {
            held.push(chunk);
            return;
          }
          mode = text.startsWith('{') ? 'json' : 'sse';
          if (mode === 'sse') for (const early of held.splice(0)) decoder.push(early);
        }
        if (mode === 'sse') {
          stallTimer?.refresh(); // any byte is life, including `: ping` comments
          decoder.push(chunk);
          return;
        }
        markAlive();
        stallTimer?.refresh();
        heldBytes += chunk.length;
        if (heldBytes > MAX_JSON_BODY_BYTES) return fail('GW_UPSTREAM_PROTOCOL');
        held.push(chunk);
      };
      onEnd = () => {
        if (mode === 'sse') {
          decoder.end();
          if (settled) return;
          if (sawDone || state.finishReason !== null) return endOfStream(false);
          if (parsed === 0 && malformed > 0) return fail('GW_UPSTREAM_PROTOCOL', undefined, false);
          return fail('GW_UPSTREAM_DROPPED', new Error('stream ended before [DONE] or a finish_reason'), false);
        }
        const text = Buffer.concat(held).toString('utf8');
        if (text.trim() === '') return fail('GW_UPSTREAM_DROPPED', new Error('empty response body'), false);
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch (err) {
          return fail('GW_UPSTREAM_PROTOCOL', err, false);
        }
        const streamError = readStreamError(json, undefined, ctx.secrets);
        if (streamError) return failWith(streamError, false);
        deliver(readCompletionBody(json));
        settle({ kind: 'done' }, false);
      };
    };

    const onError = (err: Error): void => {
      if (settled) return;
      if (!responded) {
        if (signal.aborted) return settle({ kind: 'aborted' }, false);
        return failWith(classifyTransportError(err));
      }
      if (onErrorBodyFailure) return onErrorBodyFailure();
      // The answer is complete once a finish_reason arrived; a lost trailing usage chunk is not a failure.
      if (sawDone || state.finishReason !== null) return settle({ kind: 'done' }, true);
      const code = errorCodeOf(err) === 'UND_ERR_BODY_TIMEOUT' ? 'GW_UPSTREAM_STALLED' : 'GW_UPSTREAM_DROPPED';
      fail(code, err);
    };

    // Nothing may throw into undici's parser: a failure here fails the attempt (and destroys the socket).
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(controller) {
        upstream = controller;
        // Settled while queued for a connection (timeout, abort): the request dies as soon as it gets one.
        if (abortRequested) controller.abort(ATTEMPT_SETTLED);
      },
      onResponseStart(_controller, statusCode, headers) {
        responded = true;
        if (settled) return;
        try {
          onResponse(statusCode, headers);
        } catch (err) {
          fail('GW_INTERNAL', err);
        }
      },
      onResponseData(_controller, chunk) {
        if (settled) return;
        try {
          onChunk(chunk);
        } catch (err) {
          fail('GW_INTERNAL', err);
        }
      },
      onResponseEnd() {
        complete = true;
        if (settled) return;
        try {
          onEnd();
        } catch (err) {
          fail('GW_INTERNAL', err, false);
        }
      },
      onResponseError(_controller, err) {
        complete = true;
        onError(err);
      },
    };

    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) return onAbort();
    try {
      ctx.dispatcher.dispatch(
        { origin: ctx.origin, path: ctx.path, method: 'POST', headers: ctx.headers, body: ctx.body },
        handler,
      );
    } catch (err) {
      return failWith(classifyTransportError(err));
    }
  });
}
