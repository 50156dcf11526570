// Resumable sessions (/v1/voice), attached to a socket or waiting to be resumed. A session outlives its connection
// for RESUME_TTL_MS (its running response keeps streaming into the replay log), so a client that reconnects gets
// everything it missed. Connection counts and the drain's socket handling belong to the ConnectionLedger below it.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { Session } from '../session/session.js';
import type { ClientKeys } from './client-counts.js';
import { ledgerEntry, type ConnectionLedger, type LedgerEntry } from './connection-ledger.js';
import type { EventLog } from './event-log.js';
import type { Outbox } from './outbox.js';
import { randomToken } from './random-tokens.js';

export interface HostedSession extends LedgerEntry {
  readonly log: EventLog;
  outbox: Outbox | null;
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
  return randomToken(32);
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
  private hooks: SessionRegistryHooks | null = null;

  constructor(
    /** Connection counts and drain, shared with every other endpoint. */
    readonly ledger: ConnectionLedger,
    private readonly resumeTtlMs: number,
    /** Most sessions kept waiting for a resume: connect-and-drop floods must not pile up memory. */
    private readonly maxDetached: number,
  ) {}

  get isDraining(): boolean {
    return this.ledger.isDraining;
  }

  /** Connected sessions of every endpoint (what MAX_CONNECTIONS counts). */
  get size(): number {
    return this.ledger.total;
  }

  /** Sessions waiting to be resumed. */
  get detachedCount(): number {
    return this.detached.size;
  }

  /** Sessions of one client address, connected or waiting to be resumed (see ConnectionLedger.forIp). */
  forIp(ip: string): number {
    return this.ledger.forIp(ip);
  }

  setHooks(hooks: SessionRegistryHooks): void {
    this.hooks = hooks;
  }

  host(session: Session, log: EventLog, resumeDigest: Buffer): HostedSession {
    const entry: HostedSession = {
      ...ledgerEntry(session),
      log,
      outbox: null,
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
    entry.session.leaveTurnInProgress();
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
    entry.outbox = outbox;
    entry.attachEpoch += 1;
    this.ledger.connect(entry, socket, client);
    this.hooks?.attached(entry);
  }

  /**
   * The connection is gone. With resume on, the session (and its running response) waits RESUME_TTL_MS for a
   * resume; otherwise, or when `keep` is false, it is closed now (its response interrupted).
   */
  detach(entry: HostedSession, options: { keep: boolean }): void {
    this.unplug(entry);
    // A session nobody said anything in has nothing worth resuming.
    if (options.keep && this.resumeTtlMs > 0 && !this.isDraining && !entry.session.isPristine) {
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
      this.forget(entry, this.isDraining ? 'drained' : 'closed');
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
   * Graceful drain of every connection and of the sessions waiting here: responses get `graceMs` to finish, the
   * waiting sessions are then forgotten (left in the shared store, with scale-out) and every socket closed.
   */
  async drain(graceMs: number): Promise<void> {
    await this.ledger.quiesce(
      graceMs,
      [...this.detached].map((entry) => entry.session),
    );
    for (const entry of [...this.hosted.values()]) if (entry.socket === null) this.forget(entry, 'drained');
    await this.ledger.closeAll();
  }

  /** Unhooks the session from its socket (if any); it still counts against its address until forgotten. */
  private unplug(entry: HostedSession): void {
    if (entry.socket === null) return;
    entry.outbox?.dispose();
    entry.outbox = null;
    this.ledger.disconnect(entry);
  }

  private forget(entry: HostedSession, reason: ForgetReason): void {
    clearTimeout(entry.expiry);
    this.detached.delete(entry);
    entry.session.close();
    this.ledger.release(entry);
    if (this.hosted.get(entry.session.id) !== entry) return;
    this.hosted.delete(entry.session.id);
    this.hooks?.forgotten(entry, reason);
  }
}
