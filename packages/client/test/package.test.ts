// The published package: the build's dist is self-contained (its declarations compile alone for a browser and a
// Node consumer, through the exports map), its JavaScript runs, npm would pack only dist, README and package.json,
// and a change to the gateway's protocol that breaks the client fails the client's typecheck.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../scripts/build.js';
import type { connect as connectFromSource } from '../src/node.js';
import { startStack } from './support.js';

const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REPO = resolve(PACKAGE, '../..');
const SLOW = 60_000;

let root: string;
let installed: string;
beforeAll(() => {
  // A consumer project with the package "installed" (its package.json, README and a fresh build) and ws linked.
  root = mkdtempSync(join(tmpdir(), 'asi1-client-'));
  installed = join(root, 'node_modules', '@asi1-voice', 'client');
  mkdirSync(installed, { recursive: true });
  for (const file of ['package.json', 'README.md']) cpSync(join(PACKAGE, file), join(installed, file));
  build(join(installed, 'dist'));
  symlinkSync(join(REPO, 'node_modules', 'ws'), join(root, 'node_modules', 'ws'), 'dir');
  mkdirSync(join(root, 'app'));
  writeFileSync(join(root, 'app', 'package.json'), '{ "type": "module" }');
}, SLOW);
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function typecheck(files: Record<string, string>, options: ts.CompilerOptions): string[] {
  const names = Object.entries(files).map(([name, text]) => {
    writeFileSync(join(root, 'app', name), text);
    return join(root, 'app', name);
  });
  const program = ts.createProgram(names, {
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noUncheckedIndexedAccess: true,
    ...options,
  });
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

const BROWSER_APP = `
import { connect, VoiceGatewayError, type ClientErrorCode, type CommittedTurn, type Reply, type ServerEvent, type TurnDetection } from '@asi1-voice/client';
const session = await connect({ url: 'wss://gateway.example/v1/voice', token: 'secret', WebSocket: globalThis.WebSocket });
const reply: Reply = session.turn('What time is it?');
for await (const text of reply.deltas) console.log(text);
for await (const segment of reply.speech) reply.heard.spoken(segment);
const done = await reply.done;
const status: 'completed' | 'interrupted' | 'failed' = done.status;
session.on('event', (event: ServerEvent) => console.log(event.seq, status));
session.on('error', (error) => { if (error instanceof VoiceGatewayError && error.code === 'GW_RATE_LIMITED') console.log(error.retryable); });
await session.update({ turnDetection: { speculate: true, serverCommit: { stableMs: 600 } } });
const detection: TurnDetection | undefined = session.settings?.turnDetection;
session.on('committed', (committed: Reply, turn: CommittedTurn) => console.log(turn.turnId, turn.text, committed.responseId, detection));
session.interim('what time is', { turnId: 'u1' });
const final = session.turn('What time is it?', { turnId: 'u1' });
const absorbed: Reply | null = final.absorbedInto;
const code: ClientErrorCode = 'CLIENT_TURN_ABSORBED';
console.log(absorbed?.turnId, code, (await final.done).timings.speculative);
await session.close();
`;

const NODE_APP = `
import { connect, type ToolContext } from '@asi1-voice/client/node';
const session = await connect({
  url: 'ws://127.0.0.1:8080/v1/voice',
  token: process.env.GATEWAY_TOKEN,
  tools: { lookup: { description: 'Look up', execute: (args: { id?: string }, context: ToolContext) => ({ text: args.id ?? context.callId }) } },
});
const reply = session.turn('Hello');
await reply.cancel({ heardChars: 3 });
await session.update({ instructions: 'Be brief.' });
`;

describe('the published package', () => {
  it(
    'builds a dist whose declarations compile on their own, for a browser (DOM, no Node types) and for Node',
    () => {
      const browser = typecheck(
        { 'browser.ts': BROWSER_APP },
        { lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.asynciterable.d.ts'], types: [] },
      );
      expect(browser).toEqual([]);
      const node = typecheck(
        { 'node.ts': NODE_APP },
        { lib: ['lib.es2022.d.ts'], types: ['node'], typeRoots: [join(REPO, 'node_modules', '@types')] },
      );
      expect(node).toEqual([]);
      // The gateway's wire types travel with the package, TypeBox-free.
      const protocol = readFileSync(join(installed, 'dist', 'server', 'protocol.d.ts'), 'utf8');
      expect(protocol).toContain("type: 'response.delta'");
      expect(protocol).not.toMatch(/typebox|TObject|Static</);
    },
    SLOW,
  );

  it(
    'runs from the built JavaScript against the real gateway',
    async () => {
      const stack = await startStack();
      try {
        const built = (await import(pathToFileURL(join(installed, 'dist', 'node.js')).href)) as {
          connect: typeof connectFromSource;
        };
        const session = await built.connect({ url: stack.voiceUrl });
        expect((await session.turn('Hello').done).status).toBe('completed');
        await session.close();
      } finally {
        await stack.close();
      }
    },
    SLOW,
  );

  it(
    'packs only dist, README.md and package.json',
    () => {
      const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
        cwd: installed,
        encoding: 'utf8',
      });
      const [pack] = JSON.parse(out) as { name: string; version: string; files: { path: string }[] }[];
      expect(pack).toMatchObject({ name: '@asi1-voice/client', version: '0.1.0' });
      const paths = pack?.files.map((f) => f.path) ?? [];
      expect(paths.filter((p) => !p.startsWith('dist/') && p !== 'README.md' && p !== 'package.json')).toEqual([]);
      expect(paths).toEqual(
        expect.arrayContaining([
          'README.md',
          'package.json',
          'dist/index.js',
          'dist/index.d.ts',
          'dist/node.js',
          'dist/server/protocol.d.ts',
        ]),
      );
      const manifest = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')) as {
        license: string;
        dependencies?: unknown;
      };
      expect(manifest.license).toBe('Apache-2.0');
      expect(manifest.dependencies).toBeUndefined();
    },
    SLOW,
  );
});

