// The benchmark workload as data: the reply the simulator streams, the emit-stamp format it carries, and
// the defaults of the workload (TTFT 300 ms, 20 ms between tokens, 60 tokens, think 2 s).

export const WORKLOAD = Object.freeze({
  ttftMs: 300,
  itlMs: 20,
  tokens: 60,
  thinkMs: 2_000,
  /** One turn in 4 is a barge-in (staggered across sessions): response.cancel after 20 content chunks. */
  cancelEvery: 4,
  cancelAfterChunks: 20,
});

const WORDS = (
  'sure here is a short answer that you can hear right away while the rest of it is still on its way ' +
  'each word arrives on its own so speech can start early and stop the moment you talk over it ' +
  'a voice assistant should feel like a person who listens and answers without a pause'
).split(' ');

/**
 * A deterministic reply of exactly `tokens` words with a sentence end every twelve words. With
 * `stampEmitTimeInText` each word is replaced by its 7-character emit stamp, so what the gateway's speech
 * pipeline sees is twelve-word sentences of ordinary word length.
 */
export function buildBenchReply(tokens: number): string {
  const out: string[] = [];
  for (let i = 0; i < tokens; i++) {
    let word = WORDS[i % WORDS.length]!;
    if (i % 12 === 0) word = word[0]!.toUpperCase() + word.slice(1);
    if (i % 12 === 11 || i === tokens - 1) word += '.';
    out.push(word);
  }
  return out.join(' ');
}

export function turnText(sessionIndex: number, turn: number): string {
  return `Benchmark session ${sessionIndex}, turn ${turn}: tell me something short.`;
}
