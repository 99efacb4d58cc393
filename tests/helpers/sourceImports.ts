/**
 * The imports of the repository's TypeScript sources, read with the TypeScript parser (no
 * type check): static `import` / `export … from`, `import('…')` calls and `import('…')` types
 * with a string literal, each resolved to a file path from the repository root.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface SourceImport {
  /** The importing file, from the repository root, with `/` separators. */
  readonly from: string;
  /** The imported file from the repository root; for a package, its name as written. */
  readonly to: string;
  readonly specifier: string;
  readonly line: number;
  /**
   * `import type`, `export type` or an `import('…')` type: erased at run time. Under
   * verbatimModuleSyntax `import { type A }` still loads its module (as `import {}`), so it is not.
   */
  readonly typeOnly: boolean;
  /** Resolved inside the repository (a relative specifier). */
  readonly local: boolean;
}

/** Every `.ts`/`.tsx` file (not `.d.ts`) under `roots`, sorted, from the repository root. */
export function sourceFiles(roots: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(rel);
    }
  };
  for (const root of roots) walk(root);
  return out.sort();
}

/** The imports of one file (a path from the repository root), in source order. */
export function importsOf(file: string): SourceImport[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const out: SourceImport[] = [];
  const add = (literal: ts.StringLiteralLike, typeOnly: boolean): void => {
    const specifier = literal.text;
    const local = specifier.startsWith('./') || specifier.startsWith('../');
    const line = source.getLineAndCharacterOfPosition(literal.getStart(source)).line + 1;
    out.push({ from: file, to: local ? resolveLocal(file, specifier) : specifier, specifier, line, typeOnly, local });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteralLike(node.moduleSpecifier)) {
      add(node.moduleSpecifier, node.importClause?.phaseModifier === ts.SyntaxKind.TypeKeyword);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteralLike(node.moduleSpecifier)) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg !== undefined && ts.isStringLiteralLike(arg)) add(arg, false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteralLike(node.argument.literal)) {
      add(node.argument.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** `./x.js` → `dir/x.ts` (or `.tsx`, or `x/index.ts`), as NodeNext and the bundler resolve it. */
function resolveLocal(from: string, specifier: string): string {
  const target = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  const stem = target.replace(/\.js$/, '');
  for (const candidate of [`${stem}.ts`, `${stem}.tsx`, `${stem}/index.ts`, target]) {
    if (existsSync(path.join(ROOT, candidate))) return candidate;
  }
  return target;
}
