/**
 * The dashboard's API types have one source: the TypeBox schemas the routes answer with.
 * src/web/types.ts only derives (Static<typeof …>, parts of those, re-exports), and every
 * call of the API names one of its types instead of an inline shape, so a reply the server
 * changes breaks the dashboard's type check rather than its pages.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT, importsOf, sourceFiles } from '../../helpers/sourceImports.js';

const TYPES = 'src/web/types.ts';

describe('dashboard API types', () => {
  it('are all derived from the schemas in src/web/types.ts, none written by hand', () => {
    const source = parse(TYPES);
    const handWritten: string[] = [];
    for (const statement of source.statements) {
      if (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) continue;
      if (ts.isTypeAliasDeclaration(statement)) {
        const shape = firstHandWritten(statement.type);
        if (shape !== undefined) handWritten.push(`${statement.name.text}: ${shape.getText(source)}`);
        continue;
      }
      handWritten.push(statement.getText(source).split('\n')[0] ?? '');
    }
    expect(handWritten).toEqual([]);
    const schemaModules = importsOf(TYPES).filter((i) => i.local).map((i) => i.to);
    expect(schemaModules).toContain('src/api/liveSchemas.ts');
    expect(importsOf(TYPES).filter((i) => !i.typeOnly)).toEqual([]);
  });

  it('name every reply the dashboard asks the API for', () => {
    const inline: string[] = [];
    for (const file of sourceFiles(['src/web'])) {
      const source = parse(file);
      const visit = (node: ts.Node): void => {
        if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && ['api', 'apiOr'].includes(node.expression.text)) {
          for (const arg of node.typeArguments ?? []) {
            if (firstHandWritten(arg) !== undefined) inline.push(`${file}:${source.getLineAndCharacterOfPosition(arg.getStart(source)).line + 1} ${node.expression.text}<${arg.getText(source)}>`);
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    expect(inline).toEqual([]);
  });
});

function parse(file: string): ts.SourceFile {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  return ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
}

/** An object shape, a primitive or a literal written out in a type: what a derived type never holds. */
function firstHandWritten(type: ts.Node): ts.Node | undefined {
  // `Overview['areas'][number]` picks a part of a derived type: only what it indexes counts.
  if (ts.isIndexedAccessTypeNode(type)) return firstHandWritten(type.objectType);
  // `T | null`: a reply that may be absent.
  if (ts.isLiteralTypeNode(type) && type.literal.kind === ts.SyntaxKind.NullKeyword) return undefined;
  if (ts.isTypeLiteralNode(type) || ts.isLiteralTypeNode(type) || ts.isMappedTypeNode(type)) return type;
  if ([ts.SyntaxKind.StringKeyword, ts.SyntaxKind.NumberKeyword, ts.SyntaxKind.BooleanKeyword].includes(type.kind)) return type;
  return ts.forEachChild(type, firstHandWritten);
}
