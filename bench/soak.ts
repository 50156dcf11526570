// Bounded soak test (`npm run soak`, never part of `npm test`): N sessions × M turns through separate gateway
// processes, with random barge-ins, disconnects and injected upstream faults. After every disconnect (before
// the first delta, mid-stream or after done) the client reconnects and resumes (protocol 1.1) from the last seq
// it saw. Checks, per session and across all its connections: seq numbers gap-free and never repeated; every
// response.created gets exactly one response.done and nothing of a response follows it; the deltas join to the
// done text; and (after one final turn per session) the last upstream request of the session holds every user
// turn the gateway accepted, in order. Reports lost responses, error counts and gateway memory over time.
// Exits non-zero when an invariant breaks.
//
// With --instances N > 1 (or --redis), a real redis-server is started and N gateways share it (REDIS_URL): each
// connection (first one and every reconnect) goes to a random instance, so resumes cross instances, including
// mid-response. --kill-redis-at S SIGKILLs redis-server S seconds in and restarts it 2 s later on the same port;
// GW_RESUME_FAILED (and close 4004) are then expected for a while and counted separately.
//
// Usage: npm run soak -- [--sessions 50] [--turns 20] [--instances 1] [--redis] [--kill-redis-at S]
//          [--fault-rate 0.25] [--barge-in-rate 0.3] [--disconnect-rate 0.05|0.15] [--out file.json] [--trace-dir dir]
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import type { ServerEvent } from '../src/protocol.js';
import type { SimScenario } from '../src/simulator/scenario.js';
import { startSimulator, type RecordedRequest } from '../src/simulator/server.js';
import { RedisServer } from '../test/redis-server.js';

const { values: args } = parseArgs({
  options: {
    sessions: { type: 'string', default: '50' },
    turns: { type: 'string', default: '20' },
    instances: { type: 'string', default: '1' },
    redis: { type: 'boolean' },
    'no-redis': { type: 'boolean' },
    'kill-redis-at': { type: 'string' },
    'fault-rate': { type: 'string', default: '0.25' },
    'barge-in-rate': { type: 'string', default: '0.3' },
    'disconnect-rate': { type: 'string' },
    out: { type: 'string' },
    'trace-dir': { type: 'string' },
  },
});
const sessions = Number(args.sessions);
const turns = Number(args.turns);
const instances = Math.max(1, Number(args.instances));
const useRedis = args['no-redis'] === true ? false : (args.redis ?? instances > 1);
if (instances > 1 && !useRedis) throw new Error('--instances > 1 needs Redis (resumes must work on any instance)');
const killRedisAtS = args['kill-redis-at'] === undefined ? null : Number(args['kill-redis-at']);
if (killRedisAtS !== null && !useRedis) throw new Error('--kill-redis-at needs --redis');
const faultRate = Number(args['fault-rate']);
const bargeInRate = Number(args['barge-in-rate']);
// Several instances: disconnect more often, so that many resumes cross instances.
const disconnectRate = Number(args['disconnect-rate'] ?? (instances > 1 ? '0.15' : '0.05'));
const traceDir = args['trace-dir'];

/** A random upstream fault, or nothing: every way the simulator can fail. */
function randomScenario(): Partial<SimScenario> | undefined {
  const r = Math.random();
  if (r >= faultRate) return undefined;
  const faults: Partial<SimScenario>[] = [
    { status: 500 },
    { status: 503, errorBody: 'html' },
    { status: 429, retryAfter: '0' },
    { status: 400 },
    { dropAfterChunks: 1 + Math.floor(Math.random() * 20) },
    { stallAfterChunks: Math.floor(Math.random() * 10) },
    { profile: 'gen1', reasoning: 'thinking hard' },
    { toolCalls: [{ name: 'calculate', arguments: '{"expression":"6*7"}' }] },
    { splitWrites: true, crlf: true, keepAliveComments: true },
  ];
  return faults[Math.floor((r / faultRate) * faults.length)];
}