describe('types shared with the gateway', () => {
  /** Typechecks the client's sources against a changed copy of the gateway's src/protocol.ts. */
  function clientErrorsWithProtocol(change: (source: string) => string): string[] {
    const parsed = ts.getParsedCommandLineOfConfigFile(
      join(PACKAGE, 'tsconfig.build.json'),
      { noEmit: true, rootDir: REPO },
      { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined },
    );
    if (parsed === undefined) throw new Error('cannot read tsconfig.build.json');
    const host = ts.createCompilerHost(parsed.options);
    const protocolFile = join(REPO, 'src', 'protocol.ts');
    const readFile = host.readFile.bind(host);
    host.readFile = (file) => (resolve(file) === protocolFile ? change(readFile(file) ?? '') : readFile(file));
    const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options, host });
    return ts
      .getPreEmitDiagnostics(program)
      .map(
        (d) =>
          `${d.file?.fileName.slice(PACKAGE.length) ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
      );
  }

  it(
    'fails the client typecheck when the protocol renames an event or bumps its version, and passes as it is',
    () => {
      expect(clientErrorsWithProtocol((source) => source)).toEqual([]);
      const renamed = clientErrorsWithProtocol((source) =>
        source.replaceAll("'response.delta'", "'response.text_delta'"),
      );
      expect(renamed.some((e) => e.startsWith('/src/reply') && e.includes('response.delta'))).toBe(true);
      const bumped = clientErrorsWithProtocol((source) =>
        source.replace(/export const PROTOCOL_VERSION = \d+;/, 'export const PROTOCOL_VERSION = 2;'),
      );
      expect(bumped).toEqual([expect.stringMatching(/^\/src\/wire\.ts: Type '1' is not assignable to type '2'/)]);
    },
    SLOW,
  );
});
