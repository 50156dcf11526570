// Test helper for the Realtime transport: a raw `ws` client that records every server event in order and lets a
// test wait on them (never on sleeps). Used by test/realtime*.test.ts.
import WebSocket from 'ws';
import { RecordingSocket } from './recording-socket.js';

export type RtEvent = { type: string; event_id: string } & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export class RealtimeTestClient extends RecordingSocket<RtEvent> {
  /** Connects and waits for session.created. */
  static async connect(
    url: string,
    options: { protocols?: string[]; headers?: Record<string, string> } = {},
  ): Promise<RealtimeTestClient> {
    const socket = new WebSocket(url, options.protocols, options.headers ? { headers: options.headers } : {});
    const client = new RealtimeTestClient(socket);
    await RecordingSocket.opened(socket);
    await client.waitForType('session.created');
    return client;
  }

  waitForType(type: string, from = 0): Promise<RtEvent> {
    return this.waitFor((e) => e.type === type, from);
  }

  /** Adds a user text item (waits for its conversation.item.done, or .created in the beta) and returns the item. */
  async addUserText(text: string, extra: Record<string, unknown> = {}): Promise<RtEvent['item']> {
    const from = this.events.length;
    this.send({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] },
      ...extra,
    });
    const event = await this.waitFor(
      (e) => e.type === 'conversation.item.done' || e.type === 'conversation.item.created' || e.type === 'error',
      from,
    );
    if (event.type === 'error') throw new Error(`item refused: ${JSON.stringify(event.error)}`);
    return event.item;
  }

  /** Sends response.create and resolves with its response.done (or the error that refused it). */
  async respond(response?: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<RtEvent> {
    const from = this.events.length;
    this.send({ type: 'response.create', ...(response === undefined ? {} : { response }), ...extra });
    const first = await this.waitFor((e) => e.type === 'response.created' || e.type === 'error', from);
    if (first.type === 'error') return first;
    return this.waitFor((e) => e.type === 'response.done' && e.response.id === first.response.id, from);
  }

  /** The types of the events at or after `from`, in order. */
  typesFrom(from: number): string[] {
    return this.events.slice(from).map((e) => e.type);
  }

  close(): Promise<{ code: number; reason: string }> {
    this.socket.close();
    return this.closed;
  }
}

/** The Realtime URL of a stack whose native URL is ws://HOST/v1/voice. */
export function realtimeUrl(voiceUrl: string, query = ''): string {
  return voiceUrl.replace(/\/v1\/voice$/, '/v1/realtime') + query;
}

/** Opens a WebSocket that the server is expected to refuse; resolves with the HTTP status. */
export function refusedStatus(url: string, protocols?: string[], headers?: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocols, headers ? { headers } : {});
    socket.on('open', () => reject(new Error('the upgrade was accepted')));
    socket.on('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    socket.on('error', () => {});
  });
}
