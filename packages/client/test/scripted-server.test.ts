// Protocol edges the real gateway never produces on cue, against a tiny scripted ws server: an unknown protocol
// major, a newer minor (accepted; it unlocks interim), a replay repeating seen events, and frames lost in a drop.
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { VoiceGatewayError } from '../src/index.js';
import { connect } from '../src/node.js';
import { collect, nextState } from './support.js';

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
