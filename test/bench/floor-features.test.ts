// The floor relay with single features of the gateway (FLOOR_FEATURES, to price each alone): `speech` adds the
// gateway's speech segments after the deltas, `replay` numbers every event as the gateway's event log does. A real
// floor relay process against the simulator, one turn over a real WebSocket. Shapes only, never a timing.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startSimulator, type Simulator } from '../../src/simulator/server.js';
import { RecordingSocket } from '../recording-socket.js';

const ROOT = join(import.meta.dirname, '..', '..');
let simulator: Simulator;
const relays: ChildProcess[] = [];

beforeAll(async () => {
  simulator = await startSimulator({ port: 0, host: '127.0.0.1', defaults: { ttftMs: 0, interTokenMs: 0 } });
});
afterAll(async () => {
  for (const relay of relays) relay.kill('SIGTERM');
  await simulator.close();
});

/** Starts bench/floor-relay.ts with `features`; resolves with its port, or its exit code and output. */
function startRelay(features: string): Promise<{ port: number } | { code: number | null; output: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/floor-relay.ts', '--upstream', simulator.url, '--port', '0'],
    { cwd: ROOT, env: { ...process.env, FLOOR_FEATURES: features }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  relays.push(child);
  let output = '';
  return new Promise((resolve) => {
    const read = (chunk: Buffer): void => {
      output += chunk.toString();
      const port = /floor relay listening on (\d+)/.exec(output)?.[1];
      if (port !== undefined) resolve({ port: Number(port) });
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => resolve({ code, output }));
  });
}

interface FloorEvent {
  type: string;
  text?: string;
  seq?: number;
}

class FloorClient extends RecordingSocket<FloorEvent> {
  static async open(url: string): Promise<FloorClient> {
    const socket = new WebSocket(url);
    const client = new FloorClient(socket);
    await RecordingSocket.opened(socket);
    return client;
  }
}

async function oneTurn(port: number): Promise<FloorEvent[]> {
  const client = await FloorClient.open(`ws://127.0.0.1:${port}/`);
  await client.waitFor((e) => e.type === 'session.ready');
  client.send({ type: 'turn', text: 'Tell me about the weather, please.' });
  await client.waitFor((e) => e.type === 'response.done');
  client.socket.close();
  return client.events;
}

describe('floor relay features', () => {
  it('adds speech segments and numbers every event, as the gateway does', async () => {
    const started = await startRelay('speech,replay');
    expect('port' in started, JSON.stringify(started)).toBe(true);
    const events = await oneTurn((started as { port: number }).port);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const deltas = events.filter((e) => e.type === 'response.delta').map((e) => e.text ?? '');
    const speech = events.filter((e) => e.type === 'response.speech').map((e) => e.text ?? '');
    const done = events.at(-1);
    expect(done?.type).toBe('response.done');
    expect(deltas.join('')).toBe(done?.text);
    expect(speech.length).toBeGreaterThan(0);
    expect(speech.join(' ').replace(/\s+/g, ' ')).toBe(done?.text?.replace(/\s+/g, ' ').trim());
  });

  it('sends neither without features, and refuses a feature it does not know', async () => {
    const plain = await startRelay('');
    const events = await oneTurn((plain as { port: number }).port);
    expect(events.some((e) => e.type === 'response.speech' || e.seq !== undefined)).toBe(false);
    const refused = await startRelay('speech,telepathy');
    expect(refused).toMatchObject({ code: expect.any(Number) });
    expect((refused as { output: string }).output).toContain('unknown floor feature telepathy');
  });
});
