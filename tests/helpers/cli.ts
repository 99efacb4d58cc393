/**
 * The real `gridhead` command, as a user runs it: a throw-away installation with the
 * project's package.json, bin/gridhead.js and config/, its node_modules, and a `dist/` that
 * holds src/cli.ts and every module it can load, transpiled file by file
 * (tests/helpers/transpile.ts), so the child runs what `npm run build` would give it without
 * the minute `tsc` takes. Per-file output, not a bundle, keeps each module a module of its
 * own, so a test can see which ones a command loads.
 *
 * Tests run `gridhead …` to its exit, start a long-running station and stop it, or run
 * `npm …` (e.g. `npm start --ignore-scripts`) in the installation.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, transpileClosure } from './transpile.js';

export interface CliInstall {
  /** The installation folder, the children's working directory. */
  readonly root: string;
  /** The installed bin/gridhead.js. */
  readonly bin: string;
  /** Runs `gridhead args…` and waits for its exit. */
  run(args: readonly string[], options?: CliRunOptions): Promise<CliRun>;
  /** Starts `gridhead args…` and leaves it running; `stop()` ends it. */
  start(args: readonly string[], options?: CliSpawnOptions): RunningCli;
  /** Runs `npm args…` in the installation and waits for its exit. */
  npm(args: readonly string[], options?: Omit<CliRunOptions, 'traceModules'>): Promise<CliRun>;
  /** Stops what `start` left running and removes the installation. */
  dispose(): Promise<void>;
}

export interface CliSpawnOptions {
  /** Added to the test process's environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which is then closed; default: stdin closed at once. */
  readonly input?: string;
  /** Records every module the child loads (an ESM loader hook); see `CliRun.modules`. */
  readonly traceModules?: boolean;
}

export interface CliRunOptions extends CliSpawnOptions {
  /** SIGKILL after this long, so a hung child fails the test rather than hanging it. */
  readonly timeoutMs?: number;
}

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last OUTPUT_LIMIT characters of each stream. */
  readonly stdout: string;
  readonly stderr: string;
  /** The file: URLs of every module the child loaded, when `traceModules` was asked for. */
  readonly modules: readonly string[];
}

export interface RunningCli {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<CliRun>;
  /** SIGTERM (the CLI shuts down cleanly), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<CliRun>;
}

/** Output kept per stream: the tail, which holds the failure, of a station that logs for minutes. */
export const OUTPUT_LIMIT = 200_000;
const RUN_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 15_000;

// Runs in the loader's own thread; appends each loaded module's URL to $GRIDHEAD_TRACE_MODULES.
const TRACE_HOOKS = `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (!url.startsWith('node:')) appendFileSync(process.env.GRIDHEAD_TRACE_MODULES, url + '\\n');
  return next(url, context);
}
`;

/** Installs the CLI into a temp folder; `dispose()` removes it. */
export async function installCli(): Promise<CliInstall> {
  const root = await mkdtemp(path.join(tmpdir(), 'gridhead-cli-'));
  const tools = path.join(root, 'test-tools');
  try {
    await transpileClosure('src/cli.ts', path.join(root, 'dist'));
    await cp(path.join(ROOT, 'package.json'), path.join(root, 'package.json'));
    await cp(path.join(ROOT, 'bin'), path.join(root, 'bin'), { recursive: true });
    await cp(path.join(ROOT, 'config'), path.join(root, 'config'), { recursive: true });
    await symlink(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'), 'dir');
    await mkdir(tools);
    await writeFile(path.join(tools, 'traceHooks.mjs'), TRACE_HOOKS);
    await writeFile(path.join(tools, 'traceModules.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(path.join(tools, 'traceHooks.mjs')).href)});\n`);
  } catch (err) {
    await rm(root, { recursive: true, force: true });
    throw err;
  }
  const bin = path.join(root, 'bin/gridhead.js');
  const running = new Set<RunningCli>();
  let spawned = 0;

  const launch = (command: string, args: readonly string[], options: CliSpawnOptions): RunningCli => {
    const trace = path.join(tools, `modules-${++spawned}.txt`);
    const child = spawn(command, [...args], {
      cwd: root,
      env: { ...process.env, ...options.env, GRIDHEAD_TRACE_MODULES: trace },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => { out = (out + chunk.toString()).slice(-OUTPUT_LIMIT); });
    child.stderr.on('data', (chunk: Buffer) => { err = (err + chunk.toString()).slice(-OUTPUT_LIMIT); });
    // A child that exits before reading its input closes the pipe; that is its answer, not a test failure.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    const exited = new Promise<CliRun>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => {
        running.delete(handle);
        const modules = options.traceModules === true ? readFile(trace, 'utf8').then((t) => t.split('\n').filter((l) => l !== '')) : Promise.resolve([]);
        modules.then((m) => { resolve({ code, signal, stdout: out, stderr: err, modules: m }); }, reject);
      });
    });
    const handle: RunningCli = {
      child,
      stdout: () => out,
      stderr: () => err,
      exited,
      stop: async (graceMs = STOP_GRACE_MS) => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
        try {
          return await exited;
        } finally {
          clearTimeout(kill);
        }
      },
    };
    running.add(handle);
    return handle;
  };

  const runToExit = async (command: string, args: readonly string[], options: CliRunOptions): Promise<CliRun> => {
    const child = launch(command, args, options);
    const kill = setTimeout(() => child.child.kill('SIGKILL'), options.timeoutMs ?? RUN_TIMEOUT_MS);
    try {
      return await child.exited;
    } finally {
      clearTimeout(kill);
    }
  };

  const gridhead = (args: readonly string[], options: CliSpawnOptions): string[] =>
    [...(options.traceModules === true ? ['--import', path.join(tools, 'traceModules.mjs')] : []), bin, ...args];

  return {
    root,
    bin,
    run: (args, options = {}) => runToExit(process.execPath, gridhead(args, options), options),
    start: (args, options = {}) => launch(process.execPath, gridhead(args, options), options),
    npm: (args, options = {}) => runToExit('npm', args, options),
    dispose: async () => {
      await Promise.allSettled([...running].map((r) => r.stop()));
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** The admin API token `stationEnv` gives a started station's first start. */
export const CLI_ADMIN_TOKEN = 'ght_cli-test-admin-token-0123456789abcdefghijkl';

/** Env that keeps a started station quiet and self-contained: its own data directory, fixed admin token. */
export function stationEnv(dataDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    GRIDHEAD_DATA_DIR: dataDir,
    GRIDHEAD_BOOTSTRAP_TOKEN: CLI_ADMIN_TOKEN,
    GRIDHEAD_CONFIG: '',
    ...extra,
  };
}
