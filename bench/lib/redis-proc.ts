// A real redis-server for the soak (no persistence, 127.0.0.1 only) on a fixed port, which can be SIGKILLed and
// started again on the same port (an abrupt Redis outage). Liveness is a raw RESP PING, so no client is needed.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';

export const REDIS_SERVER_BIN = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server';

export class RedisProcess {
  private child: ChildProcess | null = null;

  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  /** Starts (again) on the same port; resolves once it answers PING. Data from before a kill is gone. */
  async start(): Promise<void> {
    if (this.child !== null) throw new Error('redis-server already running');
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'];
    const child = spawn(REDIS_SERVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(child, 'exit').then(() => {
      throw new Error(`redis-server exited: ${output}`);
    });
    const deadline = Date.now() + 10_000;
    await Promise.race([
      (async () => {
        while (!(await ping(this.port))) {
          if (Date.now() > deadline) throw new Error('redis-server did not answer PING');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })(),
      exited,
    ]);
    exited.catch(() => undefined);
  }

  /** SIGKILL (as abrupt as a crash); resolves once it has exited. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    this.child = null;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
  }
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
  });
}
