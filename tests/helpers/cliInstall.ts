/**
 * The real `gridhead` command, as a user runs it: a throw-away installation with the
 * project's package.json, bin/gridhead.js and config/, its node_modules, and dist/src/cli.js
 * bundled from the TypeScript by esbuild (a second or two, where `tsc` takes a minute).
 * Tests spawn `node bin/gridhead.js …` or `npm start` in it and read exit code and output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

export interface CliInstall {
  readonly root: string;
  /** Starts `command args…` in the installation; `run` waits for it, `start` leaves it running. */
  start(command: string, args: readonly string[], env?: NodeJS.ProcessEnv): RunningCli;
  run(command: string, args: readonly string[], env?: NodeJS.ProcessEnv, timeoutMs?: number): Promise<CliResult>;
  dispose(): void;
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunningCli {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<CliResult>;
  /** SIGTERM (the CLI shuts down cleanly), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<CliResult>;
}

const REPO = resolve(import.meta.dirname, '../..');

export async function installCli(): Promise<CliInstall> {
  const root = mkdtempSync(join(tmpdir(), 'gridhead-cli-'));
  await build({
    entryPoints: [join(REPO, 'src/cli.ts')],
    outfile: join(root, 'dist/src/cli.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
  });
  cpSync(join(REPO, 'package.json'), join(root, 'package.json'));
  cpSync(join(REPO, 'bin'), join(root, 'bin'), { recursive: true });
  cpSync(join(REPO, 'config'), join(root, 'config'), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
  const start = (command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): RunningCli => {
    const child = spawn(command, [...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => { out = (out + b.toString()).slice(-200_000); });
    child.stderr.on('data', (b: Buffer) => { err = (err + b.toString()).slice(-200_000); });
    const exited = new Promise<CliResult>((done) => {
      child.once('close', (code, signal) => { done({ code, signal, stdout: out, stderr: err }); });
    });
    return {
      child,
      stdout: () => out,
      stderr: () => err,
      exited,
      stop: async (graceMs = 15_000) => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const result = await exited;
        clearTimeout(kill);
        return result;
      },
    };
  };
  return {
    root,
    start,
    run: async (command, args, env, timeoutMs = 60_000) => {
      const running = start(command, args, env);
      const kill = setTimeout(() => running.child.kill('SIGKILL'), timeoutMs);
      const result = await running.exited;
      clearTimeout(kill);
      return result;
    },
    dispose: () => { rmSync(root, { recursive: true, force: true }); },
  };
}

/** Env that keeps a started station quiet and self-contained: its own data directory, fixed admin token. */
export function stationEnv(dataDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    GRIDHEAD_DATA_DIR: dataDir,
    GRIDHEAD_BOOTSTRAP_TOKEN: 'ght_cli-test-admin-token-0123456789abcdefghijkl',
    GRIDHEAD_CONFIG: '',
    ...extra,
  };
}
