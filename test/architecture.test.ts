// The shape of src/, checked: imports only point down the layers (docs/architecture.md), transports and cluster
// never import each other (they meet in hosting's scale-out port), no import cycle, and no file over 300 lines.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** Top (0) to bottom. A module may import its own layer or a lower one. */
const LAYERS: readonly (readonly string[])[] = [
  ['server.ts'],
  ['gateway.ts'],
  ['app.ts'],
  ['transports/', 'cluster/'],
  ['hosting/'],
  ['session/'],
  ['upstream/', 'tools/', 'speech/', 'simulator/'],
  ['protocol.ts', 'errors.ts', 'config.ts', 'metrics.ts', 'logger.ts', 'secrets.ts', 'access-log.ts'],
];
/** Same layer, yet never each other: they meet through hosting/scale-out-port.ts. */
const APART: readonly [string, string][] = [['transports/', 'cluster/']];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [relative(SRC, path)] : [];
  });
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
          if ((file.startsWith(a) && target.startsWith(b)) || (file.startsWith(b) && target.startsWith(a))) violations.push(`${file} → ${target}`);
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

  it('has no file over 300 lines', () => {
    const long = files.filter((file) => readFileSync(join(SRC, file), 'utf8').split('\n').length > 301);
    expect(long).toEqual([]);
  });
});
