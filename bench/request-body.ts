// `npm run bench:request-body`: the CPU to build a turn's request body, which every turn pays on its critical path
// (before the request is sent) with the whole history in it. A conversation of --turns turns (user messages of
// about 100 characters, replies of about 300) is played turn by turn; at each turn the body is built two ways on
// the same messages: JSON.stringify of the whole body and its UTF-8 encoding (the baseline, what the gateway did
// before), and encodeChatBody (each message encoded once, by identity). Each figure is the fastest of --rounds,
// at the sampled history lengths; the script checks that the two bodies are the same bytes.
import { parseArgs } from 'node:util';
import { buildChatBody, encodeChatBody } from '../src/upstream/chat-body.js';
import type { ChatMessage, ChatRequest } from '../src/upstream/types.js';
import { intOption } from './lib/focused-bench.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string' }, turns: { type: 'string' } },
  strict: true,
});
const rounds = intOption('rounds', values.rounds, 5, 1);
const turns = intOption('turns', values.turns, 1_000, 1);
/** The history lengths reported (and the last turn). */
const SAMPLED = new Set([1, 10, 30, 100, 300, turns]);

const SYSTEM = 'You are a helpful voice assistant. Your words are spoken aloud, so answer in short sentences. '.repeat(
  4,
);
const userText = (turn: number): string => `Turn ${turn}: ${'tell me a little more about that, please. '.repeat(2)}`;
const replyText = (turn: number): string =>
  `Answer ${turn}: ${'here is a short answer you can hear at once. '.repeat(7)}`;

function timed(build: () => Buffer): [Buffer, number] {
  const start = performance.now();
  const body = build();
  return [body, (performance.now() - start) * 1000];
}

/** One conversation: returns, at each sampled turn, the body size and the µs each way took (the fastest round). */
function play(cachedFirst: boolean): { turn: number; bytes: number; plainUs: number; cachedUs: number }[] {
  const history: ChatMessage[] = [];
  const rows: { turn: number; bytes: number; plainUs: number; cachedUs: number }[] = [];
  for (let turn = 1; turn <= turns; turn += 1) {
    history.push({ role: 'user', content: userText(turn) });
    // As the session builds it: a system message kept while the prompt is the same, then the history.
    const request: ChatRequest = {
      model: 'asi1-mini',
      messages: [SYSTEM_MESSAGE, ...history],
      maxTokens: 400,
      sessionId: 'sess_bench',
      signal: SIGNAL,
    };
    // Whichever goes second finds the messages in the CPU's caches: every other round, the other one does.
    const [cached, cachedUs] = cachedFirst ? timed(() => encodeChatBody(request)) : [undefined, 0];
    const [plain, plainUs] = timed(() => Buffer.from(JSON.stringify(buildChatBody(request))));
    const [second, secondUs] = cachedFirst ? [cached!, cachedUs] : timed(() => encodeChatBody(request));
    if (!second.equals(plain)) throw new Error(`turn ${turn}: the two bodies differ`);
    if (SAMPLED.has(turn)) rows.push({ turn, bytes: plain.length, plainUs, cachedUs: secondUs });
    history.push({ role: 'assistant', content: replyText(turn) });
  }
  return rows;
}

const SYSTEM_MESSAGE: ChatMessage = { role: 'system', content: SYSTEM };
const SIGNAL = new AbortController().signal;

const best = play(false);
for (let round = 1; round < rounds; round += 1) {
  play(round % 2 === 1).forEach((row, index) => {
    const kept = best[index]!;
    kept.plainUs = Math.min(kept.plainUs, row.plainUs);
    kept.cachedUs = Math.min(kept.cachedUs, row.cachedUs);
  });
}

const lines = [
  `Request body per turn, fastest of ${rounds} rounds (one conversation of ${turns} turns, each body checked equal):`,
  '',
  '| history (turns) | body (KB) | JSON.stringify + encode (µs) | encodeChatBody (µs) | encodeChatBody ÷ baseline |',
  '| --- | --- | --- | --- | --- |',
  ...best.map(
    (row) =>
      `| ${row.turn} | ${(row.bytes / 1024).toFixed(1)} | ${row.plainUs.toFixed(1)} | ${row.cachedUs.toFixed(1)} | ` +
      `${(row.cachedUs / row.plainUs).toFixed(2)} |`,
  ),
];
process.stdout.write(`${lines.join('\n')}\n`);
