// One simulated user on the native endpoint: sets the pass's turnDetection, then plays replay sequences one
// after another, sending each interim and the final at its replay time and recording, from the client's side,
// when the turn committed (final sent, or turn.committed received) and when each reply's first delta and first
// speech arrived. A sequence ends once its final was answered (reply created, or absorbed) and every reply it
// saw is done.

import WebSocket from 'ws';
import type { ServerEvent, TurnDetection } from '../../src/protocol.js';
import type { ReplaySequence } from './replay.js';

export interface ResponseRecord {
  createdAt: number;
  firstDeltaAt: number | null;
  firstSpeechAt: number | null;
  doneAt: number | null;
  status: string | null;
  speculative: boolean;
  serverToolCalls: number;
}

/** A committed user turn: the client's final (at = when it was sent) or the server's turn.committed (when received). */
export interface CommitRecord {
  by: 'client' | 'server';
  at: number;
  responseId: string | null;
}

export interface SequenceOutcome {
  sequence: ReplaySequence;
  lastInterimAt: number;
  finalSentAt: number;
  commits: CommitRecord[];
  responses: Map<string, ResponseRecord>;
  /** How the final was answered: a reply created for it, absorbed into the server's commit, an error, or nothing in time. */
  answer: 'created' | 'absorbed' | 'error' | 'timeout';
  /** The reply that answers the sequence's final words. */
  answerResponseId: string | null;
  errors: string[];
}

const sleepUntil = (at: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, at - performance.now())));

class SequenceRecorder {
  lastInterimAt = 0;
  finalSentAt: number | null = null;
  readonly commits: CommitRecord[] = [];
  readonly responses = new Map<string, ResponseRecord>();
  readonly errors: string[] = [];
  answer: SequenceOutcome['answer'] | null = null;
  answerResponseId: string | null = null;
  /** A turn.committed arrived; its response.created comes next. */
  private pendingServerCommit = false;

  onEvent(event: ServerEvent, at: number): void {
    if (event.type === 'turn.committed') {
      this.commits.push({ by: 'server', at, responseId: null });
      this.pendingServerCommit = true;
    } else if (event.type === 'response.created') {
      this.created(event.responseId, at);
    } else if (event.type === 'turn.absorbed') {
      this.answer = 'absorbed';
      this.answerResponseId = event.responseId;
    } else if (event.type === 'error') {
      this.errors.push(event.code);
      if (this.finalSentAt !== null && this.answer === null && !this.pendingServerCommit) this.answer = 'error';
    } else if ('responseId' in event && event.responseId !== undefined) {
      const record = this.responses.get(event.responseId);
      if (record !== undefined) this.update(record, event, at);
    }
  }

  private created(responseId: string, at: number): void {
    this.responses.set(responseId, {
      createdAt: at,
      firstDeltaAt: null,
      firstSpeechAt: null,
      doneAt: null,
      status: null,
      speculative: false,
      serverToolCalls: 0,
    });
    const last = this.commits.at(-1);
    if (this.pendingServerCommit && last !== undefined) {
      last.responseId = responseId;
      this.pendingServerCommit = false;
      this.answerResponseId = responseId;
      return;
    }
    this.commits.push({ by: 'client', at: this.finalSentAt ?? at, responseId });
    if (this.finalSentAt !== null && this.answer === null) {
      this.answer = 'created';
      this.answerResponseId = responseId;
    }
  }

  private update(record: ResponseRecord, event: ServerEvent, at: number): void {
    if (event.type === 'response.delta') record.firstDeltaAt ??= at;
    else if (event.type === 'response.speech') record.firstSpeechAt ??= at;
    else if (event.type === 'response.tool_call' && event.runsOn === 'server') record.serverToolCalls += 1;
    else if (event.type === 'response.done') {
      record.doneAt = at;
      record.status = event.status;
      record.speculative = event.timings.speculative;
    }
  }

  get settled(): boolean {
    if (this.finalSentAt === null || this.answer === null || this.pendingServerCommit) return false;
    for (const record of this.responses.values()) if (record.doneAt === null) return false;
    return true;
  }
}

