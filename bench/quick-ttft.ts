// Quick check (not the full benchmark harness): time from sending `turn` to the first response.delta, against
// a running gateway, compared with the simulator's configured time to first token.
// Usage: npx tsx bench/quick-ttft.ts [ws://localhost:8080/v1/voice] [turns=20] [configuredTtftMs=250]
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

const url = process.argv[2] ?? 'ws://localhost:8080/v1/voice';
const turns = Number(process.argv[3] ?? 20);
const configuredTtftMs = Number(process.argv[4] ?? 250);

const socket = new WebSocket(url);
await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
const samples: number[] = [];
let sentAt = 0;
let first = true;
let finish: (() => void) | undefined;
socket.on('message', (data) => {
  const event = JSON.parse(String(data)) as { type: string };
  if (event.type === 'response.delta' && first) {
    samples.push(performance.now() - sentAt);
    first = false;
  }
  if (event.type === 'response.done') finish?.();
});
for (let i = 0; i < turns; i += 1) {
  const done = new Promise<void>((resolve) => (finish = resolve));
  first = true;
  sentAt = performance.now();
  socket.send(JSON.stringify({ type: 'turn', text: `Quick question number ${i}` }));
  await done;
}
socket.close();
samples.sort((a, b) => a - b);
const pct = (p: number) => samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))] ?? NaN;
const fmt = (ms: number) => `${ms.toFixed(2)} ms`;
console.log(`turns: ${samples.length}, configured simulator TTFT: ${configuredTtftMs} ms`);
console.log(`turn → first delta: p50 ${fmt(pct(50))}, p95 ${fmt(pct(95))}, max ${fmt(samples.at(-1) ?? NaN)}`);
console.log(
  `above the simulator's TTFT: p50 ${fmt(pct(50) - configuredTtftMs)}, p95 ${fmt(pct(95) - configuredTtftMs)}`,
);
