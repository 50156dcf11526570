// The bench's floor relay as its own process (bench/floor-relay.ts), started like the gateway: the probe preloaded,
// bound to 127.0.0.1, ready once it answers HTTP.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { BENCH_DIR, freePort, Probe, ROOT, tail, waitForHttp, type ServerProcess } from './procs.js';

/** The sub-folder of the --cpu-prof folder the floor relay's profiles go to (profile-compare.ts reads them). */
export const FLOOR_PROFILE_DIR = 'floor';

/**
 * The bench's floor relay (bench/floor-relay.ts): the least a WS → SSE relay does per token. With `cpuProfDir`
 * it runs under --cpu-prof too (one profile for the whole run in `floor/`; tsx's loader thread writes a small one
 * beside it), to compare part by part.
 */
export async function startFloorRelay(
  simUrl: string,
  echo: boolean,
  nodeFlags: readonly string[],
  cpuProfDir?: string,
): Promise<ServerProcess> {
  const port = await freePort();
  const profile =
    cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(cpuProfDir, FLOOR_PROFILE_DIR)}`];
  const child = spawn(
    process.execPath,
    [
      ...nodeFlags,
      ...profile,
      '--import',
      'tsx',
      '--import',
      `${BENCH_DIR}gateway-probe.mjs`,
      `${BENCH_DIR}floor-relay.ts`,
      '--upstream',
      simUrl,
      '--port',
      String(port),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
  );
  const output: string[] = [];
  tail(child, output, echo);
  await waitForHttp(`http://127.0.0.1:${port}/`, child, 30_000, output, true);
  return { child, probe: new Probe(child), pid: child.pid!, port, output };
}
