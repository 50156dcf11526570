// Writes the gateway's wire types as standalone declarations for dist/server/: interfaces and type aliases are
// copied with their comments, literal constants become `declare const`, and anything that needs the gateway's
// runtime (a TypeBox Static<>, `typeof` an object it does not ship) is replaced by the type the compiler resolves.
import ts from 'typescript';

export interface ServerModule {
  /** Repository-relative source, e.g. src/protocol.ts. */
  source: string;
  /** Path of the emitted declarations inside the output directory, e.g. server/protocol.d.ts. */
  out: string;
  /** The exported names to emit; default: every exported interface, type alias and literal constant. */
  names?: readonly string[];
}

const FLAGS =
  ts.NodeBuilderFlags.NoTruncation | ts.NodeBuilderFlags.InTypeAlias | ts.NodeBuilderFlags.MultilineObjectLiterals;

const isExported = (node: ts.Node): boolean =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);

/** `1`, `'x'`, `true`, or `['a', 'b'] as const`: a constant whose type needs no runtime code. */
function isLiteralConst(declaration: ts.VariableDeclaration): boolean {
  const init = declaration.initializer;
  if (init === undefined) return false;
  if (
    ts.isNumericLiteral(init) ||
    ts.isStringLiteral(init) ||
    init.kind === ts.SyntaxKind.TrueKeyword ||
    init.kind === ts.SyntaxKind.FalseKeyword
  )
    return true;
  const asConst =
    ts.isAsExpression(init) &&
    ts.isTypeReferenceNode(init.type) &&
    ts.isIdentifier(init.type.typeName) &&
    init.type.typeName.text === 'const';
  return (
    asConst &&
    ts.isArrayLiteralExpression(init.expression) &&
    init.expression.elements.every((e) => ts.isStringLiteral(e) || ts.isNumericLiteral(e))
  );
}

/** What a module exports that can be emitted (restricted to `wanted` when given): type names and literal constants. */
function emittableNames(
  source: ts.SourceFile,
  wanted: readonly string[] | undefined,
): { types: Set<string>; consts: Set<string> } {
  const types = new Set<string>();
  const consts = new Set<string>();
  for (const statement of source.statements) {
    if (!isExported(statement)) continue;
    if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) types.add(statement.name.text);
    if (ts.isVariableStatement(statement)) {
      for (const d of statement.declarationList.declarations)
        if (ts.isIdentifier(d.name) && isLiteralConst(d)) consts.add(d.name.text);
    }
  }
  if (wanted === undefined) return { types, consts };
  for (const name of wanted)
    if (!types.has(name) && !consts.has(name))
      throw new Error(`${source.fileName} exports no type or literal constant named ${name}`);
  const keep = (set: Set<string>): Set<string> => new Set([...set].filter((name) => wanted.includes(name)));
  return { types: keep(types), consts: keep(consts) };
}

/** The leading /** … *\/ comments of a statement, as written. */
function docComment(source: ts.SourceFile, node: ts.Node): string {
  const text = source.getFullText();
  const ranges = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
  return ranges
    .map((r) => text.slice(r.pos, r.end))
    .filter((c) => c.startsWith('/**'))
    .map((c) => `${c}\n`)
    .join('');
}

/** Rewrites a type so that it names only what the emitted file declares (and the standard library). */
function selfContained(program: ts.Program, source: ts.SourceFile, emitted: ReadonlySet<string>) {
  const checker = program.getTypeChecker();
  const isLibrary = (symbol: ts.Symbol | undefined): boolean =>
    (symbol?.declarations ?? []).some((d) => program.isSourceFileDefaultLibrary(d.getSourceFile()));
  const resolved = (node: ts.TypeNode): ts.TypeNode => {
    const out = checker.typeToTypeNode(checker.getTypeFromTypeNode(node), undefined, FLAGS);
    if (out === undefined) throw new Error(`cannot resolve ${node.getText(source)} in ${source.fileName}`);
    return out;
  };
  const queriesOutside = (node: ts.Node): boolean =>
    (ts.isTypeQueryNode(node) && !emitted.has(node.exprName.getText(source))) ||
    (ts.forEachChild(node, (child) => queriesOutside(child) || undefined) ?? false);
  const needsResolving = (node: ts.Node): node is ts.TypeNode => {
    if (ts.isTypeQueryNode(node) || ts.isTypeOperatorNode(node) || ts.isIndexedAccessTypeNode(node))
      return queriesOutside(node);
    if (!ts.isTypeReferenceNode(node)) return false;
    const name = node.typeName.getText(source);
    return !emitted.has(name) && !isLibrary(checker.getSymbolAtLocation(node.typeName));
  };
  return (context: ts.TransformationContext) => {
    const visit = (node: ts.Node): ts.Node =>
      needsResolving(node) ? resolved(node) : ts.visitEachChild(node, visit, context);
    return (root: ts.Node) => ts.visitNode(root, visit);
  };
}

/** The declaration file text for one gateway module. */
export function serverDeclarations(
  program: ts.Program,
  module: ServerModule,
  fileName: string,
  header: string,
): string {
  const source = program.getSourceFile(fileName);
  if (source === undefined) throw new Error(`${fileName} is not in the program`);
  const { types, consts } = emittableNames(source, module.names);
  const emitted = new Set([...types, ...consts]);
  const checker = program.getTypeChecker();
  const printer = ts.createPrinter({ removeComments: false });
  const print = (node: ts.Node): string => printer.printNode(ts.EmitHint.Unspecified, node, source);
  const parts: string[] = [header];
  for (const statement of source.statements) {
    if (
      (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) &&
      types.has(statement.name.text)
    ) {
      // The printer keeps the statement's own comments.
      const [rewritten] = ts.transform(statement, [selfContained(program, source, emitted)]).transformed;
      parts.push(print(rewritten ?? statement));
    } else if (ts.isVariableStatement(statement) && isExported(statement)) {
      for (const d of statement.declarationList.declarations) {
        if (!ts.isIdentifier(d.name) || !consts.has(d.name.text)) continue;
        const type = checker.typeToTypeNode(checker.getTypeAtLocation(d.name), undefined, FLAGS);
        if (type === undefined) throw new Error(`cannot type ${d.name.text}`);
        parts.push(`${docComment(source, statement)}export declare const ${d.name.text}: ${print(type)};`);
      }
    }
  }
  return `${parts.join('\n')}\n`;
}
