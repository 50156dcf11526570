// Live sessions, attached to a socket or waiting to be resumed. A session outlives its connection for
// RESUME_TTL_MS (its running response keeps streaming into the replay log), so a client that reconnects gets
// everything it missed. Also counts sessions and responses per address and token, and drains everything on shutdown.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { GatewayObserver } from '../metrics.js';
import type { EventLog } from '../session/event-log.js';
import type { Session } from '../session/session.js';
import { CLOSE_GOING_AWAY } from './close-codes.js';
import { ClientCounts, type ClientKeys } from './client-counts.js';
import type { Outbox } from './outbox.js';

export interface HostedSession {
  readonly session: Session;
  readonly log: EventLog;
  socket: WebSocket | null;
  outbox: Outbox | null;
  ip: string;
  /** The gateway token of the connection it was last attached to (its short id), or null. */
  tokenId: string | null;
  /** The address this session counts against while it is hosted here (connected or waiting), or null. */
  countedIp: string | null;
  /** Who each of its running responses was counted against when it started, oldest first. */
  readonly responseKeys: ClientKeys[];
  readonly resumeDigest: Buffer;
  expiry: NodeJS.Timeout | undefined;
  /** Set while the session moves to another instance (scale-out): the id of the instance taking it over. */
  handedTo: string | null;
  /**
   * How many times a socket attached to it (across instances, with scale-out). A hand-off request names the
   * count it saw, so one from a resume the client abandoned cannot take the session from a newer connection.
   */
  attachEpoch: number;
}

export type ForgetReason = 'expired' | 'evicted' | 'closed' | 'released' | 'drained';

/** What the scale-out layer (src/cluster) hears about a session's life here. Must not throw. */
export interface SessionRegistryHooks {
  attached(entry: HostedSession): void;
  detached(entry: HostedSession): void;
  forgotten(entry: HostedSession, reason: ForgetReason): void;
}

