// Scale-out of sessions across instances (REDIS_URL set): the SessionScaleOut hosting talks to. Wires the three
// jobs together: mirroring hosted sessions to the store (MirrorWriter), handing them off and taking them back
// (HandOff), answering other instances' control messages (ControlHandler); RemoteResume does the resuming side.
import type { Logger } from 'pino';
import type { SessionResumeEvent } from '../protocol.js';
import type { HostedSession, SessionRegistry } from '../hosting/session-registry.js';
import type { RelayTarget, SessionScaleOut } from '../hosting/scale-out-port.js';
import { ControlChannel } from './control-channel.js';
import { ControlHandler } from './control-handler.js';
import { HandOff } from './hand-off.js';
import type { InstancePresence } from './instance-presence.js';
import { MirrorWriter } from './mirror-writer.js';
import type { RedisLink } from './redis-link.js';
import { RemoteResume } from './remote-resume.js';
import type { SessionStore } from './session-store.js';
import type { Tracing } from '../tracing/tracing.js';
import { StoreWrites } from './store-writes.js';

export interface SessionClusterOptions {
  link: RedisLink;
  store: SessionStore;
  presence: InstancePresence;
  registry: SessionRegistry;
  instanceId: string;
  /** Store TTL of a session whose socket is gone: RESUME_TTL_MS. */
  detachedTtlMs: number;
  /**
   * Store TTL while a socket is attached (refreshed on every write): longer than the longest silence of an
   * attached session (an idle connection, a client tool the response waits on), plus the detached TTL.
   */
  attachedTtlMs: number;
  /** How long a relay waits for the owner to answer or make progress (see RemoteResume). */
  relayTimeouts: { answerMs: number; stallMs: number };
  maxFrameBytes: number;
  logger: Logger;
  /** Counts store operations that failed (Redis down or erroring). */
  onStoreError: (operation: string) => void;
  /** Tracing, or null: a resume here records its span in the trace of the response in flight. */
  tracing: Tracing | null;
}

export class SessionCluster implements SessionScaleOut {
  readonly control: ControlChannel;
  private readonly writes: StoreWrites;
  private readonly writer: MirrorWriter;
  private readonly handOff: HandOff;
  private readonly handler: ControlHandler;

  constructor(private readonly options: SessionClusterOptions) {
    this.control = new ControlChannel(options.link, options.instanceId);
    this.writes = new StoreWrites(options.onStoreError);
    this.writer = new MirrorWriter(options, this.writes);
    this.handOff = new HandOff(options, this.writer, this.writes);
    this.handler = new ControlHandler(options, this.writer, this.handOff);
    options.registry.setHooks({
      // The attach count (in the state) and the TTL (attached or detached) change: the next flush writes them.
      attached: (entry) => void this.writer.touch(entry, true),
      detached: (entry) => void this.writer.touch(entry, false),
      forgotten: (entry, reason) => {
        if (this.writer.forget(entry, reason)) this.handOff.forget(entry.session.id);
      },
    });
  }

  /** Listens for hand-off requests. Does not wait for Redis: while it is down, ioredis subscribes once it is back. */
  start(): void {
    this.control
      .listen((message) => this.handler.handle(message))
      .catch((err: unknown) => {
        this.options.onStoreError('subscribe');
        this.options.logger.warn({ err: String(err) }, 'cannot listen for hand-offs yet');
      });
  }

  /** Resolves once every store write issued so far has finished (before closing Redis on shutdown). */
  settle(): Promise<void> {
    return this.writes.settle();
  }

  /** Mirrors a (voice) session from its start (see MirrorWriter.track). */
  track(entry: HostedSession): void {
    this.writer.track(entry);
  }

  /** The session's state changed (Session.onStateChange): persist it, and finish a pending hand-off once idle. */
  stateChanged(entry: HostedSession): void {
    const mirror = this.writer.touch(entry, true);
    if (mirror !== undefined && entry.handedTo !== null && !entry.session.hasActiveResponse)
      setImmediate(() => this.handOff.release(mirror));
  }

  /** Takes back a session being handed off (see HandOff.reclaim). */
  reclaim(entry: HostedSession): true | Promise<void> {
    return this.handOff.reclaim(entry);
  }

  /** Starts taking over a session that this instance does not host (see RemoteResume). */
  resumeRemote(request: SessionResumeEvent, target: RelayTarget): RemoteResume {
    return new RemoteResume({
      store: this.options.store,
      link: this.options.link,
      presence: this.options.presence,
      control: this.control,
      instanceId: this.options.instanceId,
      ttlMs: this.options.attachedTtlMs,
      ...this.options.relayTimeouts,
      request,
      target,
      logger: this.options.logger,
      tracing: this.options.tracing,
    });
  }
}
