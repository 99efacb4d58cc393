/**
 * Transpiles a TypeScript module of the repository, with every file it imports relatively,
 * into a folder that keeps the repository layout, so a child process can run it on Node 20,
 * which cannot run TypeScript (typescript's transpileModule, no type check).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ts from 'typescript';
import { ROOT, importsOf } from './sourceImports.js';

export { ROOT };

/** Transpiles `entry` (a path from the repository root) and its relative imports into `outDir`. */
export async function transpileClosure(entry: string, outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'package.json'), '{"type":"module"}\n');
  const todo = [entry];
  const done = new Set<string>();
  while (todo.length > 0) {
    const rel = todo.pop();
    if (rel === undefined || done.has(rel)) continue;
    done.add(rel);
    const source = await readFile(path.join(ROOT, rel), 'utf8');
    const out = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    });
    const target = path.join(outDir, rel.replace(/\.ts$/, '.js'));
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, out.outputText);
    // `import type` vanishes in the output, so its target need not exist; an `import('./x.js')`
    // is followed too, because the CLI loads each command's module only when it runs.
    for (const i of importsOf(rel)) if (i.local && !i.typeOnly) todo.push(i.to);
  }
}