/** One WebSocket of a session: which instance, where it is in the resume handshake, and whether we dropped it. */
interface Connection {
  no: number;
  instance: number;
  ws: WebSocket;
  phase: 'ready' | 'resuming' | 'live';
  /** We terminated it: anything it still delivers is ignored (the client considers it gone). */
  dead: boolean;
  closed: boolean;
  /** The fresh session this socket started with (used when a resume fails). */
  fresh: { sessionId: string; resumeToken: string; seq: number } | null;
  /** Drop the socket while the resume is still replaying/relaying (after this many events; 0 = right after sending). */
  dropDuringResumeAfter: number;
  resumeEvents: number;
}

/** What to do to the response of one turn: barge in after some deltas, and/or drop the socket at some point. */
interface TurnPlan {
  turnId: string;
  responseId: string | null;
  deltas: number;
  bargeAfter: number;
  drop: 'after-send' | 'after-created' | 'mid-stream' | 'after-done' | null;
  dropAfterDeltas: number;
}

/**
 * One client: M turns, with random barge-ins and dropped connections, each connection to a random instance.
 * After a drop the client reconnects and resumes from the last seq it saw, so every response it started must
 * still reach response.done, and the seq numbering must continue without gaps or repeats.
 */
class SoakSession {
  /** The session the client speaks in (set from the first session.ready; replaced only when a resume fails). */
  track: { sessionId: string; resumeToken: string; lastSeq: number } | null = null;
  conn: Connection | null = null;
  connections = 0;
  lastInstance = -1;
  readonly open = new Map<string, { text: string; sessionId: string }>();
  readonly done = new Set<string>();
  readonly turnText = new Map<string, string>();
  readonly createdTurns = new Set<string>();
  /** Accepted user turns (got response.created), in order, per gateway session id. */
  readonly accepted = new Map<string, string[]>();
  pendingTurn: { turnId: string; conn: Connection } | null = null;
  /** The connection the last turn was sent on. */
  lastTurnConn: Connection | null = null;
  plan: TurnPlan | null = null;
  /** After a resume: barge in on the relayed response after its first delta. */
  relayBargeIn = false;
  sent = 0;
  violated = false;
  readonly trace: string[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(readonly index: number) {}

  async run(): Promise<void> {
    try {
      while (this.sent < turns) {
        // Right after a reconnect, sometimes do not wait for a response still being relayed: the new turn cancels it.
        await this.settle(Math.random() < 0.3);
        await this.ensureLive();
        this.sendTurn(`Soak session ${this.index} turn ${this.sent + 1}: tell me something.`, true);
        this.sent += 1;
      }
      await this.settle(false);
      await this.finalTurn();
    } catch (err) {
      this.violation(`client error: ${err instanceof Error ? err.stack : String(err)}`);
    }
    if (this.conn !== null) {
      this.conn.dead = true;
      this.conn.ws.close();
    }
    for (const [id, response] of this.open) {
      if (this.track !== null && response.sessionId !== this.track.sessionId) totals.abandonedResponses += 1;
      else {
        totals.lost += 1;
        this.violation(`response ${id} never got response.done`);
      }
    }
  }

  /** One final turn, then: the session's last upstream request must hold every accepted user turn, in order. */
  private async finalTurn(): Promise<void> {
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      const text = `Soak session ${this.index} final turn ${attempt}.`;
      await this.ensureLive();
      const turnId = this.sendTurn(text, false);
      totals.finalTurns += 1;
      await this.settle(false);
      if (this.createdTurns.has(turnId) === false) continue;
      const track = this.track as NonNullable<SoakSession['track']>;
      const request = lastRequestOf.get(track.sessionId);
      const users = userMessages(request);
      // The response can fail before any upstream request (open breaker, busy queue): then try again.
      if (users.at(-1) !== text) {
        await sleep(500);
        continue;
      }
      totals.historyChecked += 1;
      const expected = this.accepted.get(track.sessionId) ?? [];
      if (JSON.stringify(users) !== JSON.stringify(expected)) {
        const missing = expected.filter((t) => !users.includes(t));
        const extra = users.filter((t) => !expected.includes(t));
        this.violation(
          `history of ${track.sessionId}: last upstream request has ${users.length} user turns, client had ${expected.length} accepted; ` +
            `missing ${JSON.stringify(missing)}, unexpected ${JSON.stringify(extra)}${missing.length + extra.length === 0 ? ' (order differs)' : ''}`,
        );
      }
      return;
    }
    this.violation('no final turn reached the upstream in 5 attempts');
  }

