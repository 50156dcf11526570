// Messages between instances about one session, over Redis pub/sub (one channel per instance), validated like
// client input (another instance is still an external party): 'handoff' asks the owner to hand a session over,
// 'frame' carries a client frame (a barge-in, a tool result) for the response the owner is still running.
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { RedisLink } from './redis-link.js';

const Id = Type.String({ minLength: 1, maxLength: 128 });

/**
 * handoff: "I (to) have a client resuming your session after seq N: hand it over".
 * frame: "this client frame (a barge-in, a tool result) belongs to the response you are still running".
 */
export const ControlMessageSchema = Type.Union([
  Type.Object({
    t: Type.Literal('handoff'),
    sessionId: Id,
    to: Id,
    lastSeq: Type.Integer({ minimum: 0 }),
    eventId: Type.Optional(Type.String({ maxLength: 128 })),
    /** The owner's attach count the requester saw: a newer attach means the request is stale. */
    epoch: Type.Optional(Type.Integer({ minimum: 0 })),
    /** This resume's id (re-sent requests repeat it): the owner answers or refuses each resume once. */
    rid: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  }),
  Type.Object({ t: Type.Literal('frame'), sessionId: Id, frame: Type.String({ maxLength: 16 * 1024 * 1024 }) }),
]);

export type ControlMessage = Static<typeof ControlMessageSchema>;

const checker = TypeCompiler.Compile(ControlMessageSchema);

export function channelOf(link: RedisLink, instanceId: string): string {
  return `${link.keyPrefix}ctl:${instanceId}`;
}

export class ControlChannel {
  constructor(
    private readonly link: RedisLink,
    private readonly instanceId: string,
  ) {}

  /** Subscribes to this instance's channel; ioredis re-subscribes after reconnects. */
  async listen(handler: (message: ControlMessage) => void): Promise<void> {
    const channel = channelOf(this.link, this.instanceId);
    this.link.subscriber.on('message', (from: string, raw: string) => {
      if (from !== channel) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        return;
      }
      if (checker.Check(parsed)) handler(parsed);
    });
    await this.link.subscriber.subscribe(channel);
  }

  /** Sends to another instance; in order with everything else this instance sends (one connection). */
  async send(to: string, message: ControlMessage): Promise<void> {
    await this.link.commands.publish(channelOf(this.link, to), JSON.stringify(message));
  }
}
