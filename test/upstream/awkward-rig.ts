// The rig of the awkward-upstream tests (test/upstream/awkward-*.test.ts): the real gateway end to end in front of a
// raw node:http ASI:One stand-in (../awkward-upstream-server.ts), one client, and the protocol v1 invariants every
// case checks: one response.done per response.created, nothing of a response after its done, the joined deltas
// equal done.text, speech indices in order, seq gap-free.
import { afterEach, expect } from 'vitest';
import type { ServerEvent } from '../../src/protocol.js';
import {
  DONE_EVENT,
  gen2Reply,
  plainStream,
  SSE_TYPE,
  startAwkwardUpstream,
  startStream,
  writeInPieces,
  type AwkwardUpstream,
  type Script,
} from '../awkward-upstream-server.js';
import { startGatewayFor, VoiceClient, type GatewayUnderTest } from '../helpers.js';

export type Done = Extract<ServerEvent, { type: 'response.done' }>;

export const KEY = `sk_${'a'.repeat(64)}`;
export const SECRET = 'SECRET_REASONING';

// ---- Harness ---------------------------------------------------------------------------------------------

let upstream: AwkwardUpstream | undefined;
let gateway: GatewayUnderTest | undefined;
/** Extra clients a test connects; closed after each test. */
export const clients: VoiceClient[] = [];

/** Registers the clean-up after each test of the calling file. */
export function useAwkwardRig(): void {
  afterEach(cleanUp);
}

async function cleanUp(): Promise<void> {
  for (const client of clients.splice(0)) {
    client.socket.terminate();
    await client.closed;
  }
  await gateway?.close();
  gateway = undefined;
  await upstream?.close();
  upstream = undefined;
}

export interface Rig {
  upstream: AwkwardUpstream;
  gateway: GatewayUnderTest;
  client: VoiceClient;
}

/** Upstream playing `script`, the real gateway in front of it (with a key unless overridden), one connected client. */
export async function rig(script: Script, env: Record<string, string> = {}): Promise<Rig> {
  upstream = await startAwkwardUpstream(script);
  gateway = await startGatewayFor(upstream.baseUrl, { env: { ASI_ONE_API_KEY: KEY, ...env } });
  const client = await VoiceClient.connect(gateway.voiceUrl);
  clients.push(client);
  return { upstream, gateway, client };
}

/** A script that sends `wire` as the body of a 200 event stream, in one write or in pieces. */
export function streams(
  wire: string | Buffer,
  options: { contentType?: string | null; pieces?: readonly number[] } = {},
): Script {
  return async (_req, res) => {
    startStream(res, options.contentType === undefined ? SSE_TYPE : options.contentType);
    if (options.pieces) await writeInPieces(res, wire, options.pieces);
    else res.write(wire);
    res.end();
  };
}

/** A script that answers with a status, headers and body, then ends. */
export function answers(
  status: number,
  body: string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Script {
  return (_req, res) => {
    res.writeHead(status, headers).end(body);
  };
}

export const deltasOf = (client: VoiceClient, responseId: string): string[] =>
  client.ofResponse(responseId).flatMap((e) => (e.type === 'response.delta' ? [e.text] : []));

/**
 * The protocol invariants over the whole session so far, after a ping/pong barrier (so a late event of a
 * finished response would already be recorded): seq grows by one; for every response.created exactly one
 * response.done, and it is that response's last event; joined deltas equal done.text; speech indices run 0..n-1.
 */
export async function expectInvariants(client: VoiceClient): Promise<void> {
  const from = client.events.length;
  client.send({ type: 'ping' });
  await client.waitForType('pong', from);
  expect(client.events.map((e) => e.seq)).toEqual(client.events.map((_, i) => i + 1));
  const created = client.events.filter((e) => e.type === 'response.created');
  const dones = client.events.filter((e) => e.type === 'response.done');
  expect(dones.map((d) => d.responseId)).toEqual(created.map((c) => c.responseId));
  for (const { responseId } of created) {
    const events = client.ofResponse(responseId);
    expect(events[0]?.type).toBe('response.created');
    expect(events.filter((e) => e.type === 'response.done')).toHaveLength(1);
    const done = events.at(-1);
    expect(done?.type).toBe('response.done');
    expect(deltasOf(client, responseId).join('')).toBe((done as Done).text);
    const speech = events.flatMap((e) => (e.type === 'response.speech' ? [e.index] : []));
    expect(speech).toEqual(speech.map((_, i) => i));
  }
}

/** One turn, then the invariants; returns the response.done. */
export async function turn(client: VoiceClient, text = 'Hello'): Promise<Done> {
  const done = await client.turn(text);
  await expectInvariants(client);
  return done;
}

/** A normal, good reply used wherever a case needs "then it works". */
export const GOOD_REPLY = 'Recovered fine.';
export const good: Script = streams(plainStream(gen2Reply([GOOD_REPLY])));

// ---- Shared wire pieces ------------------------------------------------------------------------------------

export const REPLY = ['Giraffes ', 'have long ', 'necks. ', 'They eat ', 'leaves.'];
export const REPLY_TEXT = REPLY.join('');
export const replyChunks = (): Record<string, unknown>[] => gen2Reply(REPLY);
export const json = (value: unknown): string => JSON.stringify(value);

/** `data: ` lines for objects (JSON-encoded) and raw strings (sent verbatim), then [DONE]. */
export function dataLines(items: unknown[]): string {
  return items.map((item) => `data: ${typeof item === 'string' ? item : json(item)}\n\n`).join('') + DONE_EVENT;
}
