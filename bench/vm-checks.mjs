// `node bench/vm-checks.mjs`: two facts about the host that bound what any Node gateway can reach on it,
// quoted in BENCHMARKS.md. (1) The CPU cost of one small socket write on loopback, with the reader in another
// process (what every forwarded token costs at least once). (2) How much slower a fixed piece of JS runs right
// after the process sat idle for 2 s (voice sessions idle between turns) than when it runs back to back.
import { Buffer } from 'node:buffer';
import { fork } from 'node:child_process';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { clearInterval, setInterval, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { URL } from 'node:url';

if (process.argv[2] === 'reader') {
  const server = net.createServer((socket) => socket.on('data', () => {}));
  server.listen(0, '127.0.0.1', () => process.send?.(server.address().port));
} else {
  const reader = fork(new URL(import.meta.url).pathname, ['reader']);
  try {
    const port = await new Promise((resolve) => reader.once('message', resolve));
    // (1) 350 sockets, one 92-byte frame each every 20 ms (~17,500 writes/s): the gateway's load at 1,000 sessions.
    const sockets = await Promise.all(
      Array.from(
        { length: 350 },
        () =>
          new Promise((resolve) => {
            const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
            socket.setNoDelay(true);
          }),
      ),
    );
    const header = Buffer.from([0x81, 90]);
    const payload = Buffer.alloc(90, 120);
    let writes = 0;
    const timers = sockets.map((socket, i) =>
      setTimeout(
        () => {
          timers[i] = setInterval(() => {
            socket.cork();
            socket.write(header);
            socket.write(payload);
            socket.uncork();
            writes += 1;
          }, 20);
        },
        (i * 7) % 20,
      ),
    );
    await sleep(1_000);
    const cpu0 = process.cpuUsage();
    const writes0 = writes;
    await sleep(5_000);
    const cpu = process.cpuUsage(cpu0);
    const n = writes - writes0;
    for (const t of timers) clearInterval(t);
    for (const s of sockets) s.destroy();
    console.log(
      `loopback write: ${(n / 5).toFixed(0)} writes/s, ${((cpu.user + cpu.system) / n).toFixed(1)} µs CPU per write (${(cpu.system / n).toFixed(1)} µs in the kernel)`,
    );

    // (2) A fixed piece of work, back to back vs after 2 s idle.
    const obj = { type: 'response.delta', responseId: 'resp_1_abcdef12', text: 'word ', seq: 42 };
    const work = () => {
      let n = 0;
      for (let i = 0; i < 2_000; i++) n += JSON.stringify(obj).length + JSON.parse(JSON.stringify(obj)).seq;
      return n;
    };
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    for (let i = 0; i < 20; i++) work(); // JIT warm-up
    const runs = { hot: [], idle: [] };
    for (let k = 0; k < 6; k++) {
      await sleep(1);
      let t = performance.now();
      work();
      runs.hot.push(performance.now() - t);
      await sleep(2_000);
      t = performance.now();
      work();
      runs.idle.push(performance.now() - t);
    }
    console.log(
      `same JS work: ${median(runs.hot).toFixed(2)} ms back to back, ${median(runs.idle).toFixed(2)} ms right after 2 s idle (medians of 6)`,
    );
  } finally {
    reader.kill();
  }
}
