// `npm start` runs this first: builds dist/ when it is missing or older than src/, so `npm ci && npm start`
// works on a fresh clone. In the Docker image src/ is absent and dist/ is prebuilt, so it does nothing.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const entry = 'dist/src/server.js';

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

const stale = !existsSync(entry) || (existsSync('src') && newestMtime('src') > statSync(entry).mtimeMs);
if (stale) {
  console.error('Building the gateway (dist/ is missing or older than src/)...');
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
}
