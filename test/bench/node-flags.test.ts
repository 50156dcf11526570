// `npm run bench -- --node-flag=…`: a Node or V8 option (one NODE_OPTIONS refuses, like --single-threaded-gc) goes
// on the command line of every relay the run starts, the gateway and the floor relay alike, so that they compare
// like for like. Real processes: each one's command line is read back from /proc.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeFlagsOf, type BenchArgs } from '../../bench/lib/run-options.js';
import { BenchServers } from '../../bench/lib/run-servers.js';
import { startSimulatorProcess } from '../../bench/lib/procs.js';

const commandLine = (pid: number): string[] =>
  readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    .split('\0')
    .filter((part) => part !== '');

const args = (flags: string[]): BenchArgs => ({ 'node-flag': flags }) as unknown as BenchArgs;

let servers: BenchServers | undefined;
afterAll(async () => {
  await servers?.stopAll();
});

describe('--node-flag', () => {
  it('takes options of the form --name or --name=value, and refuses anything else', () => {
    expect(nodeFlagsOf(args([]))).toEqual([]);
    expect(nodeFlagsOf(args(['--single-threaded-gc', '--max_semi_space_size=2']))).toEqual([
      '--single-threaded-gc',
      '--max_semi_space_size=2',
    ]);
    for (const bad of ['single-threaded-gc', '--', '--a b', '--eval=1;process.exit()x y', '-e'])
      expect(() => nodeFlagsOf(args([bad]))).toThrow(/--node-flag expects/);
  });

  it(
    'reaches the command line of the gateway and of the floor relay, before their scripts',
    { timeout: 45_000 },
    async () => {
      const sim = await startSimulatorProcess({ ttftMs: 0, itlMs: 0, tokens: 2 });
      const flag = '--stack-trace-limit=17';
      servers = new BenchServers(
        sim,
        { fromSrc: true, entry: undefined, profDir: undefined, nodeFlags: [flag], env: {}, verbose: false },
        () => {},
      );
      const gateway = await servers.freshGateway('flags');
      await servers.startFloor(false);
      for (const pid of [gateway.pid, servers.floor!.pid]) {
        const line = commandLine(pid);
        expect(line).toContain(flag);
        const script = line.findIndex((part) => /(server|floor-relay)\.ts$/.test(part));
        expect(line.indexOf(flag)).toBeLessThan(script);
      }
      expect(commandLine(sim.pid)).not.toContain(flag); // the simulator is load, not a relay
    },
  );
});