/** A fresh resume token: 32 random bytes, base64url. Only its digest is kept. */
export function createResumeToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The digest kept (and shared between instances) instead of a resume token. */
export function digestToken(token: string): Buffer {
  return digest(token);
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export class SessionRegistry {
  private readonly hosted = new Map<string, HostedSession>();
  /** Detached sessions, oldest first, so the cap evicts the longest-waiting one. */
  private readonly detached = new Set<HostedSession>();
  /** Sessions and running responses per address and per token. */
  readonly clients = new ClientCounts();
  private attached = 0;
  private draining = false;
  private hooks: SessionRegistryHooks | null = null;

  constructor(
    private readonly resumeTtlMs: number,
    /** Most sessions kept waiting for a resume: connect-and-drop floods must not pile up memory. */
    private readonly maxDetached: number,
  ) {}

  get isDraining(): boolean {
    return this.draining;
  }

  /** Connected sessions (what MAX_CONNECTIONS counts). */
  get total(): number {
    return this.attached;
  }

  get size(): number {
    return this.attached;
  }

  /** Sessions waiting to be resumed. */
  get detachedCount(): number {
    return this.detached.size;
  }

  /**
   * Sessions of one client address, for MAX_CONNECTIONS_PER_IP: connected ones and dropped ones waiting to be
   * resumed (their responses keep running, so dropping and reconnecting must not escape the limit).
   */
  forIp(ip: string): number {
    return this.clients.sessionsOf(ip);
  }

  setHooks(hooks: SessionRegistryHooks): void {
    this.hooks = hooks;
  }

  host(session: Session, log: EventLog, resumeDigest: Buffer): HostedSession {
    const entry: HostedSession = {
      session,
      log,
      socket: null,
      outbox: null,
      ip: '',
      tokenId: null,
      countedIp: null,
      responseKeys: [],
      resumeDigest,
      expiry: undefined,
      handedTo: null,
      attachEpoch: 0,
    };
    this.hosted.set(session.id, entry);
    return entry;
  }

  get(sessionId: string): HostedSession | undefined {
    return this.hosted.get(sessionId);
  }

  /**
   * The session is moving to instance `to`: its socket here (if any) is closed as stale (4003), and it waits,
   * detached, until its running response ends and it can be released. A safety expiry still applies.
   */
  handOff(entry: HostedSession, to: string, closeStale: (socket: WebSocket) => void): void {
    entry.handedTo = to;
    const socket = entry.socket;
    if (socket !== null) {
      this.detach(entry, { keep: true });
      closeStale(socket);
    } else if (!this.detached.has(entry)) {
      this.detach(entry, { keep: true });
    }
  }

  /** The move is complete: another instance owns the session now. Forget it here without touching the store. */
  release(entry: HostedSession): void {
    this.forget(entry, 'released');
  }

  /**
   * Another instance owns the session now (scale-out): its socket here, if any, is closed as stale and the
   * session forgotten without touching the store. Its running response, if any, is interrupted.
   */
  disown(entry: HostedSession, closeStale: (socket: WebSocket) => void): void {
    const socket = entry.socket;
    this.unplug(entry);
    if (socket !== null) closeStale(socket);
    this.forget(entry, 'released');
  }

  /** The move failed (the store went away): the session stays here, waiting for a resume as before. */
  cancelHandOff(entry: HostedSession): void {
    entry.handedTo = null;
  }

  attach(entry: HostedSession, socket: WebSocket, outbox: Outbox, client: ClientKeys): void {
    if (entry.socket !== null) this.detach(entry, { keep: true });
    clearTimeout(entry.expiry);
    entry.expiry = undefined;
    this.detached.delete(entry);
    entry.socket = socket;
    entry.outbox = outbox;
    entry.ip = client.ip;
    entry.tokenId = client.tokenId;
    entry.attachEpoch += 1;
    this.attached += 1;
    this.countAgainst(entry, client.ip);
    this.hooks?.attached(entry);
  }

  /**
   * The connection is gone. With resume on, the session (and its running response) waits RESUME_TTL_MS for a
   * resume; otherwise, or when `keep` is false, it is closed now (its response interrupted).
   */
  detach(entry: HostedSession, options: { keep: boolean }): void {
    this.unplug(entry);
    // A session nobody said anything in has nothing worth resuming.
    if (options.keep && this.resumeTtlMs > 0 && !this.draining && !entry.session.isPristine) {
      clearTimeout(entry.expiry);
      entry.expiry = setTimeout(() => this.forget(entry, 'expired'), this.resumeTtlMs);
      entry.expiry.unref();
      this.detached.add(entry);
      this.hooks?.detached(entry);
      if (this.detached.size > this.maxDetached) {
        const oldest = this.detached.values().next().value;
        if (oldest !== undefined) this.forget(oldest, 'evicted');
      }
    } else {
      this.forget(entry, this.draining ? 'drained' : 'closed');
    }
  }

  /**
   * The session a resume request names, if its token matches (constant-time). A session still attached to
   * another socket is taken over: that socket is the stale one.
   */
  claim(sessionId: string, resumeToken: string): HostedSession | null {
    const entry = this.hosted.get(sessionId);
    const probe = digest(resumeToken);
    // A session moving to another instance is returned too: the caller decides whether it can come back.
    if (entry === undefined || !timingSafeEqual(entry.resumeDigest, probe)) return null;
    return entry;
  }

  /** Drops a session that never connected anywhere (a fresh one replaced by a resume). */
  discard(entry: HostedSession): void {
    this.forget(entry, 'closed');
  }

  /**
   * Graceful drain. Resolves once every socket is closed. Responses still active after `graceMs` are
   * interrupted; ws flushes queued frames before the close frame, so each response.done is delivered.
   */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    const entries = [...this.hosted.values()];
    for (const entry of entries) entry.session.startDraining();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.all(entries.map((e) => e.session.whenIdle())), deadline]);
    clearTimeout(timer);
    const closed: Promise<void>[] = [];
    for (const entry of this.hosted.values()) {
      entry.session.interruptActive();
      if (entry.socket !== null) closed.push(closeSocket(entry.socket));
      else this.forget(entry, 'drained');
    }
    await Promise.all(closed);
  }

  /** Unhooks the session from its socket (if any) and the connection counts. */
  private unplug(entry: HostedSession): void {
    if (entry.socket === null) return;
    entry.outbox?.dispose();
    entry.socket = null;
    entry.outbox = null;
    this.attached -= 1;
  }

  /** The session counts against `ip` (and no longer against the address it had, if it moved). */
  private countAgainst(entry: HostedSession, ip: string | null): void {
    if (entry.countedIp === ip) return;
    if (entry.countedIp !== null) this.clients.sessionRemoved(entry.countedIp);
    if (ip !== null) this.clients.sessionAdded(ip);
    entry.countedIp = ip;
  }

  /** `base` (the metrics), plus the per-address and per-token response counts of the session `entryOf` names. */
  observe(base: GatewayObserver, entryOf: () => HostedSession | undefined): GatewayObserver {
    return {
      responseStarted: () => {
        base.responseStarted();
        const entry = entryOf();
        if (entry !== undefined) this.responseStarted(entry);
      },
      responseSettled: (summary) => {
        base.responseSettled(summary);
        const entry = entryOf();
        if (entry !== undefined) this.responseSettled(entry);
      },
    };
  }

  /** A response of `entry` started: it counts against the session's address and token until it settles. */
  responseStarted(entry: HostedSession): void {
    const keys = { ip: entry.ip, tokenId: entry.tokenId };
    entry.responseKeys.push(keys);
    this.clients.responseStarted(keys);
  }

  responseSettled(entry: HostedSession): void {
    const keys = entry.responseKeys.shift();
    if (keys !== undefined) this.clients.responseSettled(keys);
  }

  private forget(entry: HostedSession, reason: ForgetReason): void {
    clearTimeout(entry.expiry);
    this.detached.delete(entry);
    entry.session.close();
    this.countAgainst(entry, null);
    if (this.hosted.get(entry.session.id) !== entry) return;
    this.hosted.delete(entry.session.id);
    this.hooks?.forgotten(entry, reason);
  }
}

function closeSocket(socket: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.readyState === socket.CLOSED) return resolve();
    socket.once('close', () => resolve());
    socket.close(CLOSE_GOING_AWAY, 'server is shutting down');
    // A peer that never answers the close handshake must not hold shutdown hostage.
    setTimeout(() => {
      socket.terminate();
      resolve();
    }, 2_000).unref();
  });
}
