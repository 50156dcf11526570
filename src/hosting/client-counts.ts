// What each client address and gateway token holds right now, for the limits that keep one client from crowding
// out the others: its sessions (connected, or dropped and waiting to be resumed: such a session keeps its
// response running, so it must keep counting) and its responses in progress.

/** Who a session belongs to, as the limits see it. */
export interface ClientKeys {
  ip: string;
  /** The short id of the gateway token the connection presented, or null. */
  tokenId: string | null;
}

/** Counts per key; a key at zero is removed, so gone clients leave nothing behind. */
class Tally {
  private readonly counts = new Map<string, number>();

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  add(key: string, delta: 1 | -1): void {
    const next = this.get(key) + delta;
    if (next > 0) this.counts.set(key, next);
    else this.counts.delete(key);
  }
}

export class ClientCounts {
  private readonly sessions = new Tally();
  private readonly responsesByIp = new Tally();
  private readonly responsesByToken = new Tally();

  /** Sessions of an address: connected ones and those waiting to be resumed (what MAX_CONNECTIONS_PER_IP counts). */
  sessionsOf(ip: string): number {
    return this.sessions.get(ip);
  }

  responsesOfIp(ip: string): number {
    return this.responsesByIp.get(ip);
  }

  responsesOfToken(tokenId: string): number {
    return this.responsesByToken.get(tokenId);
  }

  sessionAdded(ip: string): void {
    this.sessions.add(ip, 1);
  }

  sessionRemoved(ip: string): void {
    this.sessions.add(ip, -1);
  }

  responseStarted(keys: ClientKeys): void {
    this.responsesByIp.add(keys.ip, 1);
    if (keys.tokenId !== null) this.responsesByToken.add(keys.tokenId, 1);
  }

  responseSettled(keys: ClientKeys): void {
    this.responsesByIp.add(keys.ip, -1);
    if (keys.tokenId !== null) this.responsesByToken.add(keys.tokenId, -1);
  }
}