  /** Waits until nothing is outstanding (or, with `allowOpen`, only until the last turn was answered), reconnecting after drops. */
  private async settle(allowOpen: boolean): Promise<void> {
    const openOk = () => this.open.size === 0 || (allowOpen && this.conn !== this.lastTurnConn);
    for (;;) {
      if (this.conn === null || this.conn.dead || this.conn.closed) {
        await this.ensureLive();
        continue;
      }
      const conn = this.conn;
      if (openOk() && this.pendingTurn === null) return;
      // A turn sent on a socket that dropped may never have reached the gateway: give it a moment to show up.
      const pending = this.pendingTurn;
      const orphan = pending !== null && pending.conn !== conn;
      const ok = await this.until(() => conn.dead || conn.closed || (openOk() && (this.pendingTurn === null || (orphan && this.open.size === 0))), orphan ? 20_000 : 30_000);
      if (conn.dead || conn.closed) continue;
      if (!ok) {
        this.violation(`stuck: open responses ${JSON.stringify([...this.open.keys()])}, pending turn ${this.pendingTurn?.turnId ?? 'none'}`);
        this.open.clear();
        this.pendingTurn = null;
        return;
      }
      if (orphan && this.pendingTurn === pending) {
        const answered = await this.until(() => this.pendingTurn !== pending || conn.dead || conn.closed, 1_000);
        if (conn.dead || conn.closed) continue;
        if (!answered) {
          totals.turnsUnanswered += 1;
          this.log({ note: 'turn never answered', turnId: pending.turnId });
          this.pendingTurn = null;
        }
      }
    }
  }