export class TurnClient {
  sessionId = '';
  /** Response events for a responseId this client never saw created (held output leaking; should stay 0). */
  unannouncedEvents = 0;
  unannouncedToolCalls = 0;
  /** Server tool calls announced in replies the client saw. */
  serverToolCalls = 0;
  private readonly created = new Set<string>();
  private current: { recorder: SequenceRecorder; wake: () => void } | null = null;
  private readonly waiters = new Set<{ test: (e: ServerEvent) => boolean; resolve: (e: ServerEvent) => void }>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => this.onMessage(JSON.parse(data.toString()) as ServerEvent));
  }

  /** Connects, waits for session.ready, applies `turnDetection` and returns the session.updated echo of it. */
  static async connect(
    url: string,
    turnDetection: TurnDetection,
  ): Promise<{ client: TurnClient; echo: TurnDetection }> {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    const client = new TurnClient(socket);
    const ready = client.next((e) => e.type === 'session.ready');
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const first = await ready;
    if (first.type === 'session.ready') client.sessionId = first.sessionId;
    const updated = client.next((e) => e.type === 'session.updated' || e.type === 'error');
    client.send({ type: 'session.update', turnDetection });
    const reply = await updated;
    if (reply.type !== 'session.updated') throw new Error(`session.update refused: ${JSON.stringify(reply)}`);
    return { client, echo: reply.turnDetection };
  }

  /** Plays one sequence at its replay times; resolves once it settled (or `timeoutMs` after its final). */
  async play(sequence: ReplaySequence, turnId: string, timeoutMs = 30_000): Promise<SequenceOutcome> {
    const recorder = new SequenceRecorder();
    let wake = (): void => {};
    const settled = new Promise<void>((resolve) => (wake = resolve));
    this.current = { recorder, wake };
    const start = performance.now();
    for (const interim of sequence.interims) {
      await sleepUntil(start + interim.atMs);
      this.send({ type: 'turn.interim', text: interim.text, turnId });
      recorder.lastInterimAt = performance.now();
    }
    await sleepUntil(start + sequence.final.atMs);
    recorder.finalSentAt = performance.now();
    this.send({ type: 'turn', text: sequence.final.text, turnId });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      settled.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    this.current = null;
    const { commits, responses, errors, lastInterimAt, answerResponseId } = recorder;
    const answer = timedOut ? 'timeout' : (recorder.answer ?? 'timeout');
    return {
      sequence,
      lastInterimAt,
      finalSentAt: recorder.finalSentAt,
      commits,
      responses,
      answer,
      answerResponseId,
      errors,
    };
  }

  close(): void {
    this.socket.close();
  }

  private send(event: Record<string, unknown>): void {
    this.socket.send(JSON.stringify(event));
  }

  private next(test: (e: ServerEvent) => boolean, timeoutMs = 15_000): Promise<ServerEvent> {
    return new Promise((resolve, reject) => {
      const waiter = { test, resolve };
      this.waiters.add(waiter);
      setTimeout(() => {
        if (this.waiters.delete(waiter)) reject(new Error(`no matching event within ${timeoutMs} ms`));
      }, timeoutMs).unref();
    });
  }

  private onMessage(event: ServerEvent): void {
    const at = performance.now();
    for (const waiter of this.waiters) {
      if (!waiter.test(event)) continue;
      this.waiters.delete(waiter);
      waiter.resolve(event);
    }
    if (event.type === 'response.created') this.created.add(event.responseId);
    else if (
      'responseId' in event &&
      typeof event.responseId === 'string' &&
      event.type !== 'turn.absorbed' &&
      event.type !== 'error'
    ) {
      if (!this.created.has(event.responseId)) {
        this.unannouncedEvents += 1;
        if (event.type === 'response.tool_call') this.unannouncedToolCalls += 1;
      } else if (event.type === 'response.tool_call' && event.runsOn === 'server') this.serverToolCalls += 1;
    }
    const current = this.current;
    if (current === null) return;
    current.recorder.onEvent(event, at);
    if (current.recorder.settled) current.wake();
  }
}
