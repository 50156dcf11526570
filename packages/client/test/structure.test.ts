// The package's house rules, checked: no source file over 300 lines, no function over 80 (src and scripts), a
// 1–3 line header comment on every file, and nothing Node-only outside the Node entry (the rest runs in browsers).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function filesIn(dir: string): string[] {
  return readdirSync(join(PACKAGE, dir))
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(dir, name));
}

const SOURCES = filesIn('src');
const ALL = [...SOURCES, ...filesIn('scripts'), ...filesIn('test')];
const text = (file: string): string => readFileSync(join(PACKAGE, file), 'utf8');

function longFunctions(file: string, max: number): string[] {
  const source = ts.createSourceFile(file, text(file), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const start = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      const lines = source.getLineAndCharacterOfPosition(node.getEnd()).line + 2 - start;
      if (lines > max) found.push(`${file}:${start} (${lines} lines)`);
      return; // nested functions count toward the one that holds them
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Imports of node:* or ws, and uses of Node globals, in a file. */
function nodeOnlyUses(file: string): string[] {
  const source = ts.createSourceFile(file, text(file), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isImportDeclaration(node) &&
      ts.isStringLiteral(node.moduleSpecifier) &&
      /^(node:|ws$)/.test(node.moduleSpecifier.text)
    )
      found.push(node.moduleSpecifier.text);
    if (
      ts.isIdentifier(node) &&
      ['Buffer', 'process', 'require', '__dirname'].includes(node.text) &&
      !ts.isPropertyAccessExpression(node.parent)
    )
      found.push(node.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('the client package', () => {
  it('has no source file over 300 lines and no function over 80 lines', () => {
    const lines = (file: string) => text(file).replace(/\n$/, '').split('\n').length;
    expect(SOURCES.length).toBeGreaterThan(10);
    expect(SOURCES.filter((file) => lines(file) > 300)).toEqual([]);
    expect([...SOURCES, ...filesIn('scripts')].flatMap((file) => longFunctions(file, 80))).toEqual([]);
  });

  it('opens every file with a header comment of one to three lines', () => {
    const header = (file: string) =>
      text(file)
        .split('\n')
        .findIndex((line) => !line.startsWith('//'));
    expect(
      ALL.filter((file) => header(file) < 1 || header(file) > 3).map((file) => `${file}: ${header(file)} lines`),
    ).toEqual([]);
  });

  it('uses nothing Node-only outside the Node entry', () => {
    const offenders = SOURCES.filter((file) => !file.endsWith('node.ts')).flatMap((file) =>
      nodeOnlyUses(file).map((use) => `${file}: ${use}`),
    );
    expect(offenders).toEqual([]);
  });
});