  /** A live connection speaking for this client's session: connects (to a random instance) and resumes as needed. */
  private async ensureLive(): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      if (this.conn !== null && !this.conn.dead && !this.conn.closed && this.conn.phase === 'live') return;
      if (attempt > 20) throw new Error('could not get a live connection in 20 attempts');
      if (this.conn !== null && !this.conn.closed) {
        this.conn.dead = true;
        this.conn.ws.terminate();
      }
      const instance = Math.floor(Math.random() * urls.length);
      const conn = await this.connect(instance);
      await this.until(() => conn.phase === 'live' || conn.dead || conn.closed, 30_000);
      if (conn.phase !== 'live' && !conn.dead && !conn.closed) {
        this.violation(`connection ${conn.no} to instance ${instance}: no session.resumed or GW_RESUME_FAILED within 30 s`);
        conn.dead = true;
        conn.ws.terminate();
      }
    }
  }

  private async connect(instance: number): Promise<Connection> {
    this.connections += 1;
    const ws = new WebSocket(urls[instance] as string);
    const conn: Connection = {
      no: this.connections,
      instance,
      ws,
      phase: 'ready',
      dead: false,
      closed: false,
      fresh: null,
      dropDuringResumeAfter: this.track !== null && Math.random() < 0.08 ? Math.floor(Math.random() * 4) : -1,
      resumeEvents: 0,
    };
    this.conn = conn;
    this.log({ connect: conn.no, instance, lastSeq: this.track?.lastSeq });
    ws.on('message', (data) => {
      if (conn.dead) return;
      const event = JSON.parse(String(data)) as ServerEvent;
      this.log({ c: conn.no, ...event });
      this.onEvent(conn, event);
      this.notify();
    });
    ws.on('error', () => {});
    ws.on('close', (code) => {
      conn.closed = true;
      if (!conn.dead) {
        totals.closeCodes[code] = (totals.closeCodes[code] ?? 0) + 1;
        this.log({ c: conn.no, closed: code });
        if (code !== 4004 || !inOutage()) this.violation(`connection ${conn.no} (instance ${instance}) closed by the server with ${code}`);
      }
      this.notify();
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return conn;
  }

  private onEvent(conn: Connection, event: ServerEvent): void {
    if (conn.phase === 'ready') {
      if (event.type !== 'session.ready') return this.violation(`connection ${conn.no}: first event ${event.type}, not session.ready`);
      if (this.track === null) {
        this.track = { sessionId: event.sessionId, resumeToken: event.resumeToken ?? '', lastSeq: event.seq };
        this.accepted.set(event.sessionId, []);
        conn.phase = 'live';
        this.lastInstance = conn.instance;
        return;
      }
      conn.fresh = { sessionId: event.sessionId, resumeToken: event.resumeToken ?? '', seq: event.seq };
      conn.phase = 'resuming';
      const { sessionId, resumeToken, lastSeq } = this.track;
      conn.ws.send(JSON.stringify({ type: 'session.resume', sessionId, resumeToken, lastSeq, eventId: `resume-${conn.no}` }));
      this.log({ c: conn.no, sent: 'session.resume', lastSeq });
      if (conn.dropDuringResumeAfter === 0) this.drop(conn, 'duringResume');
      return;
    }
    const track = this.track as NonNullable<SoakSession['track']>;
    if (conn.phase === 'resuming' && event.type === 'error' && event.code === 'GW_RESUME_FAILED') {
      const fresh = conn.fresh as NonNullable<Connection['fresh']>;
      totals.resumeFailed.total += 1;
      if (inOutage()) totals.resumeFailed.duringRedisOutage += 1;
      else this.violation(`connection ${conn.no} (instance ${conn.instance}): GW_RESUME_FAILED resuming ${track.sessionId} at ${track.lastSeq}: ${event.message}`);
      if (event.seq !== fresh.seq + 1) this.violation(`GW_RESUME_FAILED has seq ${event.seq} in the fresh session, expected ${fresh.seq + 1}`);
      // Carry on in the fresh session: what was outstanding in the old one is abandoned.
      for (const [id, response] of this.open) {
        if (response.sessionId !== track.sessionId) continue;
        this.open.delete(id);
        totals.abandonedResponses += 1;
      }
      this.track = { sessionId: fresh.sessionId, resumeToken: fresh.resumeToken, lastSeq: event.seq };
      this.accepted.set(fresh.sessionId, []);
      this.pendingTurn = null;
      this.plan = null;
      conn.phase = 'live';
      this.lastInstance = conn.instance;
      return;
    }
    // Everything else is in the session's own numbering: exactly the next seq.
    if (event.seq !== track.lastSeq + 1) {
      this.violation(
        `connection ${conn.no} (instance ${conn.instance}, ${conn.phase}): ${event.type} has seq ${event.seq} after ${track.lastSeq} (${event.seq <= track.lastSeq ? 'duplicate' : 'gap'})`,
      );
    }
    track.lastSeq = Math.max(track.lastSeq, event.seq);
    // A session.resumed answering another resume (one that never reached its client) is a past event of the
    // session like any other; ours echoes our eventId.
    if (event.type === 'session.resumed' && event.eventId !== `resume-${conn.no}`) {
      totals.foreignResumedEvents += 1;
      if (conn.phase === 'resuming') conn.resumeEvents += 1;
      this.checkResponse(event);
      this.applyPlan(conn, event);
      return;
    }
    if (conn.phase === 'resuming') {
      conn.resumeEvents += 1;
      if (event.type === 'session.resumed') {
        conn.phase = 'live';
        if (event.sessionId !== track.sessionId) this.violation(`session.resumed for ${event.sessionId}, expected ${track.sessionId}`);
        if (event.missedEvents) {
          totals.missedEvents += 1;
          this.violation(`connection ${conn.no}: session.resumed with missedEvents`);
        }
        if (conn.instance === this.lastInstance) totals.resumes.sameInstance += 1;
        else totals.resumes.otherInstance += 1;
        this.lastInstance = conn.instance;
        // Sometimes barge in on a response that is still being relayed from the instance we left.
        this.relayBargeIn = this.open.size > 0 && Math.random() < bargeInRate;
      } else if (conn.resumeEvents === conn.dropDuringResumeAfter) {
        this.checkResponse(event);
        this.applyPlan(conn, event);
        return this.drop(conn, 'duringResume');
      }
    } else if (event.type === 'session.resumed' || event.type === 'session.ready') {
      this.violation(`connection ${conn.no}: unexpected ${event.type} on a live connection`);
    }
    this.checkResponse(event);
    this.applyPlan(conn, event);
  }

  /** The response invariants, whatever connection the event came on. */
  private checkResponse(event: ServerEvent): void {
    const track = this.track as NonNullable<SoakSession['track']>;
    if (event.type === 'error') {
      totals.errors[event.code] = (totals.errors[event.code] ?? 0) + 1;
      if (this.pendingTurn !== null && event.eventId === this.pendingTurn.turnId) this.pendingTurn = null;
      return;
    }
    if (!('responseId' in event) || event.responseId === undefined) return;
    const id = event.responseId;
    if (this.done.has(id)) this.violation(`${event.type} (seq ${event.seq}) after response.done of ${id}`);
    switch (event.type) {
      case 'response.created': {
        totals.created += 1;
        if (this.open.has(id)) this.violation(`second response.created for ${id}`);
        this.open.set(id, { text: '', sessionId: track.sessionId });
        const text = this.turnText.get(event.turnId);
        if (text === undefined) this.violation(`response.created ${id} for unknown turn ${event.turnId}`);
        else if (this.createdTurns.has(event.turnId)) this.violation(`second response.created for turn ${event.turnId}`);
        else {
          this.createdTurns.add(event.turnId);
          totals.turnsAccepted += 1;
          this.accepted.get(track.sessionId)?.push(text);
        }
        if (this.pendingTurn?.turnId === event.turnId) this.pendingTurn = null;
        return;
      }
      case 'response.delta': {
        const response = this.open.get(id);
        if (response !== undefined) response.text += event.text;
        else if (!this.done.has(id)) this.violation(`response.delta for ${id} without response.created`);
        return;
      }
      case 'response.done': {
        totals.done += 1;
        const response = this.open.get(id);
        this.open.delete(id);
        if (this.done.has(id)) return;
        this.done.add(id);
        totals.status[event.status] = (totals.status[event.status] ?? 0) + 1;
        if (event.error) totals.errors[event.error.code] = (totals.errors[event.error.code] ?? 0) + 1;
        if (response === undefined) this.violation(`response.done for ${id} without response.created`);
        else if (response.text !== event.text) this.violation(`deltas of ${id} do not join to its text (${response.text.length} vs ${event.text.length} chars)`);
        return;
      }
      default:
        return;
    }
  }

  /** Barge-ins and drops planned for the current turn, triggered by its events. */
  private applyPlan(conn: Connection, event: ServerEvent): void {
    if (this.relayBargeIn && event.type === 'response.delta' && this.open.has(event.responseId)) {
      this.relayBargeIn = false;
      totals.bargeInsDuringRelay += 1;
      conn.ws.send(JSON.stringify({ type: 'response.cancel', responseId: event.responseId, heardChars: Math.floor(Math.random() * 40) }));
    }
    const plan = this.plan;
    if (plan === null) return;
    if (event.type === 'response.created' && event.turnId === plan.turnId) {
      plan.responseId = event.responseId;
      if (plan.drop === 'after-created') return this.drop(conn, 'afterCreated');
      return;
    }
    if (plan.responseId === null || !('responseId' in event) || event.responseId !== plan.responseId) return;
    if (event.type === 'response.delta') {
      plan.deltas += 1;
      if (plan.deltas === plan.bargeAfter) conn.ws.send(JSON.stringify({ type: 'response.cancel', heardChars: Math.floor(Math.random() * 40) }));
      if (plan.drop === 'mid-stream' && plan.deltas === plan.dropAfterDeltas) return this.drop(conn, 'midStream');
    }
    if (event.type === 'response.done') {
      this.plan = null;
      if (plan.drop === 'after-done') this.drop(conn, 'afterDone');
    }
  }

  private sendTurn(text: string, withFaults: boolean): string {
    const conn = this.conn as Connection;
    const turnId = `s${this.index}-t${this.turnText.size + 1}`;
    this.turnText.set(turnId, text);
    totals.turnsSent += 1;
    this.pendingTurn = { turnId, conn };
    this.lastTurnConn = conn;
    const modes = ['after-send', 'after-created', 'mid-stream', 'after-done'] as const;
    const drop = withFaults && Math.random() < disconnectRate ? modes[Math.floor(Math.random() * modes.length)] ?? null : null;
    this.plan = {
      turnId,
      responseId: null,
      deltas: 0,
      bargeAfter: withFaults && Math.random() < bargeInRate ? 1 + Math.floor(Math.random() * 15) : -1,
      drop,
      dropAfterDeltas: 1 + Math.floor(Math.random() * 10),
    };
    if (this.open.size > 0) totals.turnsDuringRelay += 1;
    this.log({ c: conn.no, sent: 'turn', turnId, open: [...this.open.keys()], drop });
    // 'after-send': drop once the frame is flushed to the kernel, so it does reach the gateway.
    conn.ws.send(JSON.stringify({ type: 'turn', text, turnId, eventId: turnId }), () => {
      if (drop === 'after-send' && !conn.dead && !conn.closed) {
        this.drop(conn, 'afterSend');
        this.notify();
      }
    });
    return turnId;
  }

  private drop(conn: Connection, kind: keyof typeof totals.disconnects): void {
    if (conn.dead || conn.closed) return;
    totals.disconnects[kind] += 1;
    if (kind === 'duringResume') totals.resumeDrops += 1;
    this.log({ c: conn.no, drop: kind, lastSeq: this.track?.lastSeq });
    conn.dead = true;
    conn.ws.terminate();
  }

  /** Resolves true once `condition` holds (re-checked after every event and close), false after `timeoutMs`. */
  private until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    if (condition()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        resolve(false);
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  private notify(): void {
    for (const check of [...this.waiters]) check();
  }

  private violation(message: string): void {
    this.violated = true;
    this.log({ violation: message });
    totals.violations.push(`session ${this.index}: ${message}`);
  }

  private log(entry: Record<string, unknown>): void {
    this.trace.push(JSON.stringify({ t: Date.now() - startedAt, ...entry }));
  }
}

const simulator = await startSimulator({ port: 0, host: '127.0.0.1', defaults: { ttftMs: 40, interTokenMs: 8 }, scenarioFor: randomScenario });
/** The most recent upstream request of each gateway session (by x-session-id), whatever simulator.requests keeps. */
const lastRequestOf = new Map<string, RecordedRequest>();
simulator.events.on('request', (request: RecordedRequest) => {
  const header = request.headers['x-session-id'];
  if (typeof header === 'string') lastRequestOf.set(header, request);
});

const redis = useRedis ? await RedisServer.start() : null;

// The built gateway, as operators run it (built first when dist/ is missing or stale).
execFileSync(process.execPath, ['scripts/ensure-build.mjs'], { stdio: 'inherit' });
const gateways: { port: number; child: ChildProcess }[] = [];
for (let i = 0; i < instances; i += 1) {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/src/server.js'], {
    env: {
      ...process.env,
      ASI_ONE_API_KEY: 'soak',
      ASI_BASE_URL: simulator.url,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      UPSTREAM_STALL_TIMEOUT_MS: '800',
      UPSTREAM_FIRST_TOKEN_TIMEOUT_MS: '2000',
      TURNS_PER_MINUTE: '100000',
      TURNS_PER_MINUTE_PER_TOKEN: '1000000',
      MAX_CONNECTIONS_PER_IP: '100000',
      MAX_RESPONSES_PER_IP: '100000',
      TURNS_PER_MINUTE_PER_IP: '1000000',
      ...(redis === null ? { REDIS_URL: '' } : { REDIS_URL: redis.url, REDIS_KEY_PREFIX: `soak${process.pid}:` }),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  gateways.push({ port, child });
}
await Promise.all(gateways.map((g) => waitForHealth(g.port)));
const urls = gateways.map((g) => `ws://127.0.0.1:${g.port}/v1/voice`);

const totals = {
  created: 0,
  done: 0,
  lost: 0,
  turnsSent: 0,
  turnsAccepted: 0,
  /** Turns sent on a socket that then dropped, never answered by response.created or an error (not accepted). */
  turnsUnanswered: 0,
  finalTurns: 0,
  resumes: { sameInstance: 0, otherInstance: 0 },
  resumeFailed: { total: 0, duringRedisOutage: 0 },
  /** Responses left behind in a session whose resume failed during the Redis outage (never seen done). */
  abandonedResponses: 0,
  resumeDrops: 0,
  /** session.resumed events answering other resumes (that never reached their client), seen as past events. */
  foreignResumedEvents: 0,
  /** Responses the servers settled in sessions the clients had to leave (a resume failed in a Redis outage). */
  settledUnseenAfterFailedResume: 0,
  missedEvents: 0,
  closeCodes: {} as Record<string, number>,
  disconnects: { afterSend: 0, afterCreated: 0, midStream: 0, afterDone: 0, duringResume: 0 },
  turnsDuringRelay: 0,
  bargeInsDuringRelay: 0,
  historyChecked: 0,
  violations: [] as string[],
  status: {} as Record<string, number>,
  errors: {} as Record<string, number>,
};
const memory: { atMs: number; rssMiB: number[]; heapMiB: number[] }[] = [];
const startedAt = Date.now();
const sampler = setInterval(() => void sampleMemory(), 1_000);
/** RSS from /proc, and the V8 heap in use from each gateway's own /metrics (what a leak would grow). */
async function sampleMemory(): Promise<void> {
  const heaps = await Promise.all(
    gateways.map(async (g) => {
      const text = await (await fetch(`http://127.0.0.1:${g.port}/metrics`)).text().catch(() => '');
      return Math.round(Number(/^nodejs_heap_size_used_bytes (\d+)/m.exec(text)?.[1] ?? 0) / 104857.6) / 10;
    }),
  ).catch(() => gateways.map(() => 0));
  memory.push({ atMs: Date.now() - startedAt, rssMiB: gateways.map((g) => rssMiB(g.child.pid ?? 0)), heapMiB: heaps });
}

// The Redis outage: GW_RESUME_FAILED and close 4004 are expected from the kill until a while after the restart.
const outage = { from: Infinity, until: -Infinity };
const inOutage = () => Date.now() >= outage.from && Date.now() <= outage.until;
let redisKiller: Promise<void> = Promise.resolve();
if (redis !== null && killRedisAtS !== null) {
  redisKiller = (async () => {
    await sleep(killRedisAtS * 1000);
    outage.from = Date.now();
    outage.until = Infinity;
    await redis.kill();
    console.error(`[soak] redis-server killed at ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
    await sleep(2_000);
    await redis.restart();
    // The instances reconnect with a backoff and then rewrite their sessions: allow some seconds for that.
    outage.until = Date.now() + 10_000;
    console.error(`[soak] redis-server restarted at ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  })();
}

const clients = Array.from({ length: sessions }, (_, i) => new SoakSession(i));
await Promise.all(clients.map((c) => c.run()));
await redisKiller;
clearInterval(sampler);
await sampleMemory();

// The servers' own accounting must match: every response they created was settled (dropped sockets included).
let serverSettled = 0;
let serverActive = 0;
const processGauges: Record<string, number>[] = [];
for (const g of gateways) {
  const metrics = await (await fetch(`http://127.0.0.1:${g.port}/metrics`)).text();
  serverSettled += [...metrics.matchAll(/^asi1_gateway_responses_total\{status="\w+"\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  serverActive += Number(/^asi1_gateway_active_responses (\d+)/m.exec(metrics)?.[1] ?? NaN);
  processGauges.push(
    Object.fromEntries(
      ['nodejs_external_memory_bytes', 'nodejs_heap_size_used_bytes', 'process_open_fds', 'nodejs_active_handles_total', 'asi1_gateway_open_sessions', 'asi1_gateway_redis_up'].map(
        (name) => [name, Number(new RegExp(`^${name} (\\d+)`, 'm').exec(metrics)?.[1] ?? NaN)],
      ),
    ),
  );
}
// After a failed resume (only during a Redis outage) a client carries on in a fresh session; a turn it sent just
// before the drop may still have been answered in the session it left, which it never sees again.
const unseenAllowed = totals.resumeFailed.duringRedisOutage > 0 && serverSettled > totals.created;
if (serverSettled !== totals.created && !unseenAllowed) totals.violations.push(`servers settled ${serverSettled} responses, clients saw ${totals.created} created`);
totals.settledUnseenAfterFailedResume = unseenAllowed ? serverSettled - totals.created : 0;
if (serverActive !== 0) totals.violations.push(`servers still have ${serverActive} active responses`);
for (const g of gateways) g.child.kill('SIGTERM');
await Promise.all(gateways.map((g) => (g.child.exitCode === null ? new Promise((resolve) => g.child.once('exit', resolve)) : undefined)));
await redis?.kill();
await simulator.close();

const report = {
  date: new Date().toISOString(),
  sessions,
  turns,
  instances,
  redis: redis !== null,
  killRedisAtS,
  faultRate,
  bargeInRate,
  disconnectRate,
  durationS: Math.round((Date.now() - startedAt) / 100) / 10,
  upstreamRequests: simulator.requests.length,
  serverSettled,
  processGauges,
  ...totals,
  violationCount: totals.violations.length,
  memory: gateways.map((_, i) => ({
    rss: { firstMiB: memory[0]?.rssMiB[i], maxMiB: Math.max(...memory.map((m) => m.rssMiB[i] ?? 0)), lastMiB: memory.at(-1)?.rssMiB[i] },
    heap: { firstMiB: memory[0]?.heapMiB[i], maxMiB: Math.max(...memory.map((m) => m.heapMiB[i] ?? 0)), lastMiB: memory.at(-1)?.heapMiB[i] },
  })),
};
const shown = { ...report, violations: report.violations.slice(0, 40) };
console.log(JSON.stringify(shown, null, 2));
if (args.out) writeFileSync(args.out, JSON.stringify({ ...report, memorySamples: memory }, null, 2));
if (traceDir !== undefined) {
  mkdirSync(traceDir, { recursive: true });
  for (const client of clients) if (client.violated) writeFileSync(join(traceDir, `session-${client.index}.jsonl`), client.trace.join('\n') + '\n');
}
process.exit(totals.lost === 0 && totals.violations.length === 0 ? 0 : 1);

function userMessages(request: RecordedRequest | undefined): string[] {
  const body = request?.body as { messages?: { role?: string; content?: unknown }[] } | undefined;
  return (body?.messages ?? []).filter((m) => m.role === 'user').map((m) => String(m.content));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function rssMiB(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 102.4) / 10 : 0;
  } catch {
    return 0;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForHealth(port: number): Promise<void> {
  for (let i = 0; i < 300; i += 1) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the gateway did not become healthy');
}
