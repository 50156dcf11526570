// `<think>` blocks inside `content` (llama.cpp, vLLM, Ollama, DeepSeek-R1 style servers), end to end: the real
// gateway in front of a raw scripted upstream that sends the tags split across chunks. Nothing of a block may be
// spoken or reach the history sent upstream; the shown text keeps it only with THINK_TAGS=display.
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerEvent } from '../../src/protocol.js';
import {
  gen2Reply,
  plainStream,
  startAwkwardUpstream,
  startStream,
  writePiece,
  type AwkwardUpstream,
  type Script,
} from '../awkward-upstream-server.js';
import { startGatewayFor, VoiceClient, type GatewayUnderTest } from '../helpers.js';

type Done = Extract<ServerEvent, { type: 'response.done' }>;

const KEY = `sk_${'a'.repeat(64)}`;
const SECRET = 'secret plan';
/** `<think>secret plan</think>\n\nHello there.` with both tags cut in two. */
const PIECES = ['<thi', 'nk>secret ', 'plan</th', 'ink>\n\n', 'Hello ', 'there.'];
const CONTENT = PIECES.join('');
const REPLY = 'Hello there.';
const NEXT = 'Next reply.';

let upstream: AwkwardUpstream | undefined;
let gateway: GatewayUnderTest | undefined;
const clients: VoiceClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) {
    client.socket.terminate();
    await client.closed;
  }
  await gateway?.close();
  gateway = undefined;
  await upstream?.close();
  upstream = undefined;
});

/** The first request is answered with `pieces` as content chunks, every later one with NEXT. */
function replies(pieces: readonly string[]): Script {
  return (req, res) => {
    startStream(res);
    res.end(plainStream(gen2Reply(req.n === 0 ? pieces : [NEXT])));
  };
}

async function rig(
  script: Script,
  env: Record<string, string> = {},
): Promise<{ upstream: AwkwardUpstream; client: VoiceClient }> {
  upstream = await startAwkwardUpstream(script);
  gateway = await startGatewayFor(upstream.baseUrl, { env: { ASI_ONE_API_KEY: KEY, ...env } });
  const client = await VoiceClient.connect(gateway.voiceUrl);
  clients.push(client);
  return { upstream, client };
}

const ofType = <T extends ServerEvent['type']>(client: VoiceClient, responseId: string, type: T) =>
  client.ofResponse(responseId).filter((e): e is Extract<ServerEvent, { type: T }> => e.type === type);

/** The spoken text, the deltas joined, and every message of the second upstream request (the history). */
async function twoTurns(
  client: VoiceClient,
  up: AwkwardUpstream,
): Promise<{ done: Done; speech: string; deltas: string; history: string }> {
  const done = await client.turn('What is the plan?');
  const speech = ofType(client, done.responseId, 'response.speech')
    .map((e) => e.text)
    .join(' ');
  const deltas = ofType(client, done.responseId, 'response.delta')
    .map((e) => e.text)
    .join('');
  expect(await client.turn('And then?')).toMatchObject({ status: 'completed', text: NEXT });
  expect(up.requests).toHaveLength(2);
  const history = JSON.stringify(up.requests[1]?.body?.messages);
  return { done, speech, deltas, history };
}

describe('think tags inside content', () => {
  it('by default neither speaks, shows nor keeps in history a block split across chunks', async () => {
    const { client, upstream: up } = await rig(replies(PIECES));
    const { done, speech, deltas, history } = await twoTurns(client, up);
    expect(done).toMatchObject({ status: 'completed', text: REPLY });
    expect(deltas).toBe(REPLY);
    expect(speech).toBe(REPLY);
    expect(JSON.stringify(client.events)).not.toContain('secret');
    expect(JSON.stringify(client.events)).not.toMatch(/think/i);
    expect(history).not.toContain(SECRET);
    expect(history).not.toMatch(/think/i);
    expect((up.requests[1]?.body?.messages as unknown[]).slice(1)).toEqual([
      { role: 'user', content: 'What is the plan?' },
      { role: 'assistant', content: REPLY },
      { role: 'user', content: 'And then?' },
    ]);
  });

  it('with THINK_TAGS=display shows the block in the deltas and done.text, but never speaks it or keeps it in history', async () => {
    const { client, upstream: up } = await rig(replies(PIECES), { THINK_TAGS: 'display' });
    const { done, speech, deltas, history } = await twoTurns(client, up);
    expect(done).toMatchObject({ status: 'completed', text: CONTENT });
    expect(deltas).toBe(CONTENT);
    expect(speech).toBe(REPLY);
    expect(history).not.toContain(SECRET);
    expect(history).toContain(JSON.stringify(REPLY));
  });

  it('treats a block that is never closed as reasoning to the end: the text before it is kept, nothing after it leaks', async () => {
    const { client, upstream: up } = await rig(replies(['Sure. ', '<think', `>${SECRET} `, 'and more']));
    const { done, speech, history } = await twoTurns(client, up);
    expect(done).toMatchObject({ status: 'completed', text: 'Sure. ' });
    expect(speech).toBe('Sure.');
    expect(JSON.stringify(client.events)).not.toContain('secret');
    expect(history).not.toContain(SECRET);
    expect(history).toContain('"Sure. "');
  });

  it('speaks a `<` that turned out not to be a tag, even when it ends a chunk and the reply', async () => {
    const { client, upstream: up } = await rig(
      replies(['<think>', `${SECRET}</think>`, 'Three is ', '<', ' four, and ', 'four > three <']),
    );
    const { done, history } = await twoTurns(client, up);
    expect(done).toMatchObject({ status: 'completed', text: 'Three is < four, and four > three <' });
    expect(JSON.stringify(client.events)).not.toContain('secret');
    expect(history).toContain('Three is < four, and four > three <');
  });

  it('does not retry once think content was received (display mode may already have shown it)', async () => {
    const script: Script = async (req, res) => {
      startStream(res);
      if (req.n > 0) return void res.end(plainStream(gen2Reply([NEXT])));
      await writePiece(res, plainStream(gen2Reply(['<think>', SECRET]).slice(0, 3), false));
      res.socket?.destroy();
    };
    const { client, upstream: up } = await rig(script);
    const done = await client.turn('Plan?');
    expect(done).toMatchObject({ status: 'failed', text: '', error: { code: 'GW_UPSTREAM_DROPPED' } });
    expect(up.requests).toHaveLength(1);
    expect(JSON.stringify(client.events)).not.toContain('secret');
  });
});
