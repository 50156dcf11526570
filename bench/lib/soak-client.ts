// One soak client (SoakSession): sends its turns, connects to a random instance, reconnects and resumes after
// every drop, waits for outstanding responses, and finally checks the session's upstream history.

import WebSocket from 'ws';
import type { ServerEvent } from '../../src/protocol.js';
import type { RecordedRequest } from '../../src/simulator/server.js';
import { planTurn } from './soak-faults.js';
import { handleEvent } from './soak-invariants.js';
import {
  sleep,
  type Connection,
  type DisconnectKind,
  type SoakClient,
  type SoakRun,
  type Track,
  type TurnPlan,
} from './soak-state.js';

/**
 * One client: M turns, with random barge-ins and dropped connections, each connection to a random instance.
 * After a drop the client reconnects and resumes from the last seq it saw, so every response it started must
 * still reach response.done, and the seq numbering must continue without gaps or repeats.
 */
export class SoakSession implements SoakClient {
  /** The session the client speaks in (set from the first session.ready; replaced only when a resume fails). */
  track: Track | null = null;
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

  constructor(
    readonly index: number,
    readonly run: SoakRun,
  ) {}

  async drive(): Promise<void> {
    const totals = this.run.totals;
    try {
      while (this.sent < this.run.turns) {
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
      this.run.totals.finalTurns += 1;
      await this.settle(false);
      if (this.createdTurns.has(turnId) === false) continue;
      const track = this.track as Track;
      const users = userMessages(this.run.lastRequestOf.get(track.sessionId));
      // The response can fail before any upstream request (open breaker, busy queue): then try again.
      if (users.at(-1) !== text) {
        await sleep(500);
        continue;
      }
      this.run.totals.historyChecked += 1;
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
      const ok = await this.until(
        () => conn.dead || conn.closed || (openOk() && (this.pendingTurn === null || (orphan && this.open.size === 0))),
        orphan ? 20_000 : 30_000,
      );
      if (conn.dead || conn.closed) continue;
      if (!ok) {
        this.violation(
          `stuck: open responses ${JSON.stringify([...this.open.keys()])}, pending turn ${this.pendingTurn?.turnId ?? 'none'}`,
        );
        this.open.clear();
        this.pendingTurn = null;
        return;
      }
      if (orphan && this.pendingTurn === pending) {
        const answered = await this.until(() => this.pendingTurn !== pending || conn.dead || conn.closed, 1_000);
        if (conn.dead || conn.closed) continue;
        if (!answered) {
          this.run.totals.turnsUnanswered += 1;
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
      if (attempt > 20) throw new Error('could not get a live connection in 21 attempts');
      if (this.conn !== null && !this.conn.closed) {
        this.conn.dead = true;
        this.conn.ws.terminate();
      }
      const instance = Math.floor(Math.random() * this.run.urls.length);
      const conn = await this.connect(instance);
      await this.until(() => conn.phase === 'live' || conn.dead || conn.closed, 30_000);
      if (conn.phase !== 'live' && !conn.dead && !conn.closed) {
        this.violation(
          `connection ${conn.no} to instance ${instance}: no session.resumed or GW_RESUME_FAILED within 30 s`,
        );
        conn.dead = true;
        conn.ws.terminate();
      }
    }
  }

  private async connect(instance: number): Promise<Connection> {
    const totals = this.run.totals;
    this.connections += 1;
    const ws = new WebSocket(this.run.urls[instance] as string);
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
      handleEvent(this, conn, event);
      this.notify();
    });
    ws.on('error', () => {});
    ws.on('close', (code) => {
      conn.closed = true;
      if (!conn.dead) {
        totals.closeCodes[code] = (totals.closeCodes[code] ?? 0) + 1;
        this.log({ c: conn.no, closed: code });
        if (code !== 4004 || !this.run.inOutage())
          this.violation(`connection ${conn.no} (instance ${instance}) closed by the server with ${code}`);
      }
      this.notify();
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return conn;
  }

  private sendTurn(text: string, withFaults: boolean): string {
    const conn = this.conn as Connection;
    const turnId = `s${this.index}-t${this.turnText.size + 1}`;
    this.turnText.set(turnId, text);
    this.run.totals.turnsSent += 1;
    this.pendingTurn = { turnId, conn };
    this.lastTurnConn = conn;
    this.plan = planTurn(turnId, withFaults, this.run);
    const drop = this.plan.drop;
    if (this.open.size > 0) this.run.totals.turnsDuringRelay += 1;
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

  drop(conn: Connection, kind: DisconnectKind): void {
    if (conn.dead || conn.closed) return;
    this.run.totals.disconnects[kind] += 1;
    if (kind === 'duringResume') this.run.totals.resumeDrops += 1;
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

  violation(message: string): void {
    this.violated = true;
    this.log({ violation: message });
    this.run.totals.violations.push(`session ${this.index}: ${message}`);
  }

  log(entry: Record<string, unknown>): void {
    this.trace.push(JSON.stringify({ t: Date.now() - this.run.startedAt, ...entry }));
  }
}

/** The user messages of an upstream request, in order. */
function userMessages(request: RecordedRequest | undefined): string[] {
  const body = request?.body as { messages?: { role?: string; content?: unknown }[] } | undefined;
  return (body?.messages ?? []).filter((m) => m.role === 'user').map((m) => String(m.content));
}
