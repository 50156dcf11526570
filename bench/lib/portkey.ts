// The Portkey peer (`--peer portkey`), a widely used open-source AI gateway, installed into a
// scratch folder only when asked (never a project dependency), @hono/node-server pinned to 1.13.5 (streaming
// is broken with newer versions: Portkey issues #1389/#1550), started on loopback with the bench probe.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, Probe, freePort, tail, waitForHttp, type ServerProcess } from './procs.js';

export const PORTKEY_VERSION = '1.15.2';
const HONO_PIN = '1.13.5';
const ENTRY = 'node_modules/@portkey-ai/gateway/build/start-server.js';

/** Installs Portkey into `dir` unless it is already there; returns a log of what was done. */
export function installPortkey(dir: string): string[] {
  const log: string[] = [];
  if (existsSync(join(dir, ENTRY))) {
    log.push(`reused ${join(dir, ENTRY)}`);
    return log;
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'portkey-bench', private: true, overrides: { '@hono/node-server': HONO_PIN } }, null, 2),
  );
  log.push(`npm install @portkey-ai/gateway@${PORTKEY_VERSION} (overrides @hono/node-server ${HONO_PIN}) in ${dir}`);
  execFileSync('npm', ['install', `@portkey-ai/gateway@${PORTKEY_VERSION}`, '--no-fund', '--no-audit'], {
    cwd: dir,
    stdio: 'inherit',
  });
  // Portkey's own patch of hono (patches/@hono+node-server+1.13.5.patch): await the response so stream errors are caught.
  const hono = join(dir, 'node_modules/@hono/node-server/dist/index.mjs');
  if (existsSync(hono)) {
    const source = readFileSync(hono, 'utf8');
    const patched = source.replace(
      '      return responseViaResponseObject(res, outgoing, options);',
      '      return await responseViaResponseObject(res, outgoing, options);',
    );
    if (patched !== source) {
      writeFileSync(hono, patched);
      log.push('applied the @hono/node-server await patch');
    }
  }
  return log;
}

export async function startPortkey(dir: string, echo: boolean, nodeFlags: readonly string[]): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      ...nodeFlags,
      '--import',
      `${BENCH_DIR}portkey-loopback.mjs`,
      '--import',
      `${BENCH_DIR}gateway-probe.mjs`,
      join(dir, ENTRY),
      `--port=${port}`,
      '--headless',
    ],
    { cwd: dir, env: { ...process.env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
  );
  const output: string[] = [];
  tail(child, output, echo);
  await waitForHttp(`http://127.0.0.1:${port}/`, child, 30_000, output, true);
  return { child, probe: new Probe(child), pid: child.pid!, port, output };
}

/** Routing headers: provider openai, custom host = the simulator; x-session-id forwarded (cancel matching). */
export function portkeyHeaders(simUrl: string): Record<string, string> {
  return {
    'x-portkey-provider': 'openai',
    'x-portkey-custom-host': simUrl,
    'x-portkey-forward-headers': 'x-session-id',
  };
}
