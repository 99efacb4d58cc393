/**
 * The real `gridhead` command for tests that spawn it: bin/gridhead.js beside a `dist/` that
 * holds src/cli.ts and every module it can load, transpiled (tests/helpers/transpile.ts), so
 * the child runs exactly what an installed `gridhead` runs, without a full `npm run build`.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, transpileClosure } from './transpile.js';

export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The file: URLs of every module the child loaded, when `traceModules` was asked for. */
  readonly modules: readonly string[];
}

export interface CliRunOptions {
  /** Written to the child's stdin, which is then closed; default: stdin closed at once. */
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Records every module the child loads (an ESM loader hook). */
  readonly traceModules?: boolean;
}

export interface BuiltCli {
  /** The built bin/gridhead.js. */
  readonly bin: string;
  run(args: readonly string[], options?: CliRunOptions): Promise<CliRun>;
  /** Removes the build folder. */
  dispose(): Promise<void>;
}

// Runs in the loader's own thread; appends each loaded module's URL to $GRIDHEAD_TRACE_MODULES.
const TRACE_HOOKS = `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (!url.startsWith('node:')) appendFileSync(process.env.GRIDHEAD_TRACE_MODULES, url + '\\n');
  return next(url, context);
}
`;

/** Builds the CLI into a temp folder; `dispose()` removes it. */
export async function buildCli(): Promise<BuiltCli> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gridhead-cli-'));
  try {
    await transpileClosure('src/cli.ts', path.join(dir, 'dist'));
    await mkdir(path.join(dir, 'bin'));
    await copyFile(path.join(ROOT, 'bin/gridhead.js'), path.join(dir, 'bin/gridhead.js'));
    await writeFile(path.join(dir, 'package.json'), '{"type":"module"}\n');
    await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    await writeFile(path.join(dir, 'traceHooks.mjs'), TRACE_HOOKS);
    await writeFile(path.join(dir, 'traceModules.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(path.join(dir, 'traceHooks.mjs')).href)});\n`);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const bin = path.join(dir, 'bin/gridhead.js');
  let runs = 0;
  return {
    bin,
    run: async (args, options = {}) => {
      const trace = path.join(dir, `modules-${++runs}.txt`);
      const execArgv = options.traceModules === true ? ['--import', path.join(dir, 'traceModules.mjs')] : [];
      const child = spawn(process.execPath, [...execArgv, bin, ...args], {
        cwd: dir,
        env: { ...process.env, ...options.env, GRIDHEAD_TRACE_MODULES: trace },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
      child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
      child.stdin.end(options.input ?? '');
      const status = await new Promise<number | null>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (code) => { resolve(code); });
      });
      const modules = options.traceModules === true ? (await readFile(trace, 'utf8')).split('\n').filter((l) => l !== '') : [];
      return { status, stdout, stderr, modules };
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
