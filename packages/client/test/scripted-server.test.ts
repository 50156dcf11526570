// Protocol edges the real gateway never produces on cue, against a tiny scripted ws server: an unknown protocol
// major, a newer minor (accepted; it unlocks interim), a replay repeating seen events, frames lost in a drop, and
// protocol 1.2's server-committed turns and the finals absorbed into them.
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { VoiceGatewayError, type ClientErrorCode, type VoiceSession } from '../src/index.js';
import { connect } from '../src/node.js';
import { collect, nextCommitted, nextState } from './support.js';

/** A WebSocket server whose test scripts each connection: it hands out sockets and the frames they send. */
class ScriptedServer {
  readonly url: string;
  private readonly pending: ((socket: ScriptedSocket) => void)[] = [];
  private readonly arrived: ScriptedSocket[] = [];

  private constructor(private readonly server: WebSocketServer) {
    this.url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/v1/voice`;
    server.on('connection', (socket) => {
      const scripted = new ScriptedSocket(socket);
      const waiter = this.pending.shift();
      if (waiter) waiter(scripted);
      else this.arrived.push(scripted);
    });
  }

  static async start(): Promise<ScriptedServer> {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => server.once('listening', resolve));
    return new ScriptedServer(server);
  }

  get connections(): number {
    return this.server.clients.size;
  }

  nextConnection(): Promise<ScriptedSocket> {
    const ready = this.arrived.shift();
    return ready ? Promise.resolve(ready) : new Promise((resolve) => this.pending.push(resolve));
  }

  close(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

class ScriptedSocket {
  private readonly frames: Record<string, unknown>[] = [];
  private waiters: (() => void)[] = [];
  readonly closed: Promise<number>;

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as Record<string, unknown>);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => socket.on('close', (code) => resolve(code)));
  }

  send(...events: Record<string, unknown>[]): void {
    for (const event of events) this.socket.send(JSON.stringify(event));
  }

  /** The first frame of `type` this socket received (waits for it). */
  async frame(type: string): Promise<Record<string, unknown>> {
    return (await this.framesUntil((frames) => frames.some((f) => f.type === type))).find((f) => f.type === type) ?? {};
  }

  /** Every frame received, once `enough` holds for them (waits for it). */
  async framesUntil(
    enough: (frames: readonly Record<string, unknown>[]) => boolean,
  ): Promise<Record<string, unknown>[]> {
    while (!enough(this.frames)) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.frames;
  }
}

function ready(seq: number, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'session.ready',
    sessionId: 'sess_a',
    protocol: 1,
    minor: 1,
    resumeToken: 'token-a',
    model: 'asi1-mini',
    upstream: 'custom',
    limits: { maxFrameBytes: 131_072, maxTurnChars: 8_000, resumeTtlMs: 120_000 },
    seq,
    ...fields,
  };
}

let server: ScriptedServer;
afterEach(async () => {
  await server.close();
});

describe('protocol versions', () => {
  it('refuses a server that announces an unknown protocol major with CLIENT_PROTOCOL_UNSUPPORTED, and does not retry', async () => {
    server = await ScriptedServer.start();
    const attempt = connect({ url: server.url, reconnect: { minDelayMs: 1 } }).catch((err: unknown) => err);
    const socket = await server.nextConnection();
    socket.send(ready(1, { protocol: 2, minor: 0 }));
    const error = await attempt;
    expect(error).toBeInstanceOf(VoiceGatewayError);
    expect(error).toMatchObject({
      code: 'CLIENT_PROTOCOL_UNSUPPORTED',
      retryable: false,
      message: expect.stringContaining('protocol 2.0'),
    });
    expect(await socket.closed).toBe(1000);
    expect(server.connections).toBe(0);
  });

  it('accepts a newer minor of protocol 1 (minors only add), which also unlocks interim transcripts', async () => {
    server = await ScriptedServer.start();
    const attempt = connect({ url: server.url });
    const socket = await server.nextConnection();
    socket.send(ready(1, { minor: 7, someFutureField: { x: 1 } }));
    const session = await attempt;
    expect(session.protocol).toEqual({ major: 1, minor: 7 });
    session.interim('what is the');
    expect(await socket.frame('turn.interim')).toEqual({ type: 'turn.interim', text: 'what is the' });
    await session.close();
  });
});

describe('replays', () => {
  it('delivers each event once by seq when a resumed server replays events the client already has', async () => {
    server = await ScriptedServer.start();
    const attempt = connect({ url: server.url, reconnect: { minDelayMs: 1 } });
    const first = await server.nextConnection();
    first.send(ready(1));
    const session = await attempt;
    const reply = session.turn('Count');
    const turn = await first.frame('turn');
    const responseId = 'resp_1';
    first.send(
      { type: 'response.created', responseId, turnId: turn.turnId, seq: 2 },
      { type: 'response.delta', responseId, text: 'One ', seq: 3 },
      { type: 'response.delta', responseId, text: 'two ', seq: 4 },
    );
    let seen = '';
    for await (const delta of reply.deltas) if ((seen += delta) === 'One two ') break;
    first.socket.terminate();
    const second = await server.nextConnection();
    second.send(ready(1, { sessionId: 'sess_fresh', resumeToken: 'token-fresh' }));
    const resume = await second.frame('session.resume');
    expect(resume).toMatchObject({ sessionId: 'sess_a', resumeToken: 'token-a', lastSeq: 4 });
    // A careless server replays from seq 2: everything up to 4 is a repeat.
    second.send(
      { type: 'response.created', responseId, turnId: turn.turnId, seq: 2 },
      { type: 'response.delta', responseId, text: 'One ', seq: 3 },
      { type: 'response.delta', responseId, text: 'two ', seq: 4 },
      { type: 'response.delta', responseId, text: 'three.', seq: 5 },
      {
        type: 'session.resumed',
        sessionId: 'sess_a',
        resumedFrom: 4,
        replayed: 4,
        missedEvents: false,
        eventId: resume.eventId,
        seq: 6,
      },
      {
        type: 'response.done',
        responseId,
        status: 'completed',
        text: 'One two three.',
        timings: { firstTokenMs: 1, firstSpeechMs: null, totalMs: 2 },
        seq: 7,
      },
    );
    expect(await reply.done).toMatchObject({ status: 'completed', text: 'One two three.' });
    const deltas = collect(reply.deltas);
    await deltas.finished;
    expect(deltas.items).toEqual(['One ', 'two ', 'three.']);
    expect(session.id).toBe('sess_a');
    await session.close();
  });

  it('sends again a turn the dropped socket swallowed, then the turn made while reconnecting, in order', async () => {
    server = await ScriptedServer.start();
    const attempt = connect({ url: server.url, reconnect: { minDelayMs: 1 } });
    const first = await server.nextConnection();
    first.send(ready(1));
    const session = await attempt;
    const lost = session.turn('First');
    await first.frame('turn'); // written, and never answered: as if it died with the connection
    const reconnecting = nextState(session, 'reconnecting');
    first.socket.terminate();
    await reconnecting;
    const queued = session.turn('Second');
    const second = await server.nextConnection();
    second.send(ready(1, { sessionId: 'sess_fresh', resumeToken: 'token-fresh' }));
    const resume = await second.frame('session.resume');
    expect(resume).toMatchObject({ sessionId: 'sess_a', lastSeq: 1 });
    second.send({
      type: 'session.resumed',
      sessionId: 'sess_a',
      resumedFrom: 1,
      replayed: 0,
      missedEvents: false,
      eventId: resume.eventId,
      seq: 2,
    });
    const frames = await second.framesUntil((all) => all.filter((f) => f.type === 'turn').length === 2);
    expect(frames.map((f) => [f.type, f.text, f.turnId])).toEqual([
      ['session.resume', undefined, undefined],
      ['turn', 'First', lost.turnId],
      ['turn', 'Second', queued.turnId],
    ]);
    await session.close();
    await expect(lost.done).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
  });
});

/** A session on a scripted gateway announcing protocol 1.2; `emit` sends events, each with the next seq. */
async function sessionOn12(): Promise<{
  session: VoiceSession;
  socket: ScriptedSocket;
  emit: (...events: Record<string, unknown>[]) => void;
}> {
  server = await ScriptedServer.start();
  const attempt = connect({ url: server.url });
  const socket = await server.nextConnection();
  socket.send(ready(1, { minor: 2 }));
  let seq = 1;
  const emit = (...events: Record<string, unknown>[]): void =>
    socket.send(...events.map((event) => ({ ...event, seq: ++seq })));
  return { session: await attempt, socket, emit };
}

function created(responseId: string, turnId: unknown): Record<string, unknown> {
  return { type: 'response.created', responseId, turnId };
}

function delta(responseId: string, text: string): Record<string, unknown> {
  return { type: 'response.delta', responseId, text };
}

function done(responseId: string, text: string, status = 'completed'): Record<string, unknown> {
  const timings = { firstTokenMs: 1, firstSpeechMs: null, totalMs: 2, speculative: false };
  return { type: 'response.done', responseId, status, text, timings };
}

function committed(turnId: string, text: string): Record<string, unknown> {
  return { type: 'turn.committed', turnId, text, by: 'server' };
}

/** The `turn` frames the socket received, once there are `count` of them. */
async function turnFrames(socket: ScriptedSocket, count: number): Promise<Record<string, unknown>[]> {
  const frames = await socket.framesUntil((all) => all.filter((f) => f.type === 'turn').length >= count);
  return frames.filter((f) => f.type === 'turn');
}

describe('interim transcripts (1.2)', () => {
  it('sends an interim with its turnId when given, and without one otherwise', async () => {
    const { session, socket } = await sessionOn12();
    session.interim('what time', { turnId: 'u1' });
    session.interim('what time is it');
    const frames = await socket.framesUntil((all) => all.filter((f) => f.type === 'turn.interim').length === 2);
    expect(frames.filter((f) => f.type === 'turn.interim')).toEqual([
      { type: 'turn.interim', text: 'what time', turnId: 'u1' },
      { type: 'turn.interim', text: 'what time is it' },
    ]);
    await session.close();
  });

  it('sends the traceparent it is given (1.4) on the turn and the interims of an utterance', async () => {
    const { session, socket } = await sessionOn12();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    session.interim('what time', { turnId: 'u1', traceparent });
    session.turn('What time is it?', { turnId: 'u1', traceparent });
    session.turn('And tomorrow?');
    const frames = await socket.framesUntil((all) => all.filter((f) => f.type === 'turn').length === 2);
    expect(frames.filter((f) => f.type === 'turn.interim')).toEqual([
      { type: 'turn.interim', text: 'what time', turnId: 'u1', traceparent },
    ]);
    expect((await turnFrames(socket, 2)).map((f) => f.traceparent)).toEqual([traceparent, undefined]);
    await session.close();
  });

  it('refuses an interim on a gateway announcing 1.1 with CLIENT_UNSUPPORTED, and sends nothing', async () => {
    server = await ScriptedServer.start();
    const attempt = connect({ url: server.url });
    const socket = await server.nextConnection();
    socket.send(ready(1, { minor: 1 }));
    const session = await attempt;
    expect(() => session.interim('what is', { turnId: 'u1' })).toThrow(
      expect.objectContaining({ code: 'CLIENT_UNSUPPORTED', message: expect.stringContaining('1.2') }),
    );
    session.turn('What is it?');
    const frames = await socket.framesUntil((all) => all.some((f) => f.type === 'turn'));
    expect(frames.map((f) => f.type)).toEqual(['turn']);
    await session.close();
  });
});

describe('server-committed turns (1.2)', () => {
  it('hands a turn the gateway committed to the committed event, as a Reply that streams and cancels like any', async () => {
    const { session, socket, emit } = await sessionOn12();
    const next = nextCommitted(session);
    session.interim('what time is it', { turnId: 'u1' });
    emit(committed('u1', 'what time is it'), created('resp_1', 'u1'), delta('resp_1', 'It is '));
    const { reply, turn } = await next;
    expect(turn).toEqual({ turnId: 'u1', text: 'what time is it' });
    expect(reply).toMatchObject({ turnId: 'u1', absorbedInto: null });
    const deltas = collect(reply.deltas);
    emit(delta('resp_1', 'noon.'), { type: 'response.speech', responseId: 'resp_1', index: 0, text: 'It is noon.' });
    const speech = collect(reply.speech);
    for await (const segment of reply.speech) if (segment.index === 0) break;
    expect(reply.responseId).toBe('resp_1');
    const cancelled = reply.cancel({ heardChars: 3 });
    expect(await socket.frame('response.cancel')).toMatchObject({ responseId: 'resp_1', heardChars: 3 });
    emit(done('resp_1', 'It is noon.', 'interrupted'));
    expect(await cancelled).toMatchObject({ status: 'interrupted', responseId: 'resp_1' });
    await Promise.all([deltas.finished, speech.finished]);
    expect(deltas.items).toEqual(['It is ', 'noon.']);
    expect(speech.items).toEqual([{ index: 0, text: 'It is noon.' }]);
    await session.close();
  });

  it('resolves an absorbed final with the committed reply, from its first delta, while it streams or once it ended', async () => {
    const { session, socket, emit } = await sessionOn12();
    let next = nextCommitted(session);
    emit(committed('u1', 'what time is it'), created('resp_1', 'u1'), delta('resp_1', 'It is '));
    const first = (await next).reply;
    const streaming = session.turn('What time is it?');
    const [turn] = await turnFrames(socket, 1);
    emit({ type: 'turn.absorbed', turnId: turn?.turnId, committedTurnId: 'u1', responseId: 'resp_1' });
    emit(delta('resp_1', 'noon.'), done('resp_1', 'It is noon.'));
    const doneEvent = await streaming.done;
    expect(doneEvent).toBe(await first.done);
    expect(doneEvent).toMatchObject({ responseId: 'resp_1', text: 'It is noon.' });
    expect(streaming).toMatchObject({ responseId: 'resp_1', text: 'It is noon.', finished: true });
    expect(streaming.absorbedInto).toBe(first);
    expect(streaming.heard).toBe(first.heard);
    const deltas = collect(streaming.deltas);
    await deltas.finished;
    expect(deltas.items).toEqual(['It is ', 'noon.']);
    // A commit whose reply already ended: the final's Reply is done at once.
    next = nextCommitted(session);
    emit(committed('u2', 'and tomorrow'), created('resp_2', 'u2'), delta('resp_2', 'Sunny.'), done('resp_2', 'Sunny.'));
    const second = (await next).reply;
    await second.done;
    const late = session.turn('And tomorrow?');
    const [, lateTurn] = await turnFrames(socket, 2);
    emit({ type: 'turn.absorbed', turnId: lateTurn?.turnId, committedTurnId: 'u2', responseId: 'resp_2' });
    expect(await late.done).toBe(await second.done);
    expect(late.text).toBe('Sunny.');
    expect(late.absorbedInto).toBe(second);
    await session.close();
  });

  it('binds a server commit before a final sent with the same turnId, which the absorb then resolves', async () => {
    const { session, socket, emit } = await sessionOn12();
    const next = nextCommitted(session);
    session.interim('what time is it', { turnId: 'u1' });
    // The final crossed the server's commit on the wire.
    const final = session.turn('What time is it?', { turnId: 'u1' });
    await turnFrames(socket, 1);
    emit(committed('u1', 'what time is it'), created('resp_1', 'u1'), delta('resp_1', 'Noon.'));
    const { reply } = await next;
    expect(reply).not.toBe(final);
    expect(reply.responseId).toBe('resp_1');
    expect(final.responseId).toBeNull();
    emit({ type: 'turn.absorbed', turnId: 'u1', committedTurnId: 'u1', responseId: 'resp_1' }, done('resp_1', 'Noon.'));
    expect(await final.done).toBe(await reply.done);
    expect(final.absorbedInto).toBe(reply);
    await session.close();
  });

  it('gives a final that extends the committed words a reply of its own; the committed one ends interrupted', async () => {
    const { session, socket, emit } = await sessionOn12();
    const next = nextCommitted(session);
    emit(committed('u1', 'what time is it'), created('resp_1', 'u1'), delta('resp_1', 'It is '));
    const { reply } = await next;
    const final = session.turn('What time is it in Paris?');
    const [turn] = await turnFrames(socket, 1);
    emit(done('resp_1', 'It is ', 'interrupted'), created('resp_2', turn?.turnId), delta('resp_2', 'Two.'));
    emit(done('resp_2', 'Two.'));
    expect(await reply.done).toMatchObject({ status: 'interrupted', responseId: 'resp_1' });
    expect(await final.done).toMatchObject({ status: 'completed', responseId: 'resp_2', text: 'Two.' });
    expect(final.absorbedInto).toBeNull();
    await session.close();
  });

  it('rejects an absorbed final whose committed reply never started with CLIENT_TURN_ABSORBED', async () => {
    const { session, socket, emit } = await sessionOn12();
    const final = session.turn('What time is it?');
    const [turn] = await turnFrames(socket, 1);
    emit({ type: 'turn.absorbed', turnId: turn?.turnId, committedTurnId: 'u1', responseId: null });
    const error = await final.done.catch((err: unknown) => err);
    const code: ClientErrorCode = 'CLIENT_TURN_ABSORBED';
    expect(error).toBeInstanceOf(VoiceGatewayError);
    expect(error).toMatchObject({
      code,
      eventId: final.turnId,
      retryable: false,
      message: expect.stringContaining('u1'),
    });
    await expect(collect(final.deltas).finished).rejects.toBe(error);
    await session.close();
  });
});
