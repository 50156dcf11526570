// The shape of src/, checked: imports only point down the layers (docs/architecture.md), transports and cluster
// never import each other (they meet in hosting's scale-out port), no import cycle, and no file over 300 lines.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const BENCH = fileURLToPath(new URL('../bench/', import.meta.url));

/** Top (0) to bottom. A module may import its own layer or a lower one. */
const LAYERS: readonly (readonly string[])[] = [
  ['server.ts'],
  ['gateway.ts'],
  ['app.ts', 'http-routes.ts', 'upgrade-admission.ts'],
  ['transports/', 'cluster/'],
  ['hosting/'],
  ['session/'],
  ['upstream/', 'tools/', 'speech/', 'simulator/', 'experiments/'],
  [
    'protocol.ts',
    'errors.ts',
    'config.ts',
    'config-schema.ts',
    'config-upstream.ts',
    'config-tracing.ts',
    'experiment-config.ts',
    'metrics.ts',
    'logger.ts',
    'secrets.ts',
    'access-log.ts',
    'idle-timer.ts',
    'tracing/',
  ],
];
/** Same layer, yet never each other: they meet through hosting/scale-out-port.ts. */
const APART: readonly [string, string][] = [['transports/', 'cluster/']];

function sourceFiles(dir: string, root = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'results' ? [] : sourceFiles(path, root);
    return entry.name.endsWith('.ts') ? [relative(root, path)] : [];
  });
}

/** Functions (closures count toward the function that holds them) longer than `max` lines, as `file:line name (n lines)`. */
function longFunctions(root: string, file: string, max: number): string[] {
  const source = ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const start = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      const lines = source.getLineAndCharacterOfPosition(node.getEnd()).line + 2 - start;
      const name = node.name !== undefined && ts.isIdentifier(node.name) ? node.name.text : '(anonymous)';
      if (lines > max) found.push(`${file}:${start} ${name} (${lines} lines)`);
      return; // nested functions are part of this one
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function layerOf(file: string): number {
  const index = LAYERS.findIndex((layer) => layer.some((prefix) => file === prefix || file.startsWith(prefix)));
  if (index < 0) throw new Error(`${file} belongs to no layer: add it to LAYERS`);
  return index;
}

/** The project modules `file` imports (type-only imports included: they are dependencies of the design too). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)].map((match) =>
    normalize(join(dirname(file), (match[1] ?? '').replace(/\.js$/, '.ts'))),
  );
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((file) => [file, importsOf(file)]));

describe('the architecture of src/', () => {
  it('imports only point down the layers, and transports and cluster never import each other', () => {
    const violations: string[] = [];
    for (const [file, targets] of graph) {
      for (const target of targets) {
        if (layerOf(target) < layerOf(file)) violations.push(`${file} → ${target} (upwards)`);
        for (const [a, b] of APART) {
          if ((file.startsWith(a) && target.startsWith(b)) || (file.startsWith(b) && target.startsWith(a)))
            violations.push(`${file} → ${target}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('has no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
        return;
      }
      state.set(file, 'visiting');
      for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it('has no function over 80 lines in src/ or bench/', () => {
    const long = [
      ...files.flatMap((file) => longFunctions(SRC, file, 80)),
      ...sourceFiles(BENCH, BENCH).flatMap((file) => longFunctions(BENCH, file, 80)),
    ];
    expect(long).toEqual([]);
  });

  it('has no file over 300 lines in src/, bench/ or public/', () => {
    const PUBLIC = fileURLToPath(new URL('../public/', import.meta.url));
    const publicFiles = readdirSync(PUBLIC).filter((name) => /\.(js|css|html)$/.test(name));
    const lines = (path: string) => readFileSync(path, 'utf8').replace(/\n$/, '').split('\n').length;
    const long = [
      ...files.filter((file) => lines(join(SRC, file)) > 300).map((file) => `src/${file}`),
      ...sourceFiles(BENCH, BENCH)
        .filter((file) => lines(join(BENCH, file)) > 300)
        .map((file) => `bench/${file}`),
      ...publicFiles.filter((name) => lines(join(PUBLIC, name)) > 300).map((name) => `public/${name}`),
    ];
    expect(long).toEqual([]);
  });
});
